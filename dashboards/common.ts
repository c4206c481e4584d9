/**
 * Pieces several dashboards share: the period variable, units and titles of parameters, and the
 * limit-line targets.
 */
import { PARAMETER_BY_KEY, type ParameterInfo } from '../lib/parameters.js';
import type { Period } from '../lib/reading.js';
import type { Station } from '../config/station-registry.js';
import type { BuildContext } from './context.js';
import { INTERVAL, TIME_FILTER, call, num, or, tagIn, tagIsVar, varIs, type Cond } from './influxql.js';
import { PERIODS, limitGroups, limitText } from './limits.js';
import type { CustomVariable } from './model.js';
import { customVariable, target, type PendingTarget } from './panels.js';

export const PERIOD_TEXT: Readonly<Record<Period, string>> = {
  rt: 'rt 实时 real-time',
  min: 'min 分钟 minute means',
  hour: 'hour 小时 hourly means',
  day: 'day 日 daily means',
};

export function periodVariable(current: Period = 'rt'): CustomVariable {
  return customVariable(
    'period',
    'Period 数据类型',
    PERIODS.map((p) => ({ value: p, text: PERIOD_TEXT[p] })),
    {
      current,
      description: 'Which readings: real-time values (JSON, HJ 212 CN 2011) or the minute/hour/day means (CN 2051/2061/2031).',
    },
  );
}

export const PERIOD_IS_VAR: Cond = tagIsVar('period', 'period');

export function param(key: string): ParameterInfo {
  const p = PARAMETER_BY_KEY.get(key);
  if (!p) throw new Error(`unknown parameter ${key}`);
  return p;
}

/** Grafana unit for a catalogue unit (custom suffix where Grafana has none, e.g. mg/L). */
export function grafanaUnit(key: string): string {
  const u = param(key).unit;
  if (u === '°C') return 'celsius';
  if (u === 'pH') return 'none';
  return `suffix: ${u}`;
}

/** "氨氮 Ammonia nitrogen (NH3N, mg/L)"; names said once where they coincide ("pH"). */
export function paramTitle(key: string): string {
  const p = param(key);
  const names = p.nameZh === p.nameEn ? p.nameZh : `${p.nameZh} ${p.nameEn}`;
  const extra = [...(key !== p.nameEn && key !== p.nameZh ? [key] : []), ...(p.unit !== 'pH' ? [p.unit] : [])];
  return extra.length > 0 ? `${names} (${extra.join(', ')})` : names;
}

export interface LimitTargetOptions {
  /**
   * The hourly aggregates of the medium: the line is placed on their points (`mean("expected")`,
   * which every hourly point has), one per hour, instead of scanning the raw readings a second time.
   */
  measurement: string;
  /** Conditions every limit target shares with the data target (selected station …), not the period. */
  scope: Cond[];
  /** The stations the panel can show (the limit groups are formed over these). */
  stations: readonly Station[];
  periods?: readonly Period[];
  /** Conditions switching the targets on, e.g. varIs('parameter', 'NH3N'), with the variable values they need. */
  gate?: { cond: Cond; when: Record<string, string[]> };
  /** The variables choosing station and period, so the tests know when a group applies. */
  stationVariable?: string;
  refIdPrefix?: string;
}

/**
 * The alert limit of `key` drawn as a line: one target per group of stations and periods sharing a
 * limit, each returning the limit wherever the parameter has data (`mean(x) * 0 + limit`) and only
 * while the chosen station and period belong to the group.
 */
export function limitTargets(ctx: BuildContext, key: string, o: LimitTargetOptions): PendingTarget[] {
  const periods = o.periods ?? PERIODS;
  const groups = limitGroups(ctx, key, o.stations, periods);
  return groups.map((g, i) => {
    const conds: Cond[] = [...o.scope];
    if (g.stations.length < o.stations.length) conds.push(tagIn('station', g.stations));
    // The aggregates have no period tag: the chosen period switches the group's line on or off.
    if (g.periods.length < periods.length) conds.push(or(...g.periods.map((p) => varIs('period', p))));
    if (o.gate) conds.push(o.gate.cond);
    conds.push(TIME_FILTER);
    const zero = `${call('mean', 'expected')} * 0`;
    const columns =
      g.limit.kind === 'range'
        ? [
            { expr: `${zero} + ${num(g.limit.min)}`, as: 'limit_min' },
            { expr: `${zero} + ${num(g.limit.max)}`, as: 'limit_max' },
          ]
        : [{ expr: `${zero} + ${num(g.limit.value)}`, as: 'limit' }];
    const when: Record<string, string[]> = { ...(o.gate?.when ?? {}), period: g.periods };
    if (o.stationVariable) when[o.stationVariable] = g.stations;
    return target(
      `${o.refIdPrefix ?? 'L'}${i + 1}`,
      { columns, from: o.measurement, where: conds, groupBy: { time: INTERVAL }, fill: 'none' },
      { columns: columns.map((c) => c.as), tags: [], when },
      { alias: `$col ${limitText(g.limit)} (${g.basis})` },
    );
  });
}
