/**
 * The e-mail a bureau gets when the other city changes the shared thresholds, or asks for its
 * consent. Written for the other city's duty officer: the subject says who (operator, city) did
 * what to which limit at which station, whether it is already in force, and what the bureau can
 * do; the body lists every station whose limit moves (its own marked) and the exact commands —
 * `tuojiang thresholds restore …` for a change made alone to its own stations, `approve`/`reject`
 * for a proposal. Chinese first, English second (or one language, as the recipient asked).
 * Pure: the same notice always renders the same e-mail.
 */
import type { Language } from '../../config/recipients-schema.js';
import type { ExplicitLimit, ThresholdsFile } from '../thresholds-schema.js';
import { PARAMETER_BY_KEY } from '../../lib/parameters.js';
import type { Limit } from '../../lib/standards/index.js';
import type { StationRegistry } from '../../config/station-registry.js';
import { formatExplicit, targetPath } from '../threshold-store/limits.js';
import { kindLabel } from '../threshold-store/summary.js';
import type { LimitTarget, Proposal, StationEffect, ThresholdVersion } from '../threshold-store/types.js';
import { limitFor, stationProfile } from '../thresholds.js';
import { cstTime } from './render.js';
import { escapeHtml, sig } from '../../lib/format.js';

type L = 'zh' | 'en';

export type ThresholdNotice =
  | { type: 'version'; version: ThresholdVersion; /** The version before it: what a restore puts back. */ parent?: ThresholdVersion }
  | { type: 'proposal'; proposal: Proposal };

export interface ThresholdNoticeContext {
  registry: StationRegistry;
  /** The bureau told (a city id of stations.yaml). */
  bureau: { id: string; name: { zh: string; en: string } };
  recipientName: string;
  language: Language;
  /** Where `tuojiang api` answers (the threshold API is under /thresholds). */
  publicUrl: string;
}

export interface RenderedThresholdNotice {
  subject: string;
  text: string;
  html: string;
}

function cityName(ctx: ThresholdNoticeContext, id: string | null, l: L): string {
  if (id === null) return l === 'zh' ? '系统' : 'the system';
  return ctx.registry.cities[id]?.[l] ?? id;
}

function stationName(ctx: ThresholdNoticeContext, id: string, l: L): string {
  return ctx.registry.get(id)?.name[l] ?? id;
}

function paramName(p: string, l: L): string {
  const info = PARAMETER_BY_KEY.get(p);
  return info ? (l === 'zh' ? info.nameZh : `${info.nameEn} (${p})`) : p;
}

function where(ctx: ThresholdNoticeContext, t: LimitTarget, l: L): string {
  if (t.scope === 'station') return stationName(ctx, t.station, l);
  if (t.scope === 'section') return l === 'zh' ? `河段 ${t.sectionName ?? t.section}` : `section ${t.sectionName ?? t.section}`;
  return l === 'zh' ? '全部站点' : 'all stations';
}

/** Stations whose limit moves, once each (air: the hourly effect stands for the station). */
function moved(effects: readonly StationEffect[] | undefined): StationEffect[] {
  const seen = new Set<string>();
  return (effects ?? []).filter((e) => e.direction !== 'same' && !seen.has(e.station) && seen.add(e.station));
}

function ownMoved(ctx: ThresholdNoticeContext, effects: readonly StationEffect[] | undefined): StationEffect[] {
  return moved(effects).filter((e) => ctx.registry.get(e.station)?.city === ctx.bureau.id);
}

function flagsFor(limit: Limit): string {
  const n = (x: number) => sig(x, 12);
  return limit.kind === 'range' ? `--min ${n(limit.min)} --max ${n(limit.max)}` : `--value ${n(limit.value)}`;
}

const scopeFlag = (t: LimitTarget): string =>
  t.scope === 'station' ? `--station ${t.station}` : t.scope === 'section' ? `--section ${t.section}` : '--defaults';

/**
 * The commands that undo a change made alone, for this bureau's stations: the change's own key put
 * back (`--to-version`) when it moved no other city's station; else one restore per own station,
 * to the limit in force there before it.
 */
