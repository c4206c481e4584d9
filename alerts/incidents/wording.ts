/**
 * The words of an incident report, shared by the e-mail, the CAP message and the ack page: what
 * the pollutant is, how far over its limit (超标倍数 = (value − limit) / limit), where the front
 * is, and when it may reach the next drinking-water intake. Pure: from the report's snapshot.
 */
import { PARAMETER_BY_KEY } from '../../lib/parameters.js';
import type { StationRegistry } from '../../config/station-registry.js';
import { front } from './track.js';
import { incidentPeak } from './engine.js';
import { exceedanceMultiple } from '../rules/exceedance.js';
import type { Incident, ReceptorStatus, Report, ReportKind, Window } from './types.js';
import { cstMinute, cstMonthDayMinute } from '../../lib/cst.js';
import { sig } from '../../lib/format.js';

export type L = 'zh' | 'en';

/** "12-05 06:00" in China Standard Time. */
export const cstShort = cstMonthDayMinute;
export const cstFull = cstMinute;

export function num(x: number | null | undefined): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return '–';
  return sig(x, x >= 100 ? 4 : 3);
}

export const REPORT_KIND: Record<ReportKind, Record<L, string>> = {
  initial: { zh: '初报', en: 'Initial report' },
  followup: { zh: '续报', en: 'Follow-up' },
  final: { zh: '终报', en: 'Final report' },
};

export function paramName(p: string, l: L): string {
  if (p === 'AQI') return 'AQI';
  if (p === 'class') return l === 'zh' ? '水质类别' : 'water class';
  const info = PARAMETER_BY_KEY.get(p);
  return info ? (l === 'zh' ? info.nameZh : info.nameEn) : p;
}

export function stationName(reg: StationRegistry, id: string, l: L): string {
  return reg.get(id)?.name[l] ?? id;
}

/** Short names for subjects: the station name up to its first space or bracket. */
export function shortName(reg: StationRegistry, id: string, l: L): string {
  const n = stationName(reg, id, l);
  return l === 'zh' ? n.replace(/(断面|监测站|水厂取水口)$/, '') : n;
}

export function riverName(reg: StationRegistry, inc: Incident, l: L): string {
  return inc.river ? (reg.rivers[inc.river]?.[l] ?? inc.river) : '';
}

export function unitOf(inc: Incident): string {
  for (const s of inc.sections) {
    const p = s.params[inc.parameter];
    if (p) return p.unit;
  }
  return PARAMETER_BY_KEY.get(inc.parameter)?.unit ?? '';
}

/**
 * "超标 50.3 倍" / "51.3 × the limit" ((value − limit) / limit, decision 0010); for a lower
 * bound such as DO, how far below it; '' when within the limit.
 */
export function overText(value: number, limit: number | null, kind: 'max' | 'min' | 'range' | null, l: L): string {
  if (limit === null || limit <= 0) return '';
  if (kind === 'min') {
    const below = (limit - value) / limit;
    return below > 0 ? (l === 'zh' ? `低于下限 ${num(below * 100)}%` : `${num(below * 100)}% below the lower limit`) : '';
  }
  const m = exceedanceMultiple(value, limit, kind ?? 'max');
  if (m === null || m <= 0) return '';
  // In English "N times over" reads as N × the limit: say the multiple of the limit instead.
  return l === 'zh' ? `超标 ${num(m)} 倍` : `${num(m + 1)} × the limit`;
}

export function peakLine(inc: Incident, reg: StationRegistry, l: L): string {
  const p = incidentPeak(inc);
  if (!p) return '';
  const sec = inc.sections.find((s) => s.station === p.station);
  const t = sec?.params[inc.parameter];
  const over = t ? overText(p.value, t.limit, t.limitKind, l) : '';
  const unit = unitOf(inc);
  return l === 'zh'
    ? `峰值 ${num(p.value)} ${unit}（${shortName(reg, p.station, l)}，${cstShort(p.at)}）${over ? `，${over}` : ''}`
    : `peak ${num(p.value)} ${unit} (${shortName(reg, p.station, l)}, ${cstShort(p.at)} CST)${over ? `, ${over}` : ''}`;
}

