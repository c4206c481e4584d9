/**
 * What the reports say, rendered from engine output on the shipped configuration: the subject
 * carries the news (pollutant, front, peak and 超标倍数, the reader's next intake window), the body
 * leads with the time to the next intake, a locally stricter limit is named as such.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { applyEvidence, familyOf, scopeOf, type EngineContext } from '../../alerts/incidents/engine.js';
import { renderReport, type ReportItem } from '../../alerts/incidents/render-report.js';
import { emptyScope, type Evidence, type Report } from '../../alerts/incidents/types.js';
import { intakeLine, overText, subject } from '../../alerts/incidents/wording.js';
import { loadNotifyConfig } from '../../alerts/notify/config.js';
import { loadConfig } from '../../config/load.js';
import { StationRegistry } from '../../config/station-registry.js';

const config = loadConfig();
const registry = new StationRegistry(config.registry);
const notify = loadNotifyConfig(config.dir, config.registry);
const ctx: EngineContext = { registry, rivers: notify.rivers, policy: notify.recipients.incidents };
const H = 3_600_000;
const T0 = Date.UTC(2026, 11, 3, 4, 0); // 12:00 CST

function limitEv(station: string, at: number, value: number, extra: Partial<Evidence['detail']> = {}, limit = 1): Evidence {
  return {
    id: `ev.${station}.${at}`,
    station,
    city: registry.get(station)?.city ?? '',
    rule: 'limit',
    parameter: 'NH3N',
    family: familyOf(ctx.policy, 'NH3N'),
    kind: 'firing',
    at,
    value,
    limit,
    breachSince: at,
    detail: { unit: 'mg/L', limitKind: 'max', basis: 'GB3838-2002 III', limitText: `≤ ${limit}`, ...extra },
  };
}

function reports(evs: Evidence[]): Report[] {
  let st = emptyScope();
  const out: Report[] = [];
  for (const e of evs) {
    const s = registry.get(e.station);
    if (!s) throw new Error(e.station);
    const r = applyEvidence(st, scopeOf(s, e.family), s, e, ctx);
    st = r.state;
    out.push(...r.reports);
  }
  return out;
}

describe('incident report wording', () => {
  // Built per test (engine code outside a test is "static" to StrykerJS: docs/testing.md).
  let initial: Report;
  let followup: Report;
  beforeEach(() => {
    [initial, followup] = reports([
      limitEv('hongyuan', T0, 9.87),
      limitEv(
        'shiqiao',
        T0 + 12 * H,
        51.3,
        { nationalLimit: 1, nationalLimitText: '≤ 1', nationalBasis: 'GB3838-2002 III', nationalClass: 'III', limitText: '≤ 0.8' },
        0.8,
      ),
    ]) as [Report, Report];
  });

  it('超标倍数 is (value − limit) / limit: 9.87 against 1 is 超标 8.87 倍', () => {
    expect(overText(9.87, 1, 'max', 'zh')).toBe('超标 8.87 倍');
    expect(overText(9.87, 1, 'max', 'en')).toBe('9.87 × the limit');
    expect(overText(1, 1, 'max', 'zh')).toBe('');
    expect(subject(initial, registry, 'zh')).toContain('峰值 9.87 mg/L 超标 8.87 倍');
  });

  it('the subject leads with the kind, river and pollutant, then where the front is', () => {
    expect(subject(initial, registry, 'zh')).toMatch(/^【初报】沱江氨氮污染 宏缘 峰值/);
    // The news first (the intake hit), then the peak — named for where it was when that is not the front.
    expect(subject(followup, registry, 'zh')).toMatch(/^【续报】沱江氨氮污染 宏缘→石桥 石桥水厂取水口受影响 峰值 51.3 mg\/L 超标 63.1 倍/);
    expect(subject(followup, registry, 'en')).toMatch(
      /^\[Follow-up\] Tuojiang ammonia nitrogen pollution: Hongyuan→Shiqiao water intake; Shiqiao water intake affected; peak 51.3 mg\/L \(64.1 × the limit\); Ziyang city water intake expected /,
    );
  });

  it("names the reader's own next intake with its window: Ziyang city for Ziyang, before the front gets there", () => {
    expect(subject(initial, registry, 'zh', 'ziyang')).toMatch(/资阳城区取水口预计 \d\d-\d\d \d\d:\d\d–/);
    expect(subject(initial, registry, 'zh', 'chengdu')).toMatch(/石桥水厂取水口预计 /);
    const line = intakeLine(initial, registry, 'zh', 'ziyang');
    // The other city's intake: its owner, not whom to call there (that is for its own bureau).
    expect(line).toMatch(/^下一取水口 石桥水厂取水口：预计 .* 到达（约 \d+–\d+ 小时后）（成都市）；/);
    expect(line).toMatch(/贵市取水口 资阳城区取水口：预计 .*（资阳市，联系 /);
    expect(intakeLine(initial, registry, 'zh', 'chengdu')).toMatch(/^贵市取水口 石桥水厂取水口：预计 .*（成都市，联系 石桥水厂值班室/);
  });

  it('an intake the plume reached is said to be affected', () => {
    expect(intakeLine(followup, registry, 'zh', 'chengdu')).toContain('石桥水厂取水口正受影响');
  });

  it('the body leads with the intake, names the local limit as local, and keeps Chinese before English', () => {
    const item: ReportItem = {
      id: followup.id,
      type: 'report',
      alertId: followup.incidentId,
      bureau: 'ziyang',
      roles: [],
      severity: 'severe',
      report: followup,
      acks: { chengdu: { by: '王工', at: T0 + 13 * H, via: 'link' } },
      firstAt: T0,
      links: { grafana: 'http://g', ack: 'http://a', cap: 'http://c' },
    };
    const out = renderReport(item, {
      registry,
      language: 'zh-en',
      recipient: { key: 'k', bureau: 'ziyang', name: '值班室', email: 'd@z.example', list: 'duty' },
      bureau: { id: 'ziyang', name: { zh: '资阳市生态环境局', en: 'Ziyang bureau' } },
      bureauNames: { chengdu: { zh: '成都市生态环境局', en: 'Chengdu bureau' }, ziyang: { zh: '资阳市生态环境局', en: 'Ziyang bureau' } },
    });
    const lines = out.text.split('\n');
    const summary = lines.indexOf('要点：');
    expect(lines[summary + 1]).toMatch(/^ {2}- 贵市取水口 资阳城区取水口：预计/);
    expect(out.text).toContain('石桥 本地限值 ≤ 0.8 mg/L，国家 III 类 ≤ 1 mg/L');
    expect(out.text).toContain('成都市生态环境局已确认（王工');
    expect(out.text).toContain('资阳市生态环境局未确认');
    expect(out.text.indexOf('要点')).toBeLessThan(out.text.indexOf('Summary'));
    expect(out.html).toContain('<table');
    expect(out.html).not.toMatch(/<script/i);
  });
});