function restoreCommands(ctx: ThresholdNoticeContext, v: ThresholdVersion, parent: ThresholdVersion | undefined): string[] {
  const t = v.target;
  if (!t || !parent) return [];
  const own = ownMoved(ctx, v.effects);
  if (own.length === 0) return [];
  const why = '--why "…"';
  if (own.length === moved(v.effects).length)
    return [`tuojiang thresholds restore ${scopeFlag(t)} --param ${t.param} --to-version ${parent.version} ${why}`];
  return own.flatMap((e) => {
    const station = ctx.registry.get(e.station);
    if (!station) return [];
    const before = limitFor(
      stationProfile({ version: String(parent.version), source: 'notice', config: parent.config as ThresholdsFile }, station),
      station,
      t.param,
      v.at,
      e.period,
    )?.limit;
    return before ? [`tuojiang thresholds restore --station ${e.station} --param ${t.param} ${flagsFor(before)} ${why}`] : [];
  });
}

/** Was this change made by another city alone (so the bureau may restore its own stations)? */
function madeAlone(ctx: ThresholdNoticeContext, v: ThresholdVersion): boolean {
  return v.city !== null && v.city !== ctx.bureau.id && !v.approvals.some((a) => a.city === ctx.bureau.id) && v.kind !== 'restore';
}

interface Content {
  subject: Record<L, string>;
  rows: Record<L, Array<[string, string]>>;
  effects: StationEffect[];
  actions: Record<L, string[]>;
}

function effectLine(ctx: ThresholdNoticeContext, e: StationEffect, l: L): string {
  const mine = ctx.registry.get(e.station)?.city === ctx.bureau.id ? (l === 'zh' ? '（贵市站点）' : ' (your station)') : '';
  const period = e.period === 'day' ? (l === 'zh' ? '日均' : 'daily') : '';
  const floor = e.belowFloor ? (l === 'zh' ? `，严于合理下限 ${e.floor ?? ''}` : `, stricter than the sanity floor ${e.floor ?? ''}`) : '';
  const std = e.belowStandard
    ? l === 'zh'
      ? `，宽于国家标准 ${e.national ?? ''}`
      : `, looser than the national standard ${e.national ?? ''}`
    : '';
  return `${stationName(ctx, e.station, l)}${period ? ` ${period}` : ''}${mine}: ${e.before} → ${e.after}${floor}${std}`;
}

/**
 * The change as the reader counts it: for one station, its limit in force before and after (an
 * explicit limit cleared reads as the standard's number, not as "standard"); for a wider scope, the
 * key's own values (the station lines below give the numbers).
 */
function changeText(
  t: LimitTarget,
  from: ExplicitLimit | null | undefined,
  to: ExplicitLimit | null | undefined,
  unit: string | undefined,
  effects: readonly StationEffect[] | undefined,
): string {
  const own = t.scope === 'station' ? (effects ?? []).find((e) => e.station === t.station && e.period === 'hour') : undefined;
  return own ? `${own.before} → ${own.after}` : `${formatExplicit(from, unit)} → ${formatExplicit(to, unit)}`;
}

