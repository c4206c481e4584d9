/**
 * "Latest value" tables that never mix ages: each parameter's latest value is its own query, so it
 * keeps its own time; Grafana's merge puts the values of one report (same station, same time) on
 * one row and an older value on a row of its own. The time is shown as the value's age, and a
 * row whose values are older than STALE_AFTER before the end of the time range is greyed out:
 * the `current` column, 1 where the value lies inside that window, comes from InfluxDB (queries
 * bounded by `${__to}`), not from the browser's clock.
 */
import { NO_DATA_COLOR } from './colors.js';
import { STALE_AFTER } from './freshness.js';
import { TIME_FILTER, ident, type Cond } from './influxql.js';
import type { FieldOverride } from './model.js';
import { byName, table, target, type PanelDraft, type PendingTarget, type QueryExpectation } from './panels.js';

export const CURRENT_COLUMN = 'current';
/** The freshness window: the last STALE_AFTER of the dashboard's time range. */
export const FRESH_WINDOW: Cond = `time >= \${__to}ms - ${STALE_AFTER}`;

export interface LatestTableOptions {
  title: string;
  description: string;
  measurement: string;
  params: readonly string[];
  where: Cond[];
  tags: readonly string[];
  series: NonNullable<QueryExpectation['series']>;
  overrides: FieldOverride[];
}

export function latestTable(o: LatestTableOptions): PanelDraft {
  const groupBy = { tags: o.tags };
  const values: PendingTarget[] = o.params.map((p) =>
    target(
      `V_${p}`,
      // The newest point carrying the parameter, per series: a descending scan that stops at the
      // first row, where last() reads the whole range (1.5 s on a day of minute data at 200 stations).
      {
        columns: [{ expr: ident(p), as: p }],
        from: o.measurement,
        where: [...o.where, TIME_FILTER],
        groupBy,
        orderByTimeDesc: true,
        limit: 1,
      },
      { columns: [p], tags: [...o.tags], series: o.series },
      { format: 'table' },
    ),
  );
  // Same selector, same time as the value when the value is recent: merge puts the flag on its row.
  const current: PendingTarget[] = o.params.map((p) =>
    target(
      `C_${p}`,
      {
        columns: [{ expr: `${ident(p)} * 0 + 1`, as: CURRENT_COLUMN }],
        from: o.measurement,
        where: [...o.where, FRESH_WINDOW, TIME_FILTER],
        groupBy,
        orderByTimeDesc: true,
        limit: 1,
      },
      { columns: [CURRENT_COLUMN], tags: [...o.tags], mayBeEmpty: true },
      { format: 'table' },
    ),
  );
  return table({
    title: o.title,
    description: `${o.description} Each row is one report of a station: a value older than the station's latest report sits on a row of its own, with its own age. Rows older than ${STALE_AFTER} before the end of the time range are greyed out (day means are always older than that).`,
    targets: [...values, ...current],
    transformations: [
      { id: 'merge', options: {} },
      { id: 'organize', options: { excludeByName: {}, indexByName: { station: 0, Time: 1 }, renameByName: { Time: 'Age 数据龄' } } },
    ],
    overrides: [
      byName('Age 数据龄', [{ id: 'unit', value: 'dateTimeFromNow' }]),
      byName(CURRENT_COLUMN, [
        { id: 'displayName', value: 'Status 状态' },
        {
          id: 'mappings',
          value: [
            { type: 'value', options: { '1': { text: 'current 最新', index: 0 } } },
            {
              type: 'special',
              options: { match: 'null', result: { text: `stale 过时 (> ${STALE_AFTER})`, color: NO_DATA_COLOR, index: 1 } },
            },
          ],
        },
        { id: 'custom.cellOptions', value: { type: 'color-background', applyToRow: true, mode: 'basic' } },
        { id: 'color', value: { mode: 'fixed', fixedColor: 'transparent' } },
      ]),
      ...o.overrides,
    ],
    sortBy: [{ displayName: 'station', desc: false }],
  });
}