/** The next drinking-water intake ahead of the front (of one owner city, if given), with its window. */
export function nextIntake(r: Report, city?: string): ReceptorStatus | undefined {
  return r.receptors.find((x) => x.kind === 'drinking_water_intake' && !x.reached && (city === undefined || x.city === city));
}

export function windowText(w: Window, l: L): string {
  const a = cstShort(w.from);
  const b = cstShort(w.to);
  const same = a.slice(0, 5) === b.slice(0, 5);
  return l === 'zh' ? `${a}–${same ? b.slice(6) : b}` : `${a}–${same ? b.slice(6) : b} CST`;
}

export function hoursFrom(at: number, w: Window, l: L): string {
  const h = (x: number) => Math.max(0, Math.round((x - at) / 3_600_000));
  return l === 'zh' ? `约 ${h(w.from)}–${h(w.to)} 小时后` : `in about ${h(w.from)}–${h(w.to)} h`;
}

/**
 * How far a window is from `now`, for a page read at any time after the report: ahead ("in 3–11
 * h"), under way, or passed without the plume (hoursFrom alone would say "in 0–0 h").
 */
export function untilText(now: number, w: Window, l: L): string {
  if (now < w.from) return hoursFrom(now, w, l);
  if (now <= w.to)
    return l === 'zh' ? `已进入预计到达时段，至 ${cstShort(w.to)}` : `inside the expected window, until ${cstShort(w.to)} CST`;
  const h = Math.max(1, Math.round((now - w.to) / 3_600_000));
  return l === 'zh' ? `已超过预计时段约 ${h} 小时，尚未到达` : `about ${h} h past the expected window, not arrived`;
}

function contactText(x: ReceptorStatus, reg: StationRegistry, l: L): string {
  const owner = reg.cities[x.city]?.[l] ?? x.city;
  const c = [x.contact.name, x.contact.phone].filter(Boolean).join(' ');
  return l === 'zh' ? `（${owner}，联系 ${c}）` : ` (${owner}, contact ${c})`;
}

function intakeAhead(x: ReceptorStatus, when: (w: Window) => string, reg: StationRegistry, l: L, own: boolean, reader?: string): string {
  // Whom to call at an intake is for its own city's bureau; the other city's reader gets the owner.
  const contact =
    reader === undefined || x.city === reader
      ? contactText(x, reg, l)
      : l === 'zh'
        ? `（${reg.cities[x.city]?.zh ?? x.city}）`
        : ` (${reg.cities[x.city]?.en ?? x.city})`;
  const label = own ? (l === 'zh' ? '贵市取水口' : 'Your intake') : l === 'zh' ? '下一取水口' : 'Next intake';
  const name = x.name[l];
  return x.window
    ? l === 'zh'
      ? `${label} ${name}：预计 ${windowText(x.window, l)} 到达（${when(x.window)}）${contact}`
      : `${label} ${name}: expected ${windowText(x.window, l)} (${when(x.window)})${contact}`
    : l === 'zh'
      ? `${label} ${name}：暂无到达时间估计${contact}`
      : `${label} ${name}: no arrival estimate yet${contact}`;
}

/**
 * The line every river report leads with: the time to the next intake ahead of the front, the
 * reader's own city's next intake when that is another one, and the intakes already hit. `when`
 * words a window relative to a moment (the report's time by default, as the e-mail says it).
 */
export function intakeLine(
  r: Report,
  reg: StationRegistry,
  l: L,
  bureau?: string,
  when: (w: Window) => string = (w) => untilText(r.at, w, l),
): string {
  return intakeParts(r, reg, l, bureau, when).join(l === 'zh' ? '；' : '; ');
}

