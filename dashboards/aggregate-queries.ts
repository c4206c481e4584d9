/**
 * Queries on the aggregates the pipeline writes (aggregates/, decision 0013): wherever a panel
 * shows a standard's value — a water class, an AQI, a monthly assessment — it reads the hourly,
 * daily, monthly or yearly point computed by lib/standards, never a bucket of raw readings.
 */
import { aggregateMeasurement, cityMeasurement } from '../aggregates/measurements.js';
import { LAST_DAY_OF_RANGE, TIME_FILTER, call, ident, type Cond, type SelectSpec } from './influxql.js';

export const AGG = {
  waterHourly: aggregateMeasurement('water', 'hour'),
  waterDaily: aggregateMeasurement('water', 'day'),
  waterMonthly: aggregateMeasurement('water', 'month'),
  waterYearly: aggregateMeasurement('water', 'year'),
  airHourly: aggregateMeasurement('air', 'hour'),
  airDaily: aggregateMeasurement('air', 'day'),
  airMonthly: aggregateMeasurement('air', 'month'),
  airYearly: aggregateMeasurement('air', 'year'),
  cityHourly: cityMeasurement('hour'),
  cityDaily: cityMeasurement('day'),
  cityMonthly: cityMeasurement('month'),
  cityYearly: cityMeasurement('year'),
} as const;

/** A field under another name, or an expression of fields (`expr` given, `field` names the result). */
export interface Column {
  field: string;
  as?: string;
  expr?: string;
}

/** The stored points themselves, one series per tag value (no bucketing: an hour is an hour). */
export function points(
  measurement: string,
  columns: ReadonlyArray<string | Column>,
  where: Cond[],
  tag: 'station' | 'city' = 'station',
): SelectSpec {
  return {
    columns: columns.map((c) =>
      typeof c === 'string' ? { expr: ident(c), as: c } : { expr: c.expr ?? ident(c.field), as: c.as ?? c.field },
    ),
    from: measurement,
    where: [...where, TIME_FILTER],
    groupBy: { tags: [tag] },
  };
}

/** The latest point's value of one field in the last day of the range, per tag value (maps, gauges). */
export function latest(measurement: string, field: string, where: Cond[], tag: 'station' | 'city' = 'station'): SelectSpec {
  return {
    columns: [{ expr: call('last', field), as: field }],
    from: measurement,
    where: [...where, LAST_DAY_OF_RANGE, TIME_FILTER],
    groupBy: { tags: [tag] },
  };
}

/** Valid readings as a share of expected, in %, per point. */
export const COMPLETENESS: Column = { field: 'completeness', expr: `${ident('readings')} * 100 / ${ident('expected')}` };

/**
 * Stations whose completeness over the months of the range is below the `completeness_target`
 * variable. Months, not days: a day a station sent nothing in has no daily point before the
 * aggregates' hourly round began, but its month counts it as expected.
 */
export function belowTarget(monthly: string, where: Cond[], tag: 'station' | 'city' = 'station'): SelectSpec {
  return {
    columns: [{ expr: ident('completeness'), as: 'completeness' }],
    from: {
      columns: [{ expr: `${call('sum', 'readings')} * 100 / ${call('sum', 'expected')}`, as: 'completeness' }],
      from: monthly,
      where: [...where, TIME_FILTER],
      groupBy: { tags: [tag] },
    },
    where: [`${ident('completeness')} < $completeness_target`],
    groupBy: { tags: [tag] },
  };
}
