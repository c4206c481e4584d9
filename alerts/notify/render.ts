/**
 * The e-mail a bureau reads: subject with severity, station and parameter; Chinese first, English
 * second (or one language, as the recipient asked); plain text and HTML with the same content.
 * Each notice says what, where, when (China Standard Time), how bad (value, limit, class or AQI),
 * how long it has lasted, what changed since the last notice, the threshold version, the arrival
 * estimates downstream, and links to the Grafana panel, the CAP document and the acknowledgement.
 * Pure: rendered from the stored items, so every attempt sends the same e-mail.
 */
import type { Language } from '../../config/recipients-schema.js';
import { PARAMETER_BY_KEY } from '../../lib/parameters.js';
import { CLASS_ORDER, paramClass, WATER_CLASS_LABEL, WATER_CLASS_LABEL_EN, type WaterClass } from '../../lib/standards/index.js';
import type { StationRegistry } from '../../config/station-registry.js';
import type { NoticeItem, Recipient } from './items.js';
import type { Arrival, RouteRole } from './routing.js';
import { ruleNamed } from '../rules/index.js';
import { localLimitPhrase } from '../rules/limit.js';
import { risePhrase } from '../rules/rate.js';
import { mainPollutants } from '../rules/water-class.js';
import { exceedanceMultiple, exceedanceRatio, SEVERITY_ORDER, type Severity } from './severity.js';
import { formatRange, roundRange } from './travel-time.js';
import { cstMinute } from '../../lib/cst.js';
import { escapeHtml, num } from '../../lib/format.js';

type L = 'zh' | 'en';

export interface RenderContext {
  registry: StationRegistry;
  bureau: { id: string; name: { zh: string; en: string } };
  recipient: Recipient;
  language: Language;
}

export interface RenderedNotice {
  subject: string;
  text: string;
  html: string;
}

/** 2026-05-01 09:00 in China Standard Time. */
export const cstTime = cstMinute;

function cstShort(ms: number): string {
  return cstTime(ms).slice(5);
}

function when(ms: number, l: L): string {
  return l === 'zh' ? `${cstTime(ms)}（北京时间）` : `${cstTime(ms)} CST (UTC+8)`;
}

export function duration(ms: number, l: L): string {
  if (ms > 0 && ms < 60_000) return l === 'zh' ? `${Math.round(ms / 1000)} 秒` : `${Math.round(ms / 1000)} s`;
  const min = Math.max(0, Math.round(ms / 60_000));
  const d = Math.floor(min / 1440);
  const h = Math.floor((min % 1440) / 60);
  const m = min % 60;
  const parts: string[] = [];
  if (l === 'zh') {
    if (d) parts.push(`${d} 天`);
    if (h) parts.push(`${h} 小时`);
    if (m || parts.length === 0) parts.push(`${m} 分钟`);
  } else {
    if (d) parts.push(`${d} d`);
    if (h) parts.push(`${h} h`);
    if (m || parts.length === 0) parts.push(`${m} min`);
  }
  return parts.join(' ');
}

const KIND: Record<NoticeItem['event']['kind'] | 'escalation', Record<L, string>> = {
  firing: { zh: '告警', en: 'ALERT' },
  reminder: { zh: '持续', en: 'STILL FIRING' },
  resolved: { zh: '解除', en: 'RESOLVED' },
  escalation: { zh: '升级', en: 'ESCALATION' },
};

const SEVERITY: Record<Severity, Record<L, string>> = {
  severe: { zh: '严重', en: 'SEVERE' },
  warning: { zh: '警告', en: 'WARNING' },
  info: { zh: '提示', en: 'NOTICE' },
};

const ROLE: Record<RouteRole, Record<L, string>> = {
  own: { zh: '本市断面/站点', en: 'a station of your city' },
  downstream: { zh: '贵市位于下游', en: 'your city is downstream' },
  boundary: { zh: '交界断面，双方均通报', en: 'boundary section: both bureaus are told' },
  shared: { zh: '共享站点', en: 'station shared with your city' },
};

function kindOf(item: NoticeItem): keyof typeof KIND {
  return item.type === 'escalation' ? 'escalation' : item.event.kind;
}

function tag(item: NoticeItem, l: L): string {
  const k = KIND[kindOf(item)][l];
  if (item.event.kind === 'resolved' && item.type === 'transition') return l === 'zh' ? `【${k}】` : `[${k}]`;
  const s = SEVERITY[item.severity][l];
  return l === 'zh' ? `【${s}·${k}】` : `[${s} ${k}]`;
}

