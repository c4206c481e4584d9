/**
 * The acknowledgement page of an incident, for a duty officer on a phone at night: first what and
 * how much and when it reaches the next drinking-water intake (the latest report's subject and
 * lead line), then who has acknowledged and the form, then the plume's track and the timeline.
 * Chinese first, English under it. Server-rendered, no script, nothing loaded from elsewhere
 * (inline CSS), every value escaped. Pure.
 */
import { incidentTimeline } from '../alerts/incidents/timeline.js';
import type { Report } from '../alerts/incidents/types.js';
import {
  cstFull,
  cstShort,
  intakeLine,
  limitLine,
  paramName,
  peakLine,
  REPORT_KIND,
  stationName,
  subject,
  trackRows,
  untilText,
  type L,
} from '../alerts/incidents/wording.js';
import { ACK_BY_MAX } from '../alerts/notify/ack.js';
import type { Severity } from '../alerts/notify/severity.js';
import type { AckRecord, AlertRecord } from '../alerts/notify/store.js';
import type { StationRegistry } from '../config/station-registry.js';
import { esc } from './html.js';
import { front } from '../alerts/incidents/track.js';

export interface IncidentPageInput {
  report: Report;
  record: AlertRecord;
  registry: StationRegistry;
  /** The bureau the link was signed for. */
  bureau: string;
  bureauNames: Record<string, { zh: string; en: string }>;
  /** Wall time the page is shown at: the intake window is worded relative to it. */
  now: number;
  /** The acknowledgement form's signed fields; null when this bureau has acknowledged. */
  form: { exp: number; sig: string } | null;
  /** After a POST: the acknowledgement just recorded (or found). */
  acknowledged?: { ack: AckRecord; earlier: boolean };
}

const SEVERITY: Record<Severity, { zh: string; en: string; css: string }> = {
  severe: { zh: '严重', en: 'SEVERE', css: 'sev-severe' },
  warning: { zh: '警告', en: 'WARNING', css: 'sev-warning' },
  info: { zh: '提示', en: 'NOTICE', css: 'sev-info' },
};

// One size for all text (16 px, the smallest a phone shows without zooming); the English line is
// told apart by colour, not by a smaller size. Tap targets are at least 48 px tall.
const CSS = `
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;padding:12px;font:16px/1.5 system-ui,-apple-system,"Noto Sans CJK SC","WenQuanYi Micro Hei",sans-serif;color:#111;background:#fff;max-width:64em;margin:0 auto;overflow-wrap:anywhere}
.en{color:#4a4a4a;display:block}
.top{display:flex;flex-wrap:wrap;gap:6px 10px;align-items:center}
.badge{display:inline-block;padding:2px 10px;border-radius:4px;font-weight:600;color:#fff}
.sev-severe{background:#b3261e}.sev-warning{background:#b45309}.sev-info{background:#1d4ed8}
.st-open{background:#7f1d1d}.st-closed{background:#166534}
h1{font-size:20px;line-height:1.35;margin:10px 0 2px}
h1+.en{margin-bottom:10px}
h2{font-size:18px;margin:22px 0 8px;border-bottom:1px solid #ccc;padding-bottom:4px}
#intake{border-left:6px solid #b3261e;background:#fdecea;padding:10px 12px;margin:10px 0;font-weight:600}
#intake .en{font-weight:400}
ul.facts{list-style:none;padding:0;margin:8px 0}
ul.facts li{padding:6px 0;border-bottom:1px solid #eee}
.ack{padding:8px 0;border-bottom:1px solid #eee}
.ack-yes b{color:#166534}.ack-no b{color:#b3261e}
.done{background:#e8f5e9;border-left:6px solid #166534;padding:10px 12px;margin:10px 0}
form label{display:block;margin:8px 0 4px}
form input{width:100%;min-height:48px;font-size:16px;padding:8px 10px;border:1px solid #888;border-radius:6px}
form button{display:block;width:100%;min-height:52px;margin:12px 0;font-size:18px;font-weight:600;color:#fff;background:#1d4ed8;border:0;border-radius:6px}
#track{overflow-x:auto;-webkit-overflow-scrolling:touch;border:1px solid #ddd}
#track table{border-collapse:collapse;min-width:100%}
#track th,#track td{text-align:left;vertical-align:top;padding:6px 8px;border-bottom:1px solid #eee;white-space:nowrap}
#track th:first-child,#track td:first-child{position:sticky;left:0;background:#fff;white-space:normal;min-width:8em;max-width:11em;border-right:1px solid #ddd}
#track tr.reached td:first-child{font-weight:600}
#track tr.intake td:first-child{border-left:4px solid #b3261e}
ol#timeline{list-style:none;padding:0;margin:0}
ol#timeline li{display:grid;grid-template-columns:7.2em 1fr;gap:8px;padding:6px 0;border-bottom:1px solid #eee}
ol#timeline time{font-variant-numeric:tabular-nums;color:#333}
code{font-size:16px;word-break:break-all}
footer{margin-top:24px;color:#4a4a4a}
`;

