// Imported first on purpose: the table must load on its own, before the thresholds schema that is
// built from it (an import cycle would show here as a ReferenceError).
import { RULE_BY_NAME, RULES, ruleNamed, type RuleName } from '../../alerts/rules/index.js';
import { describe, expect, it } from 'vitest';
import { renderMessage } from '../../alerts/messages.js';
import { routeEvent } from '../../alerts/notify/routing.js';
import { severityOf } from '../../alerts/notify/severity.js';
import type { EventKind } from '../../alerts/state-machine.js';
import { ThresholdsFileSchema } from '../../alerts/thresholds-schema.js';
import { StationRegistry } from '../../config/station-registry.js';
import { shipped, testNotifyConfig } from '../helpers/notify-stack.js';

const registry = new StationRegistry(shipped.registry);
const config = testNotifyConfig();
const NAMES: RuleName[] = ['limit', 'rate', 'water_class', 'aqi', 'equipment', 'silence'];
const KINDS: EventKind[] = ['firing', 'reminder', 'resolved'];

/** A plausible event of each rule, for the wording and severity. */
const SAMPLE: Record<RuleName, { station: string; parameter: string; value: number; limit: number; detail: Record<string, unknown> }> = {
  limit: {
    station: 'hongyuan',
    parameter: 'NH3N',
    value: 2.4,
    limit: 1,
    detail: { unit: 'mg/L', basis: 'GB3838-2002 III', limitKind: 'max', limitText: '≤ 1' },
  },
  rate: {
    station: 'hongyuan',
    parameter: 'NH3N',
    value: 0.8,
    limit: 0.5,
    detail: { unit: 'mg/L/h', basis: 'thresholds', ratePerHour: 0.8, limitText: '≤ 0.5/h' },
  },
  water_class: {
    station: 'hongyuan',
    parameter: 'class',
    value: 5,
    limit: 3,
    detail: { cls: 'V', target: 'III', limiting: ['NH3N'], basis: 'GB3838-2002' },
  },
  aqi: {
    station: 'ziyang-yanjiang',
    parameter: 'AQI',
    value: 160,
    limit: 101,
    detail: {
      aqiStandard: 'HJ633-2026',
      category: '中度污染',
      categoryEn: 'Moderately polluted',
      primary: ['PM2_5'],
      limitText: 'AQI < 101',
    },
  },
  equipment: { station: 'hongyuan', parameter: 'equipment', value: 1, limit: 0, detail: { faults: { NH3N: 'D' } } },
  silence: {
    station: 'hongyuan',
    parameter: 'silence',
    value: 45,
    limit: 30,
    detail: { lastSeenAt: Date.parse('2026-05-01T00:00:00+08:00') },
  },
};

describe('the rules table is the single source of the rules', () => {
  it('lists every rule once, in observation order, and the by-name map agrees', () => {
    expect(RULES.map((r) => r.name)).toEqual(NAMES);
    expect(Object.keys(RULE_BY_NAME).sort()).toEqual([...NAMES].sort());
    for (const n of NAMES) expect(ruleNamed(n).name).toBe(n);
  });

  it('the thresholds schema has exactly the rules of the table, each with its own defaults', () => {
    const parsed = ThresholdsFileSchema.parse({ version: 1 });
    expect(Object.keys(parsed.defaults.rules)).toEqual(RULES.map((r) => r.name));
    for (const r of RULES) expect(parsed.defaults.rules[r.name], r.name).toEqual(r.config.schema.parse(r.config.defaults));
  });

  it('the thresholds schema refuses a rule the table does not have, in defaults and in overrides', () => {
    const bad = ThresholdsFileSchema.safeParse({ version: 1, defaults: { rules: { flow: { enabled: true } } } });
    expect(bad.success).toBe(false);
    expect(bad.error?.issues[0]?.path).toEqual(['defaults', 'rules']);
    expect(ThresholdsFileSchema.safeParse({ version: 1, stations: { hongyuan: { rules: { flow: {} } } } }).success).toBe(false);
  });

  it("a partial rule in the defaults keeps the rule's other defaults", () => {
    const parsed = ThresholdsFileSchema.parse({ version: 1, defaults: { rules: { rate: { per_hour: { NH3N: 1 } } } } });
    expect(parsed.defaults.rules.rate).toEqual({ ...RULE_BY_NAME.rate.config.defaults, per_hour: { NH3N: 1 } });
  });

  it('every rule has wording for every event kind, in both languages', () => {
    for (const r of RULES) {
      const s = SAMPLE[r.name];
      for (const kind of KINDS) {
        const w = r.wording({ parameter: s.parameter, kind, value: s.value, limit: s.limit, detail: s.detail });
        for (const text of [w.zh, w.en]) {
          expect(text.trim().length, `${r.name} ${kind}`).toBeGreaterThan(0);
          expect(text, `${r.name} ${kind}`).not.toMatch(/undefined|NaN|null|\[object/);
        }
        expect(w.zh, `${r.name} ${kind}`).not.toBe(w.en);
        // The annotation line is made from the same words.
        const line = renderMessage({
          station: registry.get(s.station)!,
          rule: r.name,
          kind,
          at: 0,
          catchUp: false,
          muted: false,
          thresholdVersion: '1',
          parameter: s.parameter,
          value: s.value,
          limit: s.limit,
          detail: s.detail,
        });
        expect(line).toContain(w.zh);
        expect(line).toContain(w.en);
      }
    }
  });

  it('every rule has a CAP event and a severity; severityOf asks the rule', () => {
    for (const r of RULES) {
      expect(r.cap.event.zh.length, r.name).toBeGreaterThan(0);
      expect(r.cap.event.en.length, r.name).toBeGreaterThan(0);
      const s = SAMPLE[r.name];
      const e = { kind: 'firing' as const, rule: r.name, parameter: s.parameter, value: s.value, limit: s.limit, detail: s.detail };
      const station = registry.get(s.station)!;
      expect(severityOf(e, station, config.recipients.severity)).toBe(r.severity(e, station, config.recipients.severity));
      expect(['severe', 'warning', 'info']).toContain(r.severity(e, station, config.recipients.severity));
    }
  });

  it('the rules that travel downstream are exactly the ones routing sends down the river', () => {
    const hongyuan = registry.get('hongyuan')!;
    for (const r of RULES) {
      const routing = routeEvent(hongyuan, r.name, registry, config.rivers, new Set(['chengdu', 'ziyang']));
      expect(routing.downstream.length > 0, r.name).toBe(r.travelsDownstream);
    }
    expect(RULES.filter((r) => r.travelsDownstream).map((r) => r.name)).toEqual(['limit', 'rate', 'water_class']);
  });
});
