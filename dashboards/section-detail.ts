/**
 * Section detail: one water section (template variable `station`), every parameter over time with
 * its alert limit line and GB 3838 class bands, the section's class over time, quality flags, and
 * alert and threshold-change annotations.
 */
import { parametersOf } from '../lib/parameters.js';
import type { Station } from '../config/station-registry.js';
import { CLASS_ORDER, WATER_CLASS_LABEL } from '../lib/standards/index.js';
import { AGG, points } from './aggregate-queries.js';
import { WATER_CLASS_COLOR, classLabel } from './colors.js';
import { PERIOD_IS_VAR, grafanaUnit, limitTargets, paramTitle, periodVariable } from './common.js';
import { sectionLabel, waterSections, type BuildContext } from './context.js';
import { MEASUREMENTS } from './datasource.js';
import { INTERVAL, TIME_FILTER, call, ident, or, tagIs, tagIsVar } from './influxql.js';
import { classBandSteps } from './limits.js';
import type { FieldOverride, ThresholdStep } from './model.js';
import {
  Grid,
  annotation,
  byName,
  customVariable,
  dashboard,
  limitLineOverrides,
  stateTimeline,
  table,
  target,
  timeseries,
  valueTexts,
  type BuiltDashboard,
  type PendingTarget,
} from './panels.js';

export const SECTION_DETAIL_UID = 'tj-section-detail';

const FLAG_FIELDS = '/_flag$/';

/** What the national network's automatic stations measure (docs/domain.md §1); the rest sit in a collapsed row. */
export const AUTOMATIC_STATION_PARAMETERS = ['temp', 'pH', 'DO', 'cond', 'turb', 'CODMn', 'NH3N', 'TP', 'TN'] as const;

/** HJ 212 data flags (docs/domain.md §3). */
export const FLAG_TEXT: ReadonlyArray<[string, string, string]> = [
  ['N', 'N 正常 normal', '#22B14C'],
  ['T', 'T 超测量上限 above range', '#FF8C00'],
  ['F', 'F 停运 stopped', '#8E8E8E'],
  ['M', 'M 维护 maintenance', '#5794F2'],
  ['S', 'S 手工输入 set manually', '#B877D9'],
  ['D', 'D 故障 fault', '#E02020'],
  ['C', 'C 校准 calibration', '#5794F2'],
  ['B', 'B 通讯异常 comms fault', '#E02020'],
];

/** Numbers 1..6 → class, coloured and labelled. */
export function classDisplay(): { thresholds: ThresholdStep[]; mappings: ReturnType<typeof valueTexts>[] } {
  return {
    thresholds: CLASS_ORDER.map((c, i) => ({ value: i === 0 ? null : i + 1, color: WATER_CLASS_COLOR[c] })),
    mappings: [valueTexts(CLASS_ORDER.map((c, i) => [String(i + 1), `${classLabel(c)} ${WATER_CLASS_LABEL[c]}`, WATER_CLASS_COLOR[c]]))],
  };
}

function parameterPanel(ctx: BuildContext, grid: Grid, key: string, sections: readonly Station[]): void {
  const scope = [tagIsVar('station', 'station'), PERIOD_IS_VAR];
  const data = target(
    'A',
    {
      columns: [{ expr: call('mean', key), as: key }],
      from: MEASUREMENTS.water,
      where: [...scope, TIME_FILTER],
      groupBy: { time: INTERVAL, tags: ['station'] },
      fill: 'none',
    },
    { columns: [key], tags: ['station'], series: { tag: 'station', from: { variable: 'station' } } },
    { alias: `${key} · $tag_station` },
  );
  const limits: PendingTarget[] = limitTargets(ctx, key, {
    measurement: AGG.waterHourly,
    scope: [tagIsVar('station', 'station')],
    stations: sections,
    stationVariable: 'station',
  });
  const riverBands = classBandSteps(key, 'river');
  // Lake sections grade TP differently: their series (named by station) get their own bands.
  const lakeOverrides: FieldOverride[] = sections
    .filter((s) => s.waterbody === 'lake' && classBandSteps(key, 'lake'))
    .map((s) => byName(`${key} · ${s.id}`, [{ id: 'thresholds', value: { mode: 'absolute', steps: classBandSteps(key, 'lake') } }]));
  grid.add(
    timeseries({
      title: paramTitle(key),
      description: riverBands
        ? 'Bands: GB 3838-2002 classes of this item (I–II blue, III green, IV yellow, V orange, 劣V red). Dashed red line: the alert limit of the unified thresholds for this section and period.'
        : 'Not graded by GB 3838. A dashed red line appears only where the unified thresholds set a limit.',
      targets: [data, ...limits],
      unit: grafanaUnit(key),
      ...(riverBands ? { thresholds: riverBands, thresholdsStyle: 'area' as const } : {}),
      overrides: [...limitLineOverrides(limits.map((l) => l.refId)), ...lakeOverrides],
      points: true,
    }),
    8,
    7,
  );
}

