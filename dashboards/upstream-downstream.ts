/**
 * Upstream → downstream: one parameter (template variable) at every section, in river order, so a
 * plume can be followed down the river and across the Chengdu–Ziyang boundary (marked).
 */
import { parametersOf } from '../lib/parameters.js';
import type { Station } from '../config/station-registry.js';
import { PERIOD_IS_VAR, limitTargets, paramTitle, periodVariable } from './common.js';
import { sectionLabel, waterSections, type BuildContext } from './context.js';
import { MEASUREMENTS } from './datasource.js';
import { INTERVAL, TIME_FILTER, ident, tagIsVar, varIs } from './influxql.js';
import { AGG, points } from './aggregate-queries.js';
import { classDisplay } from './section-detail.js';
import { GB3838_TABLE1 } from '../lib/standards/index.js';
import type { FieldOverride } from './model.js';
import {
  Grid,
  annotation,
  byName,
  customVariable,
  dashboard,
  limitLineOverrides,
  sectionRows,
  stateTimeline,
  table,
  target,
  timeseries,
  valueTexts,
  type BuiltDashboard,
  type PendingTarget,
} from './panels.js';

export const UPSTREAM_DOWNSTREAM_UID = 'tj-upstream-downstream';

/** Upstream sections blue, downstream red, so the order reads off the colours too. */
function gradient(i: number, n: number): string {
  const t = n <= 1 ? 0 : i / (n - 1);
  const from = [0x1f, 0x77, 0xb4];
  const to = [0xd6, 0x27, 0x28];
  return `#${from
    .map((c, k) =>
      Math.round(c + ((to[k] as number) - c) * t)
        .toString(16)
        .padStart(2, '0'),
    )
    .join('')}`;
}

export function sectionOverrides(sections: readonly Station[]): FieldOverride[] {
  return sections.map((s, i) =>
    byName(s.id, [
      { id: 'displayName', value: sectionLabel(s) },
      { id: 'color', value: { mode: 'fixed', fixedColor: gradient(i, sections.length) } },
      ...(s.boundary ? [{ id: 'custom.lineWidth', value: 4 }] : []),
    ]),
  );
}

/**
 * The GB 3838 class of the chosen parameter per section and hour, from the hourly aggregates'
 * `class_<parameter>`: one query whatever the parameter (the variable names the field); an
 * ungraded parameter has no such field and the panel stays empty.
 */
function plumeClassTarget(keys: readonly string[]): PendingTarget {
  return target(
    'P',
    points(AGG.waterHourly, [{ field: 'class_$parameter', as: 'class' }], []),
    { columns: ['class'], tags: ['station'], when: { parameter: keys.filter((k) => GB3838_TABLE1[k]) }, mayBeEmpty: true },
    { alias: '$tag_station' },
  );
}

