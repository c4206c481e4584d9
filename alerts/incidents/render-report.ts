/**
 * The e-mail of one incident report, as a duty officer reads it: the subject carries the news; the
 * first lines say the time to the next drinking-water intake, what and how much, where the front
 * is; then what changed since the last report, who has acknowledged, the plume's track section by
 * section, and the links. Chinese first, English second (or one language, as asked). Pure.
 */
import type { Language } from '../../config/recipients-schema.js';
import type { StationRegistry } from '../../config/station-registry.js';
import type { AckRecord } from '../notify/store.js';
import type { Recipient } from '../notify/items.js';
import type { Severity } from '../notify/severity.js';
import { escapeHtml as esc } from '../notify/render.js';
import type { Report } from './types.js';
import { front } from './track.js';
import {
  actionText,
  cstFull,
  duration,
  intakeParts,
  limitLine,
  openingText,
  paramName,
  peakLine,
  reasonText,
  REPORT_KIND,
  stationName,
  subject,
  trackRows,
  type L,
} from './wording.js';

export interface ReportItem {
  id: string;
  type: 'report';
  alertId: string;
  bureau: string;
  roles: never[];
  severity: Severity;
  report: Report;
  /** The report's number for this bureau (第 N 报), counting only what it received. */
  number?: number;
  /** Acknowledgements when the report was placed. */
  acks: Record<string, AckRecord>;
  firstAt: number;
  links: { grafana: string; ack: string; cap: string | null };
  /** Set on the escalation notice of a report the bureau did not acknowledge in time. */
  escalation?: { ackTimeoutMs: number; firedNotifiedAt: number };
}

export interface ReportRenderContext {
  registry: StationRegistry;
  bureau: { id: string; name: { zh: string; en: string } };
  recipient: Recipient;
  language: Language;
  bureauNames: Record<string, { zh: string; en: string }>;
}

const SEVERITY: Record<Severity, Record<L, string>> = {
  severe: { zh: '严重', en: 'SEVERE' },
  warning: { zh: '警告', en: 'WARNING' },
  info: { zh: '提示', en: 'NOTICE' },
};

function langs(lang: Language): L[] {
  return lang === 'zh' ? ['zh'] : lang === 'en' ? ['en'] : ['zh', 'en'];
}

export function reportSubject(item: ReportItem, ctx: Pick<ReportRenderContext, 'registry' | 'language'>): string {
  const l: L = ctx.language === 'en' ? 'en' : 'zh';
  const esc = item.escalation ? (l === 'zh' ? '【升级】' : '[ESCALATION] ') : '';
  return `${esc}${subject(item.report, ctx.registry, l, item.bureau)}`;
}

function ackLine(item: ReportItem, ctx: ReportRenderContext, l: L): string {
  const bureaus = Object.keys(ctx.bureauNames);
  return bureaus
    .map((b) => {
      const a = item.acks[b];
      const name = ctx.bureauNames[b]?.[l] ?? b;
      return a
        ? l === 'zh'
          ? `${name}已确认（${a.by}，${cstFull(a.at)}）`
          : `${name} acknowledged (${a.by}, ${cstFull(a.at)})`
        : l === 'zh'
          ? `${name}未确认`
          : `${name} not yet acknowledged`;
    })
    .join(l === 'zh' ? '；' : '; ');
}

interface Section {
  heading: string;
  lines: string[];
  table?: { head: string[]; rows: string[][] };
}