/** The same, one entry per intake (the e-mail lists them one per line). */
export function intakeParts(
  r: Report,
  reg: StationRegistry,
  l: L,
  bureau?: string,
  when: (w: Window) => string = (w) => untilText(r.at, w, l),
): string[] {
  const inc = r.incident;
  if (inc.kind !== 'river') return [];
  const parts: string[] = [];
  const next = inc.status === 'open' ? nextIntake(r) : undefined;
  const own = inc.status === 'open' && bureau !== undefined ? nextIntake(r, bureau) : undefined;
  if (next) parts.push(intakeAhead(next, when, reg, l, next === own, bureau));
  if (own && own !== next) parts.push(intakeAhead(own, when, reg, l, true, bureau));
  for (const x of r.receptors) {
    if (x.kind !== 'drinking_water_intake' || !x.reached) continue;
    const since = x.reachedAt !== null ? (l === 'zh' ? `${cstShort(x.reachedAt)} 起` : `since ${cstShort(x.reachedAt)}`) : '';
    parts.push(
      l === 'zh'
        ? `${x.name.zh}${x.affected ? `正受影响（${since}，仍超标）` : `已受影响（${since}，现已恢复至限值以内）`}`
        : `${x.name.en} ${x.affected ? `affected (${since}, still over the limit)` : `was affected (${since}; back within limits now)`}`,
    );
  }
  if (parts.length === 0) parts.push(l === 'zh' ? '下游无饮用水取水口' : 'No drinking-water intake downstream');
  return parts;
}

/** What opened the incident, when no concentration over a limit is known yet. */
export function openingText(inc: Incident, reg: StationRegistry, l: L): string {
  const o = inc.opening;
  const where = shortName(reg, inc.origin, l);
  if (o.rule === 'rate') {
    return l === 'zh'
      ? `${paramName(o.parameter, l)}浓度快速上升（${num(o.value)} ${o.unit}，预警阈值 ${num(o.limit)} ${o.unit}）`
      : `${paramName(o.parameter, l)} rising fast (${num(o.value)} ${o.unit}, alert threshold ${num(o.limit)} ${o.unit})`;
  }
  if (o.rule === 'water_class' && o.cls) {
    return l === 'zh'
      ? `${where} 水质 ${o.cls} 类（目标 ${o.target ?? '–'} 类）`
      : `${where} water class ${o.cls} (target ${o.target ?? '–'})`;
  }
  if (o.rule === 'aqi') return `AQI ${num(o.value)}`;
  return l === 'zh' ? `${paramName(o.parameter, l)} ${num(o.value)} ${o.unit}` : `${paramName(o.parameter, l)} ${num(o.value)} ${o.unit}`;
}

/** The subject: report kind, river and pollutant, peak and 超标倍数, where the front is, the next intake. */
/**
 * What to do now, from the state of the intakes (the same words in the e-mail and the CAP
 * <instruction>): an intake over the limit is for its water works' emergency plan; one ahead is to
 * be prepared before its window; otherwise watch the data.
 */
export function actionText(r: Report, l: L): string {
  if (r.kind === 'final')
    return l === 'zh'
      ? '事件已结束；受影响取水口可按程序恢复正常取水。'
      : 'The incident is over; affected intakes may return to normal operation by their procedures.';
  const hit = r.receptors.filter((x) => x.kind === 'drinking_water_intake' && x.affected);
  if (hit.length > 0) {
    const names = hit.map((x) => x.name[l]).join(l === 'zh' ? '、' : ', ');
    return l === 'zh'
      ? `${names}正受影响：请通知水厂启动应急预案，加密监测，视情暂停取水；下游按预计时段做好准备。`
      : `${names} affected: have the water works start its emergency plan, monitor more often and stop abstraction if needed; downstream, prepare within the windows given.`;
  }
  if (r.receptors.some((x) => x.kind === 'drinking_water_intake' && !x.reached)) {
    return l === 'zh'
      ? '下游饮用水取水口请在预计到达时段前通知水厂做好应对准备（加密监测、备用水源）。'
      : 'Downstream drinking-water intakes: tell the water works to prepare before the expected window (closer monitoring, reserve supply).';
  }
  return l === 'zh' ? '请关注监测数据并按应急预案处置。' : 'Watch the monitoring data and follow the response plan.';
}

/** What this report adds that a reader must see in the subject: an intake hit or clear, the plume entering another city. */
export function newsText(r: Report, reg: StationRegistry, l: L): string[] {
  const out: string[] = [];
  for (const x of r.reasons) {
    if (x.type !== 'reached' && x.type !== 'back') continue;
    const st = reg.get(x.station);
    if (!st) continue;
    const name = stationName(reg, x.station, l);
    if (st.drinking_water_intake)
      out.push(
        x.type === 'reached'
          ? l === 'zh'
            ? `${name}受影响`
            : `${name} affected`
          : l === 'zh'
            ? `${name}已恢复`
            : `${name} back within limits`,
      );
    else if (x.type === 'reached' && st.boundary) {
      const city = reg.cities[st.city]?.[l] ?? st.city;
      out.push(l === 'zh' ? `进入${city}境内` : `now in ${city}`);
    }
  }
  return out;
}