function paramName(p: string, l: L): string {
  if (p === 'class') return l === 'zh' ? '水质类别' : 'water class';
  if (p === 'silence') return l === 'zh' ? '数据中断' : 'no data';
  if (p === 'equipment') return l === 'zh' ? '设备故障' : 'equipment fault';
  const info = PARAMETER_BY_KEY.get(p);
  return info ? (l === 'zh' ? info.nameZh : info.nameEn) : p;
}

function stationName(ctx: RenderContext, id: string, l: L): string {
  const s = ctx.registry.get(id);
  return s ? s.name[l] : id;
}

function cityName(ctx: RenderContext, id: string, l: L): string {
  return ctx.registry.cities[id]?.[l] ?? id;
}

function where(ctx: RenderContext, item: NoticeItem, l: L): string {
  const s = ctx.registry.get(item.event.station);
  const river = s?.river ? (ctx.registry.rivers[s.river]?.[l] ?? s.river) : undefined;
  const at =
    river !== undefined && s?.river_km !== undefined ? (l === 'zh' ? `，${river} ${s.river_km} km` : `, ${river} km ${s.river_km}`) : '';
  return l === 'zh'
    ? `${stationName(ctx, item.event.station, l)}（${cityName(ctx, item.event.city, l)}${at}）`
    : `${stationName(ctx, item.event.station, l)} (${cityName(ctx, item.event.city, l)}${at})`;
}

function unitOf(item: NoticeItem): string {
  return item.event.detail.unit ?? PARAMETER_BY_KEY.get(item.event.parameter)?.unit ?? '';
}

/** The measurement in one line: value against limit, or class, AQI, faults, silence. */
function what(ctx: RenderContext, item: NoticeItem, l: L): string {
  const e = item.event;
  const d = e.detail;
  const unit = unitOf(item);
  const pn = paramName(e.parameter, l);
  switch (e.rule) {
    case 'limit': {
      const ratio = exceedanceRatio(e);
      const multiple = exceedanceMultiple(e.value, e.limit, d.limitKind);
      const limit = d.limitText ?? `≤ ${num(e.limit)}`;
      const over =
        e.kind === 'resolved'
          ? ''
          : d.limitKind === 'min'
            ? ratio !== null && ratio > 1
              ? l === 'zh'
                ? `，低于下限（限值的 1/${num(Number(ratio.toFixed(1)))}）`
                : `, below the lower limit (1/${num(Number(ratio.toFixed(1)))} of it)`
              : ''
            : multiple !== null && multiple > 0
              ? l === 'zh'
                ? `，超标 ${num(Number(multiple.toFixed(2)))} 倍`
                : `, ${num(Number(multiple.toFixed(2)))} times above the limit`
              : '';
      const local = localLimitPhrase(d, unit, l);
      const against = local ?? (l === 'zh' ? `限值 ${limit} ${unit}（${d.basis ?? ''}）` : `limit ${limit} ${unit} (${d.basis ?? ''})`);
      return l === 'zh' ? `${pn} ${num(e.value)} ${unit}，${against}${over}` : `${pn} ${num(e.value)} ${unit}, ${against}${over}`;
    }
    case 'rate':
      return l === 'zh'
        ? `${risePhrase(e, unit, l)}，限值 ${num(e.limit)} ${unit}`
        : `${risePhrase(e, unit, l)}, limit ${num(e.limit)} ${unit}`;
    case 'water_class': {
      const cls = d.cls as WaterClass | undefined;
      const main = mainPollutants(d);
      const lim = main.length
        ? l === 'zh'
          ? `，主要污染指标 ${main.map((p) => paramName(p, l)).join('、')}`
          : `, main pollutants ${main.map((p) => paramName(p, l)).join(', ')}`
        : '';
      return l === 'zh'
        ? `水质 ${cls ?? '–'} 类（${cls ? WATER_CLASS_LABEL[cls] : ''}），目标 ${d.target ?? '–'} 类${lim}`
        : `water class ${cls ?? '–'} (${cls ? WATER_CLASS_LABEL_EN[cls] : ''}), target ${d.target ?? '–'}${lim}`;
    }
    case 'aqi': {
      const prim = d.primary?.length
        ? l === 'zh'
          ? `，首要污染物 ${d.primary.join('、')}`
          : `, primary pollutant ${d.primary.join(', ')}`
        : '';
      return l === 'zh'
        ? `AQI ${num(e.value)}（${d.category ?? ''}）${prim}（${d.aqiStandard ?? ''}）`
        : `AQI ${num(e.value)} (${d.categoryEn ?? ''})${prim} (${d.aqiStandard ?? ''})`;
    }
    case 'equipment': {
      const faults = Object.entries(d.faults ?? {})
        .map(([p, f]) => `${paramName(p, l)}=${f}`)
        .join(', ');
      return l === 'zh' ? `设备故障标记：${faults || '已恢复'}` : `equipment fault flags: ${faults || 'cleared'}`;
    }
    case 'silence':
      if (e.kind === 'resolved') return l === 'zh' ? '已恢复上报数据' : 'reporting again';
      if (d.lastSeenAt === null)
        return l === 'zh'
          ? `自系统启动以来无数据（${num(e.value)} 分钟，限 ${num(e.limit)} 分钟）`
          : `no reading since start-up (${num(e.value)} min, limit ${num(e.limit)} min)`;
      return l === 'zh'
        ? `已 ${num(e.value)} 分钟无数据（限 ${num(e.limit)} 分钟）`
        : `no reading for ${num(e.value)} min (limit ${num(e.limit)} min)`;
  }
  // A rule added to the table without its own line here still says something: its one-liner.
  return ruleNamed(e.rule).wording(e)[l];
}