function sections(item: ReportItem, ctx: ReportRenderContext, l: L): Section[] {
  const r = item.report;
  const inc = r.incident;
  const reg = ctx.registry;
  const zh = l === 'zh';
  const out: Section[] = [];
  const lead: string[] = [];
  if (item.escalation) {
    lead.push(
      zh
        ? `${ctx.bureau.name.zh}未在 ${duration(item.escalation.ackTimeoutMs, l)}内确认此事件，现升级通报。`
        : `${ctx.bureau.name.en} has not acknowledged this incident within ${duration(item.escalation.ackTimeoutMs, l)}: escalated.`,
    );
  }
  lead.push(...intakeParts(r, reg, l, item.bureau));
  const pk = peakLine(inc, reg, l);
  lead.push(
    zh
      ? `污染物：${paramName(inc.parameter, l)}；${pk || `${openingText(inc, reg, l)}（浓度尚未超标）`}${limitLine(inc, l, reg) ? `；${limitLine(inc, l, reg)}` : ''}`
      : `Pollutant: ${paramName(inc.parameter, l)}; ${pk || `${openingText(inc, reg, l)} (no concentration over the limit yet)`}${limitLine(inc, l, reg) ? `; ${limitLine(inc, l, reg)}` : ''}`,
  );
  const f = front(inc);
  if (inc.kind === 'river' && f) {
    lead.push(
      zh
        ? `污染团前锋：${stationName(reg, f.station, l)}（${f.riverKm} km，${cstFull(f.observedAt as number)} 首次发现异常）`
        : `Front: ${stationName(reg, f.station, l)} (km ${f.riverKm}, first seen ${cstFull(f.observedAt as number)} CST)`,
    );
  }
  lead.push(
    zh
      ? `首次发现：${stationName(reg, inc.origin, l)}，${cstFull(inc.openedAt)}（北京时间）`
      : `First detected: ${stationName(reg, inc.origin, l)}, ${cstFull(inc.openedAt)} CST`,
  );
  if (r.kind === 'final' && inc.closedAt !== null) {
    // From the first exceedance to the last section back within limits (the hold is not pollution).
    const lastBack = Math.max(inc.openedAt, ...inc.sections.map((s) => s.backAt ?? 0));
    lead.push(
      zh
        ? `事件历时：${duration(lastBack - inc.openedAt, l)}（${cstFull(inc.openedAt)} 至 ${cstFull(lastBack)}）`
        : `Duration: ${duration(lastBack - inc.openedAt, l)} (${cstFull(inc.openedAt)} to ${cstFull(lastBack)} CST)`,
    );
    const judged = inc.sections.filter((s) => s.observedAt !== null && s.predicted !== null);
    const missed = judged.filter((s) => s.miss !== null);
    lead.push(
      zh
        ? `预计与实际到达：${judged.length} 个断面中 ${judged.length - missed.length} 个在预计时段内${missed.length ? `，${missed.map((s) => `${stationName(reg, s.station, l)}${s.miss === 'early' ? '早于' : '晚于'}预计`).join('、')}` : ''}`
        : `Predicted against observed arrival: ${judged.length - missed.length} of ${judged.length} sections inside their window${missed.length ? `; ${missed.map((s) => `${stationName(reg, s.station, l)} ${s.miss === 'early' ? 'earlier' : 'later'} than expected`).join(', ')}` : ''}`,
    );
  }
  lead.push(zh ? `确认情况：${ackLine(item, ctx, l)}` : `Acknowledged: ${ackLine(item, ctx, l)}`);
  lead.push(zh ? `建议措施：${actionText(r, l)}` : `What to do: ${actionText(r, l)}`);
  out.push({ heading: zh ? '要点' : 'Summary', lines: lead });
  if (r.kind !== 'initial') out.push({ heading: zh ? '本次更新' : 'What is new', lines: reasonText(r, reg, l) });
  if (inc.kind === 'river') {
    const rows = trackRows(r, reg, l);
    out.push({
      heading: zh ? '污染团轨迹（预计与实际到达）' : 'Plume track (expected and observed arrival)',
      lines: [],
      table: {
        head: zh
          ? ['断面', '城市', 'km', '预计到达', '实际到达', '峰值', '恢复']
          : ['Section', 'City', 'km', 'Expected', 'Observed', 'Peak', 'Back'],
        rows: rows.map((x) => [x.station, x.city, x.km, x.predicted, x.observed, x.peak, x.back]),
      },
    });
  }
  const links = [
    `${zh ? '确认收到' : 'Acknowledge'}: ${item.links.ack}`,
    `${zh ? '数据图表' : 'Grafana'}: ${item.links.grafana}`,
    ...(item.links.cap ? [`CAP: ${item.links.cap}`] : []),
    `${zh ? '事件编号' : 'Incident id'}: ${inc.id}`,
  ];
  out.push({ heading: zh ? '链接' : 'Links', lines: links });
  return out;
}