/** A Chinese line with its English line under it. */
function both(zh: string, en: string, tag = 'p', attrs = ''): string {
  return `<${tag}${attrs}>${esc(zh)}${en && en !== zh ? `<span class="en" lang="en">${esc(en)}</span>` : ''}</${tag}>`;
}

function bureauName(i: IncidentPageInput, id: string, l: L): string {
  return i.bureauNames[id]?.[l] ?? i.registry.cities[id]?.[l] ?? id;
}

function facts(i: IncidentPageInput): string {
  const r = i.report;
  const inc = r.incident;
  const reg = i.registry;
  const items: string[] = [];
  const pollutant = (l: L): string => {
    const pk = peakLine(inc, reg, l);
    const lim = limitLine(inc, l);
    return l === 'zh'
      ? `污染物：${paramName(inc.parameter, l)}；${pk || '暂无浓度数据'}${lim ? `；${lim}` : ''}`
      : `Pollutant: ${paramName(inc.parameter, l)}; ${pk || 'no concentration yet'}${lim ? `; ${lim}` : ''}`;
  };
  items.push(both(pollutant('zh'), pollutant('en'), 'li'));
  const f = front(inc);
  if (inc.kind === 'river' && f && f.observedAt !== null) {
    items.push(
      both(
        `污染团前锋：${stationName(reg, f.station, 'zh')}（${f.riverKm} km，${cstFull(f.observedAt)} 首次超标）`,
        `Front: ${stationName(reg, f.station, 'en')} (km ${f.riverKm}, first over the limit ${cstFull(f.observedAt)} CST)`,
        'li',
      ),
    );
  }
  items.push(
    both(
      `首次发现：${stationName(reg, inc.origin, 'zh')}，${cstFull(inc.openedAt)}`,
      `First detected: ${stationName(reg, inc.origin, 'en')}, ${cstFull(inc.openedAt)} CST`,
      'li',
    ),
  );
  items.push(
    both(
      `最新报告：第 ${r.seq} 报 ${REPORT_KIND[r.kind].zh}，${cstFull(r.at)}`,
      `Latest report: #${r.seq} ${REPORT_KIND[r.kind].en}, ${cstFull(r.at)} CST`,
      'li',
    ),
  );
  return `<ul class="facts">${items.join('')}</ul>`;
}

function acks(i: IncidentPageInput): string {
  const rows = i.record.info.bureaus.map((b) => {
    const a = i.record.acks[b];
    const e = i.record.escalations[b];
    const zh = a ? `已确认（${a.by}，${cstFull(a.at)}）` : `未确认${e ? `，已于 ${cstShort(e.at)} 升级通报` : ''}`;
    const en = a ? `acknowledged (${a.by}, ${cstFull(a.at)} CST)` : `not yet acknowledged${e ? `; escalated ${cstShort(e.at)} CST` : ''}`;
    return (
      `<div class="ack ${a ? 'ack-yes' : 'ack-no'}"><b>${esc(bureauName(i, b, 'zh'))}</b> ${esc(zh)}` +
      `<span class="en" lang="en"><b>${esc(bureauName(i, b, 'en'))}</b> ${esc(en)}</span></div>`
    );
  });
  // This bureau's form (or what it just recorded) first: it is what the link was opened for.
  return `<section id="acks"><h2>确认情况<span class="en" lang="en">Acknowledgements</span></h2>${form(i)}${rows.join('')}</section>`;
}

function form(i: IncidentPageInput): string {
  const mine = bureauName(i, i.bureau, 'zh');
  if (i.acknowledged) {
    const a = i.acknowledged.ack;
    return `<div class="done" id="ack-done">${both(
      `${mine}已确认：${a.by}，${cstFull(a.at)}${i.acknowledged.earlier ? '（此前已确认）' : ''}`,
      `${bureauName(i, i.bureau, 'en')} acknowledged: ${a.by}, ${cstFull(a.at)} CST${i.acknowledged.earlier ? ' (earlier)' : ''}`,
      'p',
      ' style="margin:0"',
    )}</div>`;
  }
  if (!i.form) return '';
  return (
    `<form method="post" id="ack-form"><input type="hidden" name="exp" value="${i.form.exp}"><input type="hidden" name="sig" value="${esc(i.form.sig)}">` +
    `<label for="by">确认人（${esc(mine)}）<span class="en" lang="en">Your name (${esc(bureauName(i, i.bureau, 'en'))})</span></label>` +
    `<input id="by" name="by" required maxlength="${ACK_BY_MAX}" autocomplete="name">` +
    `<button type="submit">确认收到 · Acknowledge</button></form>`
  );
}

