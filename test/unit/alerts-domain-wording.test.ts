/**
 * The domain fixes of issue 10, item 7, as the bureaus read them: 超标倍数, total nitrogen at river
 * sections, no negative rise, 主要污染指标, class names instead of class numbers, and a local limit
 * stricter than the national one named as such.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderMessage } from '../../alerts/messages.js';
import type { NoticeItem, Recipient } from '../../alerts/notify/items.js';
import { noticeEventOf } from '../../alerts/notify/items.js';
import { renderNotice, type RenderContext } from '../../alerts/notify/render.js';
import { routeEvent } from '../../alerts/notify/routing.js';
import { exceedanceMultiple, severityOf } from '../../alerts/notify/severity.js';
import { observe, type AlertDetail, type RuleObservation } from '../../alerts/observe.js';
import { applyReadings, emptySeriesState, type SeriesState } from '../../alerts/series-engine.js';
import { loadThresholdsFile, stationProfile, type ThresholdSet } from '../../alerts/thresholds.js';
import type { Reading } from '../../lib/reading.js';
import type { Station } from '../../config/station-registry.js';
import { StationRegistry } from '../../config/station-registry.js';
import { alertEvent, shipped, testNotifyConfig } from '../helpers/notify-stack.js';

const registry = new StationRegistry(shipped.registry);
const thresholds = loadThresholdsFile(join(shipped.dir, 'thresholds.yaml'), shipped.registry);
const config = testNotifyConfig();
const HOUR = 3_600_000;
const T0 = Date.parse('2026-05-01T08:00:00+08:00');
const recipient: Recipient = { key: 'ziyang-x', bureau: 'ziyang', name: '值班室 Duty', email: 'duty@ziyang.test', list: 'duty' };
const ctx: RenderContext = {
  registry,
  bureau: { id: 'ziyang', name: { zh: '资阳市生态环境局', en: 'Ziyang Bureau' } },
  recipient,
  language: 'zh-en',
};

const st = (id: string): Station => registry.get(id)!;

function reading(station: Station, i: number, values: Record<string, number>): Reading {
  return {
    station: station.id,
    city: station.city,
    medium: station.kind,
    ts: T0 + i * HOUR,
    period: 'hour',
    values,
    flags: {},
    source: 'json',
  };
}

function obs(station: Station, values: Record<string, number>, set: ThresholdSet = thresholds): Record<string, RuleObservation> {
  return Object.fromEntries(
    observe(reading(station, 0, values), station, stationProfile(set, station), {}).observations.map((o) => [o.key, o]),
  );
}

function feed(station: Station, rows: Array<Record<string, number>>, set: ThresholdSet = thresholds) {
  let state: SeriesState = emptySeriesState();
  const events = [];
  for (const [i, values] of rows.entries()) {
    const r = applyReadings(state, [reading(station, i, values)], { station, thresholds: set, isMuted: () => false });
    state = r.state;
    events.push(...r.events);
  }
  return events;
}

function item(e: Parameters<typeof alertEvent>[0], extra: Partial<NoticeItem> = {}): NoticeItem {
  const ev = alertEvent(e);
  const s = st(e.station);
  const routing = routeEvent(s, ev.rule, registry, config.rivers, new Set(['chengdu', 'ziyang']));
  const route = routing.bureaus.find((b) => b.bureau === 'ziyang') ?? { roles: ['shared' as const] };
  return {
    id: ev.id,
    type: 'transition',
    alertId: ev.id,
    bureau: 'ziyang',
    roles: route.roles,
    severity: severityOf(ev, s, config.recipients.severity),
    event: noticeEventOf(ev),
    firstAt: ev.at,
    previous: null,
    peak: ev.value,
    downstream: routing.downstream,
    links: { grafana: 'http://g/d', ack: 'http://api/ack/x', cap: null },
    ...extra,
  };
}

const text = (i: NoticeItem): string => renderNotice([i], ctx).text;

function withStationLimits(id: string, limits: Record<string, number>): ThresholdSet {
  const c = thresholds.config;
  return {
    ...thresholds,
    version: `${thresholds.version}-${id}`,
    config: { ...c, stations: { ...c.stations, [id]: { ...c.stations[id], limits: { ...c.stations[id]?.limits, ...limits } } } },
  };
}

describe('超标倍数 = (value − limit) / limit', () => {
  it('9.87 × the limit is 8.87 times over it; no multiple for lower bounds and ranges', () => {
    expect(exceedanceMultiple(9.87, 1, 'max')).toBeCloseTo(8.87, 10);
    expect(exceedanceMultiple(51.3, 1, 'max')).toBeCloseTo(50.3, 10);
    expect(exceedanceMultiple(0.5, 1, 'max')).toBeCloseTo(-0.5, 10);
    expect(exceedanceMultiple(2, 5, 'min')).toBeNull();
    expect(exceedanceMultiple(9.5, 9, 'range')).toBeNull();
    expect(exceedanceMultiple(1, 0, 'max')).toBeNull();
    expect(exceedanceMultiple(null, 1, 'max')).toBeNull();
  });

  it('the notice says "超标 8.87 倍" and "8.87 times above the limit", never "为限值的 … 倍"', () => {
    const t = text(item({ station: 'hongyuan', kind: 'firing', at: T0, value: 9.87, limit: 1 }));
    expect(t).toContain('氨氮 9.87 mg/L，限值 ≤ 1 mg/L（GB3838-2002 III），超标 8.87 倍');
    expect(t).toContain('Ammonia nitrogen 9.87 mg/L, limit ≤ 1 mg/L (GB3838-2002 III), 8.87 times above the limit');
    expect(t).not.toContain('为限值的');
    expect(t).not.toContain('× the limit');
  });

  it('a value at the limit, or a resolved one, says no multiple', () => {
    expect(text(item({ station: 'hongyuan', kind: 'reminder', at: T0, value: 1, limit: 1 }))).not.toMatch(/超标 [\d.]+ 倍|times above/);
    expect(text(item({ station: 'hongyuan', kind: 'resolved', at: T0, value: 0.4, limit: 1 }))).not.toMatch(/超标 [\d.]+ 倍|times above/);
  });
});

describe('total nitrogen at a river section is a reference item (GB 3838 limits it for lakes and reservoirs)', () => {
  it('no limit observation for TN at a river section without an explicit TN limit, however high', () => {
    const o = obs(st('hongyuan'), { TN: 9, NH3N: 0.4 });
    expect(o['limit.TN']).toBeUndefined();
    expect(o['limit.NH3N']).toBeDefined();
    expect(
      feed(
        st('hongyuan'),
        Array.from({ length: 8 }, () => ({ TN: 9 })),
      ).filter((e) => e.key === 'limit.TN'),
    ).toEqual([]);
  });

  it('an explicit TN limit for the station makes it a limit like any other', () => {
    const set = withStationLimits('hongyuan', { TN: 1.5 });
    expect(obs(st('hongyuan'), { TN: 9 }, set)['limit.TN']).toMatchObject({ cond: 'breach', limit: 1.5, detail: { basis: 'thresholds' } });
    expect(
      feed(
        st('hongyuan'),
        Array.from({ length: 4 }, () => ({ TN: 9 })),
        set,
      )
        .filter((e) => e.key === 'limit.TN')
        .map((e) => e.kind),
    ).toEqual(['firing']);
  });

  it('at a lake or reservoir the national TN limit applies', () => {
    const lake: Station = { ...st('hongyuan'), id: 'lake-test', waterbody: 'lake' };
    expect(obs(lake, { TN: 9 })['limit.TN']).toMatchObject({ cond: 'breach', limit: 1, detail: { basis: 'GB3838-2002 III' } });
  });

  it('a TN limit alert at a river section under the national limit is never severe', () => {
    const detail: AlertDetail = { unit: 'mg/L', basis: 'GB3838-2002 III', limitKind: 'max', limitText: '≤ 1' };
    expect(
      severityOf(
        alertEvent({ station: 'hongyuan', kind: 'firing', at: T0, parameter: 'TN', value: 9, limit: 1, detail }),
        st('hongyuan'),
        config.recipients.severity,
      ),
    ).toBe('warning');
    // at the Shiqiao intake too (an intake makes every other pollution alert severe)
    expect(
      severityOf(
        alertEvent({ station: 'shiqiao', kind: 'firing', at: T0, parameter: 'TN', value: 9, limit: 1, detail }),
        st('shiqiao'),
        config.recipients.severity,
      ),
    ).toBe('warning');
    // explicitly configured: the ordinary policy
    const explicit: AlertDetail = { ...detail, basis: 'thresholds', limitText: '≤ 1.5' };
    expect(
      severityOf(
        alertEvent({ station: 'hongyuan', kind: 'firing', at: T0, parameter: 'TN', value: 9, limit: 1.5, detail: explicit }),
        st('hongyuan'),
        config.recipients.severity,
      ),
    ).toBe('severe');
  });
});

describe('the rate rule never reports a fall as a rise', () => {
  const rateDetail: AlertDetail = { unit: 'mg/L/h', basis: 'thresholds', limitText: '≤ 0.5/h' };
  const line = (kind: 'firing' | 'reminder' | 'resolved', value: number): string =>
    renderMessage({
      station: st('hongyuan'),
      rule: 'rate',
      parameter: 'NH3N',
      kind,
      at: T0,
      value,
      limit: 0.5,
      detail: { ...rateDetail, ratePerHour: value },
      catchUp: false,
      muted: false,
      thresholdVersion: '1',
    });

  it('firing: the rise', () => {
    expect(line('firing', 0.8)).toContain('氨氮 上升速率 0.8 mg/L/h，限值 0.5');
    expect(line('firing', 0.8)).toContain('Ammonia nitrogen rising at 0.8 mg/L/h, limit 0.5');
  });

  it('resolved with a slower rise: "上升速率回落至 … / rise slowed to …"', () => {
    expect(line('resolved', 0.2)).toContain('氨氮 上升速率回落至 0.2 mg/L/h');
    expect(line('resolved', 0.2)).toContain('Ammonia nitrogen rise slowed to 0.2 mg/L/h');
  });

  it('a falling or flat value is "no longer rising", with no negative rise anywhere', () => {
    for (const kind of ['resolved', 'reminder'] as const) {
      for (const v of [-0.3, 0]) {
        const l = line(kind, v);
        expect(l, `${kind} ${v}`).toContain('氨氮 不再上升');
        expect(l, `${kind} ${v}`).toContain('Ammonia nitrogen no longer rising');
        expect(l, `${kind} ${v}`).not.toMatch(/上升速率 -|rising at -|slowed to -|-0\.3/);
      }
    }
    expect(line('resolved', -0.3)).toContain('下降 0.3 mg/L/h');
    expect(line('resolved', -0.3)).toContain('falling at 0.3 mg/L/h');
  });

  it('the e-mail says the same', () => {
    const slowed = text(item({ station: 'hongyuan', kind: 'resolved', at: T0, rule: 'rate', value: 0.2, limit: 0.5, detail: rateDetail }));
    expect(slowed).toContain('氨氮 上升速率回落至 0.2 mg/L/h，限值 0.5 mg/L/h');
    expect(slowed).toContain('Ammonia nitrogen rise slowed to 0.2 mg/L/h, limit 0.5 mg/L/h');
    const falling = text(
      item({ station: 'hongyuan', kind: 'resolved', at: T0, rule: 'rate', value: -0.3, limit: 0.5, detail: rateDetail }),
    );
    expect(falling).toContain('氨氮 不再上升（下降 0.3 mg/L/h），限值 0.5 mg/L/h');
    expect(falling).toContain('Ammonia nitrogen no longer rising (falling at 0.3 mg/L/h), limit 0.5 mg/L/h');
    expect(falling).not.toMatch(/上升速率 -|rising at -/);
  });
});

describe('water class: 主要污染指标, and class names where a class belongs', () => {
  const classDetail = (cls: 'IV' | 'V' | '劣V' | 'II'): AlertDetail => ({ cls, target: 'III', limiting: ['NH3N'], basis: 'GB3838-2002' });
  const classIdx = { II: 2, IV: 4, V: 5, 劣V: 6 } as const;

  it('the annotation line and the e-mail say 主要污染指标, not 定类因子', () => {
    const l = renderMessage({
      station: st('hongyuan'),
      rule: 'water_class',
      parameter: 'class',
      kind: 'firing',
      at: T0,
      value: 5,
      limit: 3,
      detail: classDetail('V'),
      catchUp: false,
      muted: false,
      thresholdVersion: '1',
    });
    expect(l).toContain('水质 V 类，目标 III 类，主要污染指标 NH3N');
    expect(l).toContain('main pollutants NH3N');
    expect(l).not.toContain('定类因子');
    const t = text(
      item({
        station: 'hongyuan',
        kind: 'firing',
        at: T0,
        rule: 'water_class',
        parameter: 'class',
        value: 5,
        limit: 3,
        detail: classDetail('V'),
      }),
    );
    expect(t).toContain('水质 V 类（中度污染），目标 III 类，主要污染指标 氨氮');
    expect(t).toContain('main pollutants Ammonia nitrogen');
    expect(t).not.toContain('定类因子');
  });

  it('a class back within its target names no pollutant', () => {
    const l = renderMessage({
      station: st('hongyuan'),
      rule: 'water_class',
      parameter: 'class',
      kind: 'resolved',
      at: T0,
      value: 2,
      limit: 3,
      detail: classDetail('II'),
      catchUp: false,
      muted: false,
      thresholdVersion: '1',
    });
    expect(l).toContain('水质 II 类，目标 III 类');
    expect(l).not.toContain('主要污染指标');
  });

  it('what changed since the last notice is in class names, never class numbers', () => {
    const at = T0 + 4 * HOUR;
    const worse = item(
      {
        station: 'hongyuan',
        kind: 'reminder',
        at,
        rule: 'water_class',
        parameter: 'class',
        value: classIdx['劣V'],
        limit: 3,
        detail: classDetail('劣V'),
      },
      {
        firstAt: T0,
        previous: { eventId: 'x', kind: 'firing', at: T0, value: classIdx.IV, limit: 3 },
      },
    );
    const t = text(worse);
    expect(t).toContain('较上次通知（2026-05-01 08:00）：由 IV 类变为 劣V 类');
    expect(t).toContain('since the last notice (2026-05-01 08:00): from class IV to class 劣V');
    const same = text(
      item(
        {
          station: 'hongyuan',
          kind: 'reminder',
          at,
          rule: 'water_class',
          parameter: 'class',
          value: classIdx.V,
          limit: 3,
          detail: classDetail('V'),
        },
        {
          firstAt: T0,
          previous: { eventId: 'x', kind: 'firing', at: T0, value: classIdx.V, limit: 3 },
        },
      ),
    );
    expect(same).toContain('较上次通知（2026-05-01 08:00）：持平，仍为 V 类');
    expect(same).toContain('since the last notice (2026-05-01 08:00): unchanged at class V');
    for (const body of [t, same]) {
      expect(body).not.toMatch(/（[^）]*，\s*[1-6]\s*）/);
      expect(body).not.toMatch(/\(\S+ \S+, [1-6] \)/);
    }
  });
});

describe('a local limit stricter than the national one is named as such', () => {
  it('the observation carries the national limit of the target class', () => {
    const o = obs(st('shiqiao'), { NH3N: 0.9 })['limit.NH3N'];
    expect(o).toMatchObject({
      cond: 'breach',
      limit: 0.8,
      detail: {
        basis: 'thresholds',
        limitText: '≤ 0.8',
        nationalLimit: 1,
        nationalLimitText: '≤ 1',
        nationalBasis: 'GB3838-2002 III',
        nationalClass: 'III',
      },
    });
    // the national limit itself: nothing to add
    expect(obs(st('hongyuan'), { NH3N: 1.3 })['limit.NH3N']?.detail.nationalLimit).toBeUndefined();
    // a local limit looser than the national one (an approved exception) is not "stricter"
    expect(
      obs(st('hongyuan'), { NH3N: 1.3 }, withStationLimits('hongyuan', { NH3N: 1.2 }))['limit.NH3N']?.detail.nationalLimit,
    ).toBeUndefined();
  });

  it('the annotation line and the e-mail name both limits', () => {
    const [fired] = feed(st('shiqiao'), [{ NH3N: 0.9 }, { NH3N: 0.9 }, { NH3N: 0.9 }]).filter((e) => e.key === 'limit.NH3N');
    expect(fired?.message).toContain('氨氮 0.9 mg/L，本地限值 ≤ 0.8 mg/L，国家 III 类 ≤ 1 mg/L（GB3838-2002）');
    expect(fired?.message).toContain('Ammonia nitrogen 0.9 mg/L, local limit ≤ 0.8 mg/L (national class III: ≤ 1 mg/L, GB3838-2002)');
    const t = text(item({ station: 'shiqiao', kind: 'firing', at: T0, value: 1.6, limit: 0.8, detail: fired!.detail }));
    expect(t).toContain('氨氮 1.6 mg/L，本地限值 ≤ 0.8 mg/L，国家 III 类 ≤ 1 mg/L（GB3838-2002），超标 1 倍');
    expect(t).toContain(
      'Ammonia nitrogen 1.6 mg/L, local limit ≤ 0.8 mg/L (national class III: ≤ 1 mg/L, GB3838-2002), 1 times above the limit',
    );
  });
});