/** Water class of the parameter's own value, or the AQI category: how bad, in the bureaus' terms. */
function grade(ctx: RenderContext, item: NoticeItem, l: L): string | undefined {
  const e = item.event;
  const s = ctx.registry.get(e.station);
  if (e.rule === 'limit' && s?.kind === 'water' && e.value !== null) {
    const cls = paramClass(e.parameter, e.value, s.waterbody ?? 'river');
    if (cls)
      return l === 'zh'
        ? `该项单因子水质类别：${cls} 类（${WATER_CLASS_LABEL[cls]}）`
        : `single-item water class: ${cls} (${WATER_CLASS_LABEL_EN[cls]})`;
  }
  if (e.rule === 'limit' && e.detail.category)
    return l === 'zh' ? `AQI 类别：${e.detail.category}` : `AQI category: ${e.detail.categoryEn ?? e.detail.category}`;
  return undefined;
}

function lasted(item: NoticeItem, l: L): string {
  const e = item.event;
  if (item.type === 'escalation')
    return l === 'zh' ? `告警已持续 ${duration(e.at - item.firstAt, l)}` : `firing for ${duration(e.at - item.firstAt, l)}`;
  if (e.kind === 'resolved')
    return l === 'zh' ? `本次告警共持续 ${duration(e.at - item.firstAt, l)}` : `the alert lasted ${duration(e.at - item.firstAt, l)}`;
  if (e.kind === 'reminder')
    return l === 'zh'
      ? `已持续 ${duration(e.at - item.firstAt, l)}（${cstTime(item.firstAt)} 起）`
      : `firing for ${duration(e.at - item.firstAt, l)} (since ${cstTime(item.firstAt)})`;
  if (e.breachSince !== undefined && e.breachSince < e.at)
    return l === 'zh'
      ? `超限已持续 ${duration(e.at - e.breachSince, l)}（${cstTime(e.breachSince)} 起）`
      : `beyond the limit for ${duration(e.at - e.breachSince, l)} (since ${cstTime(e.breachSince)})`;
  return l === 'zh' ? '刚刚触发' : 'just fired';
}

/** The worst of the episode in the rule's own terms: a value, a class, an AQI. */
function peakText(item: NoticeItem, l: L): string {
  const e = item.event;
  const p = item.peak as number;
  if (e.rule === 'water_class') {
    const cls = CLASS_ORDER[Math.round(p) - 1];
    return cls ? (l === 'zh' ? `，最差 ${cls} 类` : `, worst class ${cls}`) : '';
  }
  if (e.rule === 'aqi') return l === 'zh' ? `，最高 AQI ${num(p)}` : `, highest AQI ${num(p)}`;
  if (e.rule === 'equipment' || e.rule === 'silence') return '';
  // The notify worker sees transitions, not every reading: without the episode's own peak from
  // the checks, it can only say the highest value it was told.
  if (e.peak !== undefined) return l === 'zh' ? `，峰值 ${num(p)} ${unitOf(item)}` : `, peak ${num(p)} ${unitOf(item)}`;
  return l === 'zh' ? `，通报的最高值 ${num(p)} ${unitOf(item)}` : `, highest value notified ${num(p)} ${unitOf(item)}`;
}

