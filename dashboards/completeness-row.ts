/**
 * Data completeness as the assessment dashboards show it: valid readings as a share of those
 * expected from each station's reporting interval, per day and per month, and the stations below
 * the target over the whole range (the `completeness_target` variable).
 */
import { COMPLETENESS, belowTarget, points } from './aggregate-queries.js';
import type { Cond } from './influxql.js';

/** The last 92 days of the range: the daily timeline's window. */
const LAST_QUARTER: Cond = 'time >= ${__to}ms - 92d';
import type { CustomVariable, FieldOverride, ThresholdStep } from './model.js';
import { customVariable, stateTimeline, table, target, type Grid } from './panels.js';

export const COMPLETENESS_STEPS: ThresholdStep[] = [
  { value: null, color: '#E02020' },
  { value: 75, color: '#FF8C00' },
  { value: 90, color: '#22B14C' },
];

export function completenessTargetVariable(): CustomVariable {
  return customVariable(
    'completeness_target',
    'Completeness target 完整率目标 (%)',
    ['90', '80', '75'].map((v) => ({ value: v, text: `${v} %` })),
    {
      current: '90',
      description: 'Stations whose valid readings over the time range fall below this share of those expected are listed.',
    },
  );
}

export interface CompletenessRowOptions {
  daily: string;
  monthly: string;
  where: Cond[];
  /** Display names of the station ids (value mapping and series names). */
  names: FieldOverride[];
  stationMapping: FieldOverride;
  what: string;
}

export function completenessRow(grid: Grid, o: CompletenessRowOptions): void {
  const about = `Valid readings (values flagged N, one per reporting slot of the station's report_interval_s) as a share of those expected, ${o.what}. Today and this month count only the hours begun.`;
  grid.row('Data completeness 数据完整率', () => {
    grid.add(
      stateTimeline({
        title: 'Daily completeness 日数据完整率 (%), last 3 months of the range',
        description: `${about} Days of the last 92 days of the range (a year of days for every station is more cells than a screen shows; the months are in the table below).`,
        targets: [
          target(
            'D',
            points(o.daily, [COMPLETENESS], [...o.where, LAST_QUARTER]),
            { columns: ['completeness'], tags: ['station'], mayBeEmpty: true },
            { alias: '$tag_station' },
          ),
        ],
        unit: 'percent',
        decimals: 0,
        thresholds: COMPLETENESS_STEPS,
        overrides: o.names,
      }),
      24,
      8,
    );
    grid.add(
      table({
        title: 'Monthly completeness 月数据完整率 (%)',
        description: about,
        targets: [
          target(
            'M',
            points(o.monthly, [COMPLETENESS, 'readings', 'expected'], o.where),
            { columns: ['completeness', 'readings', 'expected'], tags: ['station'], mayBeEmpty: true },
            { format: 'table' },
          ),
        ],
        decimals: 1,
        thresholds: COMPLETENESS_STEPS,
        overrides: [
          o.stationMapping,
          {
            matcher: { id: 'byName', options: 'completeness' },
            properties: [
              { id: 'unit', value: 'percent' },
              { id: 'custom.cellOptions', value: { type: 'color-background' } },
            ],
          },
          { matcher: { id: 'byName', options: 'Time' }, properties: [{ id: 'unit', value: 'time: YYYY-MM' }] },
        ],
        sortBy: [{ displayName: 'Time', desc: true }],
      }),
      12,
      9,
    );
    grid.add(
      table({
        title: 'Stations below target 低于目标的站点 (< $completeness_target %, whole range)',
        description:
          "Each station whose valid readings in the months of the time range are below the target share of those expected (a month's expected readings run to the hour the aggregates last looked at it, at least hourly: a station that stopped sending keeps falling). Empty: every station met it.",
        targets: [
          target(
            'B',
            belowTarget(o.monthly, o.where),
            { columns: ['completeness'], tags: ['station'], mayBeEmpty: true },
            { format: 'table' },
          ),
        ],
        unit: 'percent',
        decimals: 1,
        thresholds: COMPLETENESS_STEPS,
        overrides: [
          o.stationMapping,
          {
            matcher: { id: 'byName', options: 'completeness' },
            properties: [{ id: 'custom.cellOptions', value: { type: 'color-background' } }],
          },
        ],
        sortBy: [{ displayName: 'completeness', desc: false }],
      }),
      12,
      9,
    );
  });
}