function track(i: IncidentPageInput): string {
  const r = i.report;
  if (r.incident.kind !== 'river') return '';
  const zh = trackRows(r, i.registry, 'zh');
  const en = trackRows(r, i.registry, 'en');
  const head = [
    ['断面', 'Section'],
    ['城市', 'City'],
    ['km', 'km'],
    ['预计到达', 'Expected'],
    ['实际到达', 'Observed'],
    ['峰值', 'Peak'],
    ['恢复', 'Back'],
  ];
  // Times read the same in both languages (the heading says CST): one line each, a narrower table.
  const cell = (a: string, b: string): string =>
    `<td>${esc(a)}${b && b !== a && b !== `${a} CST` ? `<span class="en" lang="en">${esc(b)}</span>` : ''}</td>`;
  const rows = r.incident.sections.map((s, k) => {
    const z = zh[k];
    const e = en[k];
    if (!z || !e) return '';
    const cls = [s.observedAt !== null ? 'reached' : '', s.intake ? 'intake' : ''].filter(Boolean).join(' ');
    return (
      `<tr data-station="${esc(s.station)}"${cls ? ` class="${cls}"` : ''}>${cell(z.station, e.station)}${cell(z.city, e.city)}${cell(z.km, '')}` +
      `${cell(z.predicted, e.predicted)}${cell(z.observed, e.observed)}${cell(z.peak, '')}${cell(z.back, e.back)}</tr>`
    );
  });
  return (
    `<section><h2>污染团轨迹（北京时间）<span class="en" lang="en">Plume track (expected and observed arrival, CST)</span></h2>` +
    `<div id="track" role="region" aria-label="Plume track" tabindex="0"><table><thead><tr>${head.map(([a, b]) => `<th>${esc(a as string)}<span class="en" lang="en">${esc(b as string)}</span></th>`).join('')}</tr></thead>` +
    `<tbody>${rows.join('')}</tbody></table></div></section>`
  );
}

function timeline(i: IncidentPageInput): string {
  const entries = incidentTimeline(i.report.incident, i.record, i.registry, i.bureauNames);
  const items = entries.map(
    (e) =>
      `<li class="t-${e.kind}"><time>${esc(cstShort(e.at))}</time><div>${esc(e.text.zh)}<span class="en" lang="en">${esc(e.text.en)}</span></div></li>`,
  );
  return `<section><h2>事件经过（北京时间）<span class="en" lang="en">Timeline (China Standard Time)</span></h2><ol id="timeline">${items.join('')}</ol></section>`;
}

/** The intake line, one line per intake (an intake already hit, the next one ahead), Chinese then English. */
function intake(zh: string, en: string): string {
  if (!zh) return '';
  const z = zh.split('；');
  const e = en.split('; ');
  const lines =
    z.length === e.length
      ? z.map((x, k) => both(x, e[k] as string, 'p', ' style="margin:4px 0"'))
      : [both(zh, en, 'p', ' style="margin:0"')];
  return `<div id="intake">${lines.join('')}</div>`;
}

export function incidentPage(i: IncidentPageInput): string {
  const r = i.report;
  const inc = r.incident;
  const reg = i.registry;
  const sev = SEVERITY[i.record.info.severity] ?? SEVERITY.warning;
  const open = inc.status === 'open';
  const intakeZh = intakeLine(r, reg, 'zh', i.bureau, (w) => untilText(i.now, w, 'zh'));
  const intakeEn = intakeLine(r, reg, 'en', i.bureau, (w) => untilText(i.now, w, 'en'));
  const title = subject(r, reg, 'zh', i.bureau);
  const body = [
    `<div class="top"><span class="badge ${sev.css}">${esc(sev.zh)} ${esc(sev.en)}</span>` +
      `<span class="badge ${open ? 'st-open' : 'st-closed'}">${open ? '事件进行中 OPEN' : '事件已结束 CLOSED'}</span>` +
      `<span>${esc(bureauName(i, i.bureau, 'zh'))} · ${esc(bureauName(i, i.bureau, 'en'))}</span></div>`,
    `<h1>${esc(title)}</h1><p class="en" lang="en">${esc(subject(r, reg, 'en', i.bureau))}</p>`,
    intake(intakeZh, intakeEn),
    acks(i),
    facts(i),
    track(i),
    timeline(i),
    `<footer>${both('事件编号', 'Incident id', 'p', ' style="margin:0"')}<p style="margin:0 0 8px"><code>${esc(inc.id)}</code></p>` +
      both(`也可运行：tuojiang alerts ack ${inc.id} --bureau ${i.bureau}`, `Or run: tuojiang alerts ack ${inc.id} --bureau ${i.bureau}`) +
      both(`页面时间：${cstFull(i.now)}（北京时间）`, `Shown at ${cstFull(i.now)} CST`) +
      '</footer>',
  ];
  return (
    `<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">` +
    `<meta name="referrer" content="no-referrer"><title>${esc(title)}</title><style>${CSS}</style></head><body>${body.join('')}</body></html>`
  );
}