function changed(item: NoticeItem, l: L): string {
  const e = item.event;
  const unit = unitOf(item);
  const catchUp = e.catchUp ? (l === 'zh' ? '（维护期结束后补报）' : ' (after a maintenance window)') : '';
  if (item.type === 'escalation') return l === 'zh' ? '未在时限内确认，升级通报' : 'not acknowledged in time: escalated';
  if (e.kind === 'resolved') {
    const peak = item.peak === null ? '' : peakText(item, l);
    return (l === 'zh' ? `已恢复正常${peak}` : `back to normal${peak}`) + catchUp;
  }
  const p = item.previous;
  if (!p || p.kind === 'resolved') return (l === 'zh' ? '新告警' : 'new alert') + catchUp;
  if (p.value === null || e.value === null) return (l === 'zh' ? `上次通知 ${cstTime(p.at)}` : `last notice ${cstTime(p.at)}`) + catchUp;
  // The water_class rule's value is the class as a number (I = 1 … 劣V = 6): say the class.
  if (e.rule === 'water_class') return classChange(p.at, p.value, e.value, l) + catchUp;
  const delta = e.value - p.value;
  const pct = p.value !== 0 ? ` (${delta >= 0 ? '+' : ''}${Math.round((delta / Math.abs(p.value)) * 100)}%)` : '';
  const dir =
    Math.abs(delta) < 1e-9
      ? l === 'zh'
        ? '持平'
        : 'unchanged'
      : delta > 0
        ? l === 'zh'
          ? `上升 ${num(delta)} ${unit}${pct}`
          : `up ${num(delta)} ${unit}${pct}`
        : l === 'zh'
          ? `下降 ${num(-delta)} ${unit}${pct}`
          : `down ${num(-delta)} ${unit}${pct}`;
  return (
    (l === 'zh'
      ? `较上次通知（${cstTime(p.at)}，${num(p.value)} ${unit}）${dir}`
      : `since the last notice (${cstTime(p.at)}, ${num(p.value)} ${unit}): ${dir}`) + catchUp
  );
}

function classChange(at: number, before: number, now: number, l: L): string {
  const name = (v: number): string => CLASS_ORDER[Math.round(v) - 1] ?? '–';
  const since = l === 'zh' ? `较上次通知（${cstTime(at)}）：` : `since the last notice (${cstTime(at)}): `;
  if (Math.round(before) === Math.round(now))
    return since + (l === 'zh' ? `持平，仍为 ${name(now)} 类` : `unchanged at class ${name(now)}`);
  return since + (l === 'zh' ? `由 ${name(before)} 类变为 ${name(now)} 类` : `from class ${name(before)} to class ${name(now)}`);
}

function arrivalRange(a: Arrival, at: number, l: L): string {
  const r = roundRange(a);
  return l === 'zh'
    ? `${formatRange(a, l)}后，即 ${cstShort(at + r.minMs)} 至 ${cstShort(at + r.maxMs)}`
    : `in ${formatRange(a, l)}, between ${cstShort(at + r.minMs)} and ${cstShort(at + r.maxMs)} CST`;
}

function arrivalLine(ctx: RenderContext, item: NoticeItem, l: L): string | undefined {
  const a = item.arrival;
  if (!a) return undefined;
  const name = stationName(ctx, a.station, l);
  if (item.event.kind === 'resolved') {
    const r = roundRange(a);
    const at = item.event.at;
    return l === 'zh'
      ? `上游已恢复；贵市首个断面 ${name}（下游 ${a.distanceKm} km）预计于 ${cstShort(at + r.minMs)} 至 ${cstShort(at + r.maxMs)} 间恢复（${formatRange(a, l)}后）`
      : `Upstream is back to normal; your first section ${name} (${a.distanceKm} km downstream) should follow ${arrivalRange(a, at, l)}`;
  }
  return l === 'zh'
    ? `预计到达贵市首个断面 ${name}（下游 ${a.distanceKm} km）：${arrivalRange(a, item.event.at, l)}`
    : `Expected at your first section ${name} (${a.distanceKm} km downstream) ${arrivalRange(a, item.event.at, l)}`;
}