export function sectionDetail(ctx: BuildContext): BuiltDashboard {
  const grid = new Grid();
  const sections = waterSections(ctx);
  const defaultSection = sections.find((s) => s.boundary) ?? sections[0];
  if (!defaultSection) throw new Error('section detail: no water sections in the registry');
  const stationVar = customVariable(
    'station',
    'Section 断面',
    sections.map((s) => ({ value: s.id, text: sectionLabel(s) })),
    { current: defaultSection.id },
  );
  const scope = [tagIsVar('station', 'station'), PERIOD_IS_VAR];
  const waterParams = parametersOf('water').map((p) => p.key);

  grid.row('Class and flags 水质类别与数据标记', () => {
    const { thresholds, mappings } = classDisplay();
    grid.add(
      stateTimeline({
        title: 'Hourly water class 小时水质类别 (GB 3838-2002, single factor)',
        description:
          'The class of each hour from the hourly aggregates: hourly means of the values flagged N, an item counted only with at least 45 minutes of valid data, the class that of the worst deciding item (reference items as configured in thresholds.yaml). An hour without enough valid data has no class. The period variable does not apply: the aggregates are made from every period the station sends.',
        targets: [
          target(
            'C',
            points(AGG.waterHourly, ['class'], [tagIsVar('station', 'station')]),
            { columns: ['class'], tags: ['station'], series: { tag: 'station', from: { variable: 'station' } }, mayBeEmpty: true },
            { alias: 'class' },
          ),
        ],
        thresholds,
        mappings,
      }),
      16,
      5,
    );
    grid.add(
      table({
        title: 'Quality flags 数据标记 (readings not flagged N)',
        description:
          "HJ 212 data flags of this section's readings, one column per parameter that has ever been flagged: values flagged F, M, S, D, C or B are stored but never raise a pollution alert.",
        targets: [
          target(
            'F',
            // A regular expression selects the flag fields that exist, rather than a column for each of 26 parameters.
            { columns: [FLAG_FIELDS], from: MEASUREMENTS.water, where: [...scope, TIME_FILTER], orderByTimeDesc: true, limit: 500 },
            { columns: [], columnsMatch: '_flag$', tags: [] },
            { format: 'table' },
          ),
        ],
        mappings: [valueTexts(FLAG_TEXT.map(([v, t, c]) => [v, t, c]))],
        overrides: [],
      }),
      8,
      5,
    );
  });

  const auto = AUTOMATIC_STATION_PARAMETERS.filter((k) => waterParams.includes(k));
  grid.row('Automatic-station parameters 自动站参数', () => {
    for (const key of auto) parameterPanel(ctx, grid, key, sections);
  });
  grid.row(
    'Other GB 3838 items 其他项目',
    () => {
      for (const key of waterParams.filter((k) => !(auto as readonly string[]).includes(k))) parameterPanel(ctx, grid, key, sections);
    },
    { collapsed: true },
  );

  const alertsAnnotation = annotation(
    grid,
    'Alerts 告警',
    {
      columns: ['message', 'state', 'parameter', 'rule'].map((c) => ({ expr: ident(c) })),
      from: MEASUREMENTS.alerts,
      where: [tagIsVar('station', 'station'), TIME_FILTER],
    },
    { text: 'message', tags: ['state', 'parameter', 'rule'] },
    'red',
    { columns: ['message', 'state', 'parameter', 'rule'], tags: [], alerts: { station: 'station' } },
  );
  const thresholdAnnotation = annotation(
    grid,
    'Threshold changes 阈值变更',
    {
      columns: ['summary', 'version', 'change', 'scope'].map((c) => ({ expr: ident(c) })),
      from: MEASUREMENTS.thresholdChanges,
      // Changes of the defaults or a reach have no station tag: they apply to every section.
      where: [or(tagIsVar('station', 'station'), tagIs('station', '')), TIME_FILTER],
    },
    { text: 'summary', tags: ['version', 'change', 'scope'] },
    'purple',
    { columns: ['summary', 'version', 'change', 'scope'], tags: [] },
  );

  return dashboard(grid, {
    uid: SECTION_DETAIL_UID,
    title: '沱江断面详情 Tuojiang section detail',
    description:
      'One water section: every parameter with its alert limit and GB 3838 class bands, class over time, quality flags, alerts and threshold changes.',
    variables: [stationVar, periodVariable()],
    annotations: [alertsAnnotation, thresholdAnnotation],
    tags: ['water'],
  });
}