function versionContent(ctx: ThresholdNoticeContext, v: ThresholdVersion, parent: ThresholdVersion | undefined): Content {
  const t = v.target;
  const k = kindLabel(v.kind);
  const change = t ? changeText(t, v.from, v.to, v.unit, v.effects) : '';
  const alone = madeAlone(ctx, v) && ownMoved(ctx, v.effects).length > 0;
  const tightened = (v.effects ?? []).some((e) => e.direction === 'tighter' || e.direction === 'mixed');
  const restores = alone && tightened ? restoreCommands(ctx, v, parent) : [];
  const next: Record<L, string> =
    restores.length > 0
      ? { zh: '已生效，贵方可单方面恢复', en: 'in force; you may restore it without consent' }
      : { zh: '已生效，仅通报', en: 'in force; for your information' };
  const who: Record<L, string> = { zh: `${cityName(ctx, v.city, 'zh')} ${v.by}`, en: `${cityName(ctx, v.city, 'en')} (${v.by})` };
  const what: Record<L, string> = t
    ? {
        zh: `${k.zh} ${where(ctx, t, 'zh')} ${paramName(t.param, 'zh')} ${change}`,
        en: `${k.en.toLowerCase()} ${t.param} at ${where(ctx, t, 'en')}: ${change}`,
      }
    : { zh: k.zh, en: k.en.toLowerCase() };
  const actions: Record<L, string[]> = { zh: [], en: [] };
  if (restores.length > 0) {
    actions.zh.push('如贵方不同意，可随时恢复贵市站点原限值，无需对方同意（记为“恢复”，并通报对方）：', ...restores.map((c) => `  ${c}`));
    actions.en.push(
      "If you do not agree, you may restore your stations' previous limit at any time, without the other city's consent (recorded as a restore and announced to them):",
      ...restores.map((c) => `  ${c}`),
    );
    actions.zh.push(`或通过 API：POST ${ctx.publicUrl}/thresholds/restore（同样参数，JSON）`);
    actions.en.push(`or over the API: POST ${ctx.publicUrl}/thresholds/restore (the same fields, as JSON)`);
  } else {
    actions.zh.push('无需操作；如有异议，请联系对方或提出新的变更（tuojiang thresholds propose）。');
    actions.en.push('Nothing to do; if you disagree, contact the other city or propose a change (tuojiang thresholds propose).');
  }
  const rows = (l: L): Array<[string, string]> => [
    [l === 'zh' ? '变更' : 'Change', what[l]],
    [l === 'zh' ? '操作人' : 'By', who[l]],
    [l === 'zh' ? '时间' : 'When', l === 'zh' ? `${cstTime(v.at)}（北京时间）` : `${cstTime(v.at)} CST (UTC+8)`],
    [l === 'zh' ? '理由' : 'Why', v.why],
    [l === 'zh' ? '阈值版本' : 'Version', `v${v.version}${t ? ` (${targetPath(t)})` : ''}`],
    ...(v.approvals.length > 0
      ? [
          [l === 'zh' ? '批准' : 'Approved by', v.approvals.map((a) => `${a.by} (${cityName(ctx, a.city, l)})`).join(', ')] as [
            string,
            string,
          ],
        ]
      : []),
    ...(v.restores?.length ? [[l === 'zh' ? '撤销的版本' : 'Undoes', v.restores.map((n) => `v${n}`).join(', ')] as [string, string]] : []),
    [l === 'zh' ? '状态' : 'Status', next[l]],
  ];
  return {
    subject: {
      zh: `【阈值变更·${next.zh}】${who.zh} ${what.zh}（v${v.version}）`,
      en: `[Threshold change, ${next.en}] ${who.en} ${what.en} (v${v.version})`,
    },
    rows: { zh: rows('zh'), en: rows('en') },
    effects: (v.effects ?? []).filter((e) => e.direction !== 'same'),
    actions,
  };
}