function downstreamLines(ctx: RenderContext, item: NoticeItem, l: L): string[] {
  return item.downstream.map((a) => {
    const intake = a.intake ? (l === 'zh' ? '，饮用水取水口' : ', drinking-water intake') : '';
    return l === 'zh'
      ? `${stationName(ctx, a.station, l)}（${cityName(ctx, a.city, l)}，下游 ${a.distanceKm} km${intake}）${arrivalRange(a, item.event.at, l)}`
      : `${stationName(ctx, a.station, l)} (${cityName(ctx, a.city, l)}, ${a.distanceKm} km downstream${intake}) ${arrivalRange(a, item.event.at, l)}`;
  });
}

interface Block {
  title: string;
  rows: Array<[label: string, value: string, link?: boolean]>;
  list?: { label: string; lines: string[] };
}

function block(ctx: RenderContext, item: NoticeItem, l: L): Block {
  const zh = l === 'zh';
  const e = item.event;
  const rows: Block['rows'] = [];
  if (item.type === 'escalation' && item.escalation) {
    rows.push([
      zh ? '升级原因' : 'Why',
      zh
        ? `${ctx.bureau.name.zh}未在 ${duration(item.escalation.ackTimeoutMs, l)} 内确认此告警`
        : `${ctx.bureau.name.en} has not acknowledged this alert within ${duration(item.escalation.ackTimeoutMs, l)}`,
    ]);
  }
  rows.push([zh ? '情况' : 'What', what(ctx, item, l)]);
  const g = grade(ctx, item, l);
  if (g) rows.push([zh ? '类别' : 'Grade', g]);
  rows.push([zh ? '时间' : 'When', `${when(e.at, l)}; ${lasted(item, l)}`]);
  rows.push([zh ? '变化' : 'Changed', changed(item, l)]);
  rows.push([zh ? '阈值版本' : 'Thresholds', `v${e.thresholdVersion}`]);
  rows.push([zh ? '与贵局关系' : 'Why you', item.roles.map((r) => ROLE[r][l]).join(zh ? '；' : '; ')]);
  const arr = arrivalLine(ctx, item, l);
  if (arr) rows.push([zh ? '预计到达' : 'Arrival', arr]);
  rows.push([zh ? '数据图表' : 'Grafana', item.links.grafana, true]);
  if (item.links.cap) rows.push(['CAP', item.links.cap, true]);
  if (e.kind !== 'resolved' || item.type === 'escalation') rows.push([zh ? '确认收到' : 'Acknowledge', item.links.ack, true]);
  rows.push([zh ? '告警编号' : 'Alert id', item.alertId]);
  const ds = downstreamLines(ctx, item, l);
  return {
    title: `${tag(item, l)}${l === 'zh' ? '' : ' '}${where(ctx, item, l)} ${paramName(e.parameter, l)}`,
    rows,
    ...(ds.length > 0
      ? {
          list: {
            label: zh
              ? '下游断面预计到达（按河流距离与流速范围估算）'
              : 'Downstream sections, expected arrival (river distance / velocity range)',
            lines: ds,
          },
        }
      : {}),
  };
}

/** Most important first: escalations and firing before reminders before resolves; worse first. */
function importance(item: NoticeItem): number {
  const k = kindOf(item);
  const kindRank = k === 'escalation' ? 3 : k === 'firing' ? 2 : k === 'reminder' ? 1 : 0;
  return kindRank * 10 + SEVERITY_ORDER.indexOf(item.severity);
}