export function upstreamDownstream(ctx: BuildContext): BuiltDashboard {
  const grid = new Grid();
  const sections = waterSections(ctx);
  const keys = parametersOf('water').map((p) => p.key);
  const parameterVar = customVariable(
    'parameter',
    'Parameter 指标',
    keys.map((k) => ({ value: k, text: paramTitle(k) })),
    { current: keys.includes('NH3N') ? 'NH3N' : keys[0] },
  );
  const scope = [PERIOD_IS_VAR];
  const boundary = sections.filter((s) => s.boundary);
  const boundaryNote =
    boundary.length > 0
      ? `The boundary section${boundary.length > 1 ? 's' : ''} (${boundary.map((s) => sectionLabel(s)).join(', ')}) ${boundary.length > 1 ? 'are' : 'is'} drawn with a thick line.`
      : '';
  const perSection = (refId: string): PendingTarget =>
    target(
      refId,
      {
        columns: [{ expr: `mean(${ident('$parameter')})`, as: 'value' }],
        from: MEASUREMENTS.water,
        where: [...scope, TIME_FILTER],
        groupBy: { time: INTERVAL, tags: ['station'] },
        fill: 'none',
      },
      { columns: ['value'], tags: ['station'], series: { tag: 'station', from: 'water-stations' } },
      { alias: '$tag_station' },
    );

  grid.row('Along the river 沿程变化', () => {
    const limits = keys.flatMap((k) =>
      limitTargets(ctx, k, {
        measurement: AGG.waterHourly,
        scope: [],
        stations: sections,
        gate: { cond: varIs('parameter', k), when: { parameter: [k] } },
        refIdPrefix: `L_${k}_`,
      }),
    );
    grid.add(
      timeseries({
        title: '$parameter at every section, upstream → downstream 各断面沿程',
        description: `Legend in river order (km from Zhaozhen). ${boundaryNote} Dashed red lines: the alert limits of the unified thresholds for this parameter (one per group of sections sharing a limit).`,
        targets: [perSection('A'), ...limits],
        overrides: [...sectionOverrides(sections), ...limitLineOverrides(limits.map((l) => l.refId))],
        legendSort: 'Name',
      }),
      24,
      10,
    );
    const { thresholds: classSteps, mappings: classMappings } = classDisplay();
    grid.add(
      stateTimeline({
        title: 'Plume along the river 污染团沿程推移 ($parameter GB 3838 class 类别, rows upstream → downstream)',
        description: `One row per section in river order, coloured by the GB 3838 class of the chosen parameter's hourly mean (hourly aggregates: values flagged N, at least 45 minutes of them) (I–II blue, III green, IV yellow, V orange, 劣V red): a plume shows as a band of worse classes moving down the rows. Parameters GB 3838 does not grade (temperature, conductivity, turbidity …) have no class: follow them in the chart above. ${boundaryNote}`,
        targets: [plumeClassTarget(keys)],
        thresholds: classSteps,
        mappings: classMappings,
        transformations: sectionRows(sections.map((s) => s.id)),
        overrides: sections.map((s) => byName(s.id, [{ id: 'displayName', value: sectionLabel(s) }])),
      }),
      24,
      9,
    );
  });

  const stationNames = valueTexts(sections.map((s) => [s.id, sectionLabel(s)]));
  grid.row('When it passed 峰值到达时间', () => {
    for (const [refId, fn, column, title] of [
      ['H', 'max', 'highest', 'Highest $parameter at each section, and when 最高值及出现时间'],
      ['T', 'min', 'lowest', 'Lowest $parameter at each section, and when (DO: the worst) 最低值及出现时间'],
    ] as const) {
      grid.add(
        table({
          title,
          description:
            'The time column is when the extreme occurred: sorted by it, the sections appear in the order the plume reached them.',
          targets: [
            target(
              refId,
              {
                columns: [{ expr: `${fn}(${ident('$parameter')})`, as: column }],
                from: MEASUREMENTS.water,
                where: [...scope, TIME_FILTER],
                groupBy: { tags: ['station'] },
              },
              { columns: [column], tags: ['station'], series: { tag: 'station', from: 'water-stations' } },
              { format: 'table' },
            ),
          ],
          overrides: [byName('station', [{ id: 'mappings', value: [stationNames] }])],
          sortBy: [{ displayName: 'Time', desc: false }],
        }),
        12,
        8,
      );
    }
  });

  const alerts = annotation(
    grid,
    'Alerts on $parameter 告警',
    {
      columns: ['message', 'station', 'state', 'rule'].map((c) => ({ expr: ident(c) })),
      from: MEASUREMENTS.alerts,
      where: [tagIsVar('parameter', 'parameter'), TIME_FILTER],
    },
    { text: 'message', tags: ['station', 'state', 'rule'] },
    'red',
    { columns: ['message', 'station', 'state', 'rule'], tags: [], alerts: { parameter: 'parameter' } },
  );

  return dashboard(grid, {
    uid: UPSTREAM_DOWNSTREAM_UID,
    title: '沱江上下游 Tuojiang upstream → downstream',
    description: 'One parameter at every section in river order, to follow a plume down the river and across the Chengdu–Ziyang boundary.',
    variables: [parameterVar, periodVariable()],
    annotations: [alerts],
    tags: ['water'],
    time: { from: 'now-7d', to: 'now' },
  });
}