/** The subject; for a bureau, the intake it names is that city's own next one when there is one. */
export function subject(r: Report, reg: StationRegistry, l: L, bureau?: string): string {
  const inc = r.incident;
  const kind = REPORT_KIND[r.kind][l];
  const pn = paramName(inc.parameter, l);
  const p = incidentPeak(inc);
  const unit = unitOf(inc);
  const parts: string[] = [];
  const river = inc.kind === 'river' ? riverName(reg, inc, l) : shortName(reg, inc.origin, l);
  parts.push(l === 'zh' ? `【${kind}】${river}${pn}污染` : `[${kind}] ${river} ${pn.toLowerCase()} pollution`);
  const f = front(inc);
  if (inc.kind === 'river' && f) {
    parts.push(
      f.station === inc.origin ? shortName(reg, f.station, l) : `${shortName(reg, inc.origin, l)}→${shortName(reg, f.station, l)}`,
    );
  }
  parts.push(...newsText(r, reg, l));
  if (p) {
    const t = inc.sections.find((s) => s.station === p.station)?.params[inc.parameter];
    const over = t ? overText(p.value, t.limit, t.limitKind, l) : '';
    // Named for where it was: a reader downstream must not take it for the level at their intake.
    const at = inc.kind === 'river' && p.station !== f?.station ? shortName(reg, p.station, l) : '';
    parts.push(
      l === 'zh'
        ? `${at}峰值 ${num(p.value)} ${unit}${over ? ` ${over}` : ''}`
        : `peak ${num(p.value)} ${unit}${at ? ` at ${at}` : ''}${over ? ` (${over})` : ''}`,
    );
  } else {
    parts.push(openingText(inc, reg, l));
  }
  if (r.kind === 'final') {
    parts.push(l === 'zh' ? '各断面均已恢复' : 'all sections back within limits');
  } else if (inc.kind === 'river') {
    const n = (bureau !== undefined ? nextIntake(r, bureau) : undefined) ?? nextIntake(r);
    if (n?.window)
      parts.push(l === 'zh' ? `${n.name.zh}预计 ${windowText(n.window, l)}` : `${n.name.en} expected ${windowText(n.window, l)}`);
    else {
      const hit = r.receptors.find((x) => x.kind === 'drinking_water_intake' && x.affected);
      if (hit) parts.push(l === 'zh' ? `${hit.name.zh}受影响` : `${hit.name.en} affected`);
    }
  }
  return l === 'zh' ? parts.join(' ') : `${parts[0] ?? ''}: ${parts.slice(1).join('; ')}`;
}

export function reasonText(r: Report, reg: StationRegistry, l: L): string[] {
  const out: string[] = [];
  for (const x of r.reasons) {
    switch (x.type) {
      case 'opened':
        out.push(
          l === 'zh'
            ? `首次发现：${stationName(reg, r.incident.origin, l)}`
            : `first detected at ${stationName(reg, r.incident.origin, l)}`,
        );
        break;
      case 'reached':
        out.push(l === 'zh' ? `污染团到达 ${stationName(reg, x.station, l)}` : `the plume reached ${stationName(reg, x.station, l)}`);
        break;
      case 'miss': {
        const s = r.incident.sections.find((q) => q.station === x.station);
        const w = s?.predicted;
        out.push(
          l === 'zh'
            ? `到达时间${x.early ? '早于' : '晚于'}预计（预计 ${w ? windowText(w, l) : '–'}，实际 ${s?.observedAt ? cstShort(s.observedAt) : '–'}），后续预计已放宽`
            : `arrived ${x.early ? 'earlier' : 'later'} than expected (expected ${w ? windowText(w, l) : '–'}, observed ${s?.observedAt ? cstShort(s.observedAt) : '–'}); windows ahead widened`,
        );
        break;
      }
      case 'narrowed':
        out.push(l === 'zh' ? '已按实测流速修正下游到达时间' : 'arrival windows now from the observed travel speed');
        break;
      case 'peak':
        out.push(l === 'zh' ? '出现新的峰值' : 'a new peak');
        break;
      case 'back':
        out.push(
          l === 'zh' ? `${stationName(reg, x.station, l)} 已恢复至限值以内` : `${stationName(reg, x.station, l)} back within limits`,
        );
        break;
      case 'fault':
        out.push(l === 'zh' ? `${stationName(reg, x.station, l)} 监测设备故障` : `instrument fault at ${stationName(reg, x.station, l)}`);
        break;
      case 'periodic':
        out.push(l === 'zh' ? '定时续报' : 'scheduled update');
        break;
      case 'dissipated':
        out.push(
          l === 'zh'
            ? `污染团未在预计时间内到达 ${stationName(reg, x.station, l)}`
            : `the plume did not reach ${stationName(reg, x.station, l)} within its window`,
        );
        break;
      case 'closed':
        out.push(
          l === 'zh' ? '所有受影响断面已持续恢复，事件结束' : 'every section reached has stayed back within limits: incident closed',
        );
        break;
    }
  }
  return out;
}