export function renderReport(item: ReportItem, ctx: ReportRenderContext): { subject: string; text: string; html: string } {
  const r = item.report;
  const text: string[] = [];
  const html: string[] = ['<!doctype html><html><body style="font-family:sans-serif;font-size:14px;line-height:1.5">'];
  for (const l of langs(ctx.language)) {
    const zh = l === 'zh';
    if (l === 'en' && ctx.language === 'zh-en') {
      text.push('', '—— English ——', '');
      html.push('<hr><p><b>English</b></p>');
    }
    const title = zh
      ? `【${r.kind === 'final' ? '' : `${SEVERITY[item.severity].zh}·`}${REPORT_KIND[r.kind].zh}】第 ${item.number ?? r.seq} 报 ${subject(r, ctx.registry, l, item.bureau).replace(/^【[^】]*】/, '')}`
      : `[${r.kind === 'final' ? '' : `${SEVERITY[item.severity].en} · `}${REPORT_KIND[r.kind].en} #${item.number ?? r.seq}] ${subject(r, ctx.registry, l, item.bureau).replace(/^\[[^\]]*\] /, '')}`;
    const greet = zh ? `${ctx.bureau.name.zh} ${ctx.recipient.name}：` : `To ${ctx.bureau.name.en}, ${ctx.recipient.name}:`;
    text.push(greet, title, zh ? `报告时间：${cstFull(r.at)}（北京时间）` : `As of ${cstFull(r.at)} CST`, '');
    html.push(
      `<p>${esc(greet)}</p><h2 style="font-size:17px;margin:8px 0">${esc(title)}</h2><p style="color:#555">${esc(zh ? `报告时间：${cstFull(r.at)}（北京时间）` : `As of ${cstFull(r.at)} CST`)}</p>`,
    );
    for (const s of sections(item, ctx, l)) {
      text.push(`${s.heading}${l === 'zh' ? '：' : ':'}`);
      for (const line of s.lines) text.push(`  - ${line}`);
      html.push(`<h3 style="font-size:15px;margin:14px 0 4px">${esc(s.heading)}</h3>`);
      if (s.lines.length > 0)
        html.push(
          `<ul style="margin:0;padding-left:20px">${s.lines.map((x) => `<li>${x.includes('http') ? esc(x).replace(/(https?:\/\/[^\s<]+)/g, '<a href="$1">$1</a>') : esc(x)}</li>`).join('')}</ul>`,
        );
      if (s.table) {
        text.push(`  ${s.table.head.join(' | ')}`);
        for (const row of s.table.rows) text.push(`  ${row.join(' | ')}`);
        html.push('<table style="border-collapse:collapse;font-size:13px">');
        html.push(
          `<tr>${s.table.head.map((h) => `<th style="text-align:left;border-bottom:1px solid #999;padding:2px 8px">${esc(h)}</th>`).join('')}</tr>`,
        );
        for (const row of s.table.rows)
          html.push(`<tr>${row.map((c) => `<td style="padding:2px 8px;border-bottom:1px solid #eee">${esc(c)}</td>`).join('')}</tr>`);
        html.push('</table>');
      }
      text.push('');
    }
    const footer = zh
      ? '本邮件由系统自动发送；同一事件的全部报告在同一邮件会话中。请点击“确认收到”链接确认；未确认的事件将按规定升级。'
      : 'Sent automatically; every report of this incident is in one mail thread. Acknowledge with the link; incidents not acknowledged in time are escalated.';
    text.push(footer);
    html.push(`<p style="color:#555">${esc(footer)}</p>`);
  }
  html.push('</body></html>');
  return { subject: reportSubject(item, ctx), text: `${text.join('\n')}\n`, html: html.join('\n') };
}