function subjectPart(ctx: RenderContext, items: NoticeItem[], lead: NoticeItem, l: L): string {
  const e = lead.event;
  const showValue = e.value !== null && (e.rule === 'limit' || e.rule === 'aqi') && e.kind !== 'resolved';
  const value = showValue ? (e.rule === 'aqi' ? ` AQI ${num(e.value)}` : ` ${num(e.value)} ${unitOf(lead)}`) : '';
  const more = items.length > 1 ? (l === 'zh' ? ` 等 ${items.length} 条` : ` (+${items.length - 1} more)`) : '';
  const worstSeverity = items.reduce<Severity>(
    (w, i) =>
      i.event.kind === 'resolved' && i.type === 'transition'
        ? w
        : SEVERITY_ORDER.indexOf(i.severity) > SEVERITY_ORDER.indexOf(w)
          ? i.severity
          : w,
    'info',
  );
  const allResolved = items.every((i) => i.type === 'transition' && i.event.kind === 'resolved');
  const k = KIND[kindOf(lead)][l];
  const t = allResolved
    ? l === 'zh'
      ? `【${k}】`
      : `[${k}]`
    : l === 'zh'
      ? `【${SEVERITY[worstSeverity].zh}·${k}】`
      : `[${SEVERITY[worstSeverity].en} ${k}]`;
  return `${t}${l === 'en' ? ' ' : ''}${stationName(ctx, e.station, l)} ${paramName(e.parameter, l)}${value}${more}`;
}

function languages(lang: Language): L[] {
  return lang === 'zh' ? ['zh'] : lang === 'en' ? ['en'] : ['zh', 'en'];
}

export { escapeHtml };

export function renderNotice(itemsIn: readonly NoticeItem[], ctx: RenderContext): RenderedNotice {
  if (itemsIn.length === 0) throw new Error('renderNotice: no items');
  const items = [...itemsIn].sort((a, b) => importance(b) - importance(a) || a.event.at - b.event.at || a.id.localeCompare(b.id));
  const lead = items[0] as NoticeItem;
  const langs = languages(ctx.language);
  const subject = langs.map((l) => subjectPart(ctx, items, lead, l)).join(' / ');

  const text: string[] = [];
  const html: string[] = ['<!doctype html><html><body style="font-family:sans-serif;font-size:14px;line-height:1.5">'];
  for (const l of langs) {
    const zh = l === 'zh';
    const greeting = zh ? `${ctx.bureau.name.zh} ${ctx.recipient.name}：` : `To ${ctx.bureau.name.en}, ${ctx.recipient.name}:`;
    const intro = zh
      ? `沱江流域成资联合预警，本邮件共 ${items.length} 条通知（北京时间）。`
      : `Tuojiang basin Chengdu–Ziyang joint alerting: ${items.length} notice${items.length > 1 ? 's' : ''} (times in China Standard Time).`;
    if (l === 'en' && langs.length > 1) {
      text.push('', '—— English ——', '');
      html.push('<hr><p><b>English</b></p>');
    }
    text.push(greeting, intro, '');
    html.push(`<p>${escapeHtml(greeting)}<br>${escapeHtml(intro)}</p>`);
    items.forEach((item, i) => {
      const b = block(ctx, item, l);
      text.push(`${i + 1}. ${b.title}`);
      for (const [label, value] of b.rows) text.push(`   ${label}: ${value}`);
      if (b.list) {
        text.push(`   ${b.list.label}:`);
        for (const line of b.list.lines) text.push(`     - ${line}`);
      }
      text.push('');
      html.push(`<h3 style="margin:16px 0 4px">${i + 1}. ${escapeHtml(b.title)}</h3><table style="border-collapse:collapse">`);
      for (const [label, value, link] of b.rows) {
        const v = link ? `<a href="${escapeHtml(value)}">${escapeHtml(value)}</a>` : escapeHtml(value);
        html.push(
          `<tr><td style="padding:2px 12px 2px 0;color:#555;vertical-align:top;white-space:nowrap">${escapeHtml(label)}</td><td style="padding:2px 0">${v}</td></tr>`,
        );
      }
      html.push('</table>');
      if (b.list)
        html.push(
          `<p style="margin:6px 0 0">${escapeHtml(b.list.label)}</p><ul>${b.list.lines.map((x) => `<li>${escapeHtml(x)}</li>`).join('')}</ul>`,
        );
    });
    const footer = zh
      ? '本邮件由系统自动发送。请点击“确认收到”链接，或运行 `tuojiang alerts ack <告警编号> --bureau <城市>` 确认；未确认的告警将按规定升级。CAP 1.2 报文见附件。'
      : 'Sent automatically. Acknowledge with the link, or `tuojiang alerts ack <alert id> --bureau <city>`; alerts not acknowledged in time are escalated. CAP 1.2 messages are attached.';
    text.push(footer);
    html.push(`<p style="color:#555">${escapeHtml(footer)}</p>`);
  }
  html.push('</body></html>');
  return { subject, text: `${text.join('\n')}\n`, html: html.join('\n') };
}