export interface TrackRow {
  station: string;
  city: string;
  km: string;
  predicted: string;
  observed: string;
  peak: string;
  back: string;
}

export function trackRows(r: Report, reg: StationRegistry, l: L): TrackRow[] {
  const inc = r.incident;
  return inc.sections.map((s) => {
    const p = s.params[inc.parameter];
    const w = r.windows[s.station] ?? s.predicted;
    const name = stationName(reg, s.station, l);
    const intake = s.intake && !/取水口|intake/i.test(name) ? (l === 'zh' ? '（取水口）' : ' (intake)') : '';
    return {
      station: `${name}${intake}`,
      city: reg.cities[s.city]?.[l] ?? s.city,
      km: s.riverKm === null ? '' : String(s.riverKm),
      predicted: s.station === inc.origin ? (l === 'zh' ? '（首次发现断面）' : '(origin)') : w ? windowText(w, l) : '–',
      observed:
        s.observedAt === null
          ? l === 'zh'
            ? '未到达'
            : 'not yet'
          : `${cstShort(s.observedAt)}${s.miss ? (l === 'zh' ? (s.miss === 'early' ? '（早于预计）' : '（晚于预计）') : ` (${s.miss})`) : ''}`,
      peak: p ? `${num(p.peak)} ${p.unit}（${cstShort(p.peakAt)}）` : '–',
      back:
        s.observedAt === null
          ? ''
          : s.fault
            ? l === 'zh'
              ? '设备故障'
              : 'instrument fault'
            : s.firing.length > 0
              ? l === 'zh'
                ? '仍超标'
                : 'still over'
              : s.backAt !== null
                ? cstShort(s.backAt)
                : '',
    };
  });
}

/**
 * The limit the incident is measured against: the national one, and each section where a stricter
 * local limit is in force, named as such ("石桥 本地限值 ≤ 0.8 mg/L，国家 III 类 ≤ 1 mg/L").
 */
export function limitLine(inc: Incident, l: L, reg?: StationRegistry): string {
  const out: string[] = [];
  let national = '';
  for (const s of inc.sections) {
    const p = s.params[inc.parameter];
    if (!p || p.limit === null) continue;
    if (p.local) out.push(`${reg ? `${shortName(reg, s.station, l)} ` : ''}${p.local[l]}`);
    else if (!national)
      national =
        l === 'zh'
          ? `限值 ${num(p.limit)} ${p.unit}${p.basis ? `（${p.basis}）` : ''}`
          : `limit ${num(p.limit)} ${p.unit}${p.basis ? ` (${p.basis})` : ''}`;
  }
  return [national, ...out].filter(Boolean).join(l === 'zh' ? '；' : '; ');
}

export function duration(ms: number, l: L): string {
  const min = Math.max(0, Math.round(ms / 60_000));
  const d = Math.floor(min / 1440);
  const h = Math.floor((min % 1440) / 60);
  const m = min % 60;
  const out: string[] = [];
  if (d) out.push(l === 'zh' ? `${d} 天` : `${d} d`);
  if (h) out.push(l === 'zh' ? `${h} 小时` : `${h} h`);
  if (m || out.length === 0) out.push(l === 'zh' ? `${m} 分钟` : `${m} min`);
  return out.join(' ');
}