function proposalContent(ctx: ThresholdNoticeContext, p: Proposal): Content {
  const k = kindLabel(`pending-${p.kind}`);
  const change = changeText(p.target, p.from, p.to, p.unit, p.effects);
  const who: Record<L, string> = { zh: `${cityName(ctx, p.city, 'zh')} ${p.by}`, en: `${cityName(ctx, p.city, 'en')} (${p.by})` };
  const what: Record<L, string> = {
    zh: `提议 ${where(ctx, p.target, 'zh')} ${paramName(p.target.param, 'zh')} ${change}（${k.zh}）`,
    en: `proposes ${p.target.param} at ${where(ctx, p.target, 'en')}: ${change} (${k.en.toLowerCase()})`,
  };
  const reason: Record<L, string> =
    p.kind === 'floor'
      ? {
          zh: '严于国家标准最优类别（合理下限），需贵方同意',
          en: 'it is stricter than the best class of the national standard (the sanity floor), so it needs your consent',
        }
      : p.kind === 'exception'
        ? {
            zh: '宽于国家标准的例外，需两市各一名操作员批准',
            en: 'an exception looser than the national standard: one operator of each city must approve',
          }
        : { zh: '放宽限值，需贵方同意', en: 'it loosens a limit, so it needs your consent' };
  const cmd = [`tuojiang thresholds approve ${p.id} --comment "…"`, `tuojiang thresholds reject ${p.id} --why "…"`];
  const rows = (l: L): Array<[string, string]> => [
    [l === 'zh' ? '提议' : 'Proposal', `${p.id}: ${what[l]}`],
    [l === 'zh' ? '提议人' : 'By', who[l]],
    [l === 'zh' ? '时间' : 'When', l === 'zh' ? `${cstTime(p.at)}（北京时间）` : `${cstTime(p.at)} CST (UTC+8)`],
    [l === 'zh' ? '理由' : 'Why', p.why],
    ...(p.exception
      ? [
          [l === 'zh' ? '例外' : 'Exception', `${p.exception.reason} (${l === 'zh' ? '至' : 'until'} ${cstTime(p.exception.until)})`] as [
            string,
            string,
          ],
        ]
      : []),
    [l === 'zh' ? '为何需要贵方' : 'Why you', reason[l]],
    [
      l === 'zh' ? '截止' : 'Expires',
      l === 'zh' ? `${cstTime(p.expiresAt)}（北京时间），逾期未批准即失效` : `${cstTime(p.expiresAt)} CST; it lapses unapproved after that`,
    ],
  ];
  return {
    subject: {
      zh: `【阈值提议·需贵方同意】${who.zh} ${what.zh}（${p.id}）：请批准或拒绝`,
      en: `[Threshold proposal, your consent needed] ${who.en} ${what.en} (${p.id}): approve or reject`,
    },
    rows: { zh: rows('zh'), en: rows('en') },
    effects: p.effects.filter((e) => e.direction !== 'same'),
    actions: {
      zh: [
        '在批准之前不会生效。批准或拒绝：',
        ...cmd.map((c) => `  ${c}`),
        `或通过 API：POST ${ctx.publicUrl}/thresholds/proposals/${p.id}/approve 或 …/reject`,
      ],
      en: [
        'Nothing changes until it is approved. Approve or reject:',
        ...cmd.map((c) => `  ${c}`),
        `or over the API: POST ${ctx.publicUrl}/thresholds/proposals/${p.id}/approve or …/reject`,
      ],
    },
  };
}

function languages(lang: Language): L[] {
  return lang === 'zh' ? ['zh'] : lang === 'en' ? ['en'] : ['zh', 'en'];
}

export function renderThresholdNotice(n: ThresholdNotice, ctx: ThresholdNoticeContext): RenderedThresholdNotice {
  const c = n.type === 'version' ? versionContent(ctx, n.version, n.parent) : proposalContent(ctx, n.proposal);
  const langs = languages(ctx.language);
  const text: string[] = [];
  const html: string[] = ['<!doctype html><html><body style="font-family:sans-serif;font-size:14px;line-height:1.5">'];
  for (const l of langs) {
    const zh = l === 'zh';
    if (l === 'en' && langs.length > 1) {
      text.push('', '—— English ——', '');
      html.push('<hr><p><b>English</b></p>');
    }
    const greeting = zh ? `${ctx.bureau.name.zh} ${ctx.recipientName}：` : `To ${ctx.bureau.name.en}, ${ctx.recipientName}:`;
    const intro = zh ? '沱江成资统一阈值有变动，特此通报。' : 'A change to the unified Tuojiang thresholds concerns you.';
    text.push(greeting, intro, '');
    html.push(`<p>${escapeHtml(greeting)}<br>${escapeHtml(intro)}</p><table style="border-collapse:collapse">`);
    for (const [label, value] of c.rows[l]) {
      text.push(`   ${label}: ${value}`);
      html.push(
        `<tr><td style="padding:2px 12px 2px 0;color:#555;vertical-align:top;white-space:nowrap">${escapeHtml(label)}</td><td style="padding:2px 0">${escapeHtml(value)}</td></tr>`,
      );
    }
    html.push('</table>');
    const label = zh ? '各站点现行限值变化' : 'Limits in force, station by station';
    const lines = c.effects.map((e) => effectLine(ctx, e, l));
    text.push('', `   ${label}:`, ...lines.map((x) => `     - ${x}`), '', ...c.actions[l]);
    html.push(`<p style="margin:6px 0 0">${escapeHtml(label)}</p><ul>${lines.map((x) => `<li>${escapeHtml(x)}</li>`).join('')}</ul>`);
    html.push(`<pre style="white-space:pre-wrap">${escapeHtml(c.actions[l].join('\n'))}</pre>`);
    text.push('');
  }
  html.push('</body></html>');
  return { subject: langs.map((l) => c.subject[l]).join(' / '), text: `${text.join('\n')}\n`, html: html.join('\n') };
}
