/**
 * Water quality assessment, as a bureau's analyst reads it every month: each section's monthly and
 * annual GB 3838 class against its target class (达标 / 不达标, with the deciding items),
 * exceedances and the largest 超标倍数 per item, one item upstream → downstream with the boundary
 * marked, and data completeness. Everything from the aggregates (decision 0013).
 */
import { classLimit, GB3838_TABLE1, type GradedClass } from '../lib/standards/index.js';
import { AGG, points } from './aggregate-queries.js';
import { grafanaUnit, param, paramTitle } from './common.js';
import { completenessRow, completenessTargetVariable } from './completeness-row.js';
import { sectionLabel, waterSections, type BuildContext } from './context.js';
import { TIME_FILTER, call, ident, tagMatchesVar } from './influxql.js';
import type { FieldOverride } from './model.js';
import {
  Grid,
  byName,
  customVariable,
  dashboard,
  hideColumns,
  sectionRows,
  stateTimeline,
  table,
  target,
  timeseries,
  valueTexts,
  type BuiltDashboard,
} from './panels.js';
import { AUTOMATIC_STATION_PARAMETERS, classDisplay } from './section-detail.js';
import { sectionOverrides } from './upstream-downstream.js';

export const WATER_ASSESSMENT_UID = 'tj-water-assessment';

const BOUNDARY_COLOR = '#8F3BB8';

/** Items whose exceedances the tables show: the automatic stations' graded, class-deciding ones. */
export const EXCEEDANCE_ITEMS = ['pH', 'DO', 'CODMn', 'NH3N', 'TP'] as const;
/** Of those, the upper limits: the ones with a 超标倍数. */
export const MULTIPLE_ITEMS = ['CODMn', 'NH3N', 'TP'] as const;

export function meetsMapping(): ReturnType<typeof valueTexts> {
  return valueTexts([
    ['1', '达标 meets target', '#22B14C'],
    ['0', '不达标 fails target', '#E02020'],
  ]);
}

export function waterAssessment(ctx: BuildContext): BuiltDashboard {
  const grid = new Grid();
  const sections = waterSections(ctx);
  const graded = [
    ...AUTOMATIC_STATION_PARAMETERS.filter((k) => GB3838_TABLE1[k]),
    ...Object.keys(GB3838_TABLE1).filter((k) => !(AUTOMATIC_STATION_PARAMETERS as readonly string[]).includes(k)),
  ];
  const stationVar = customVariable(
    'station',
    'Section 断面',
    sections.map((s) => ({ value: s.id, text: sectionLabel(s) })),
    { multi: true, includeAll: true },
  );
  const parameterVar = customVariable(
    'parameter',
    'Parameter 指标',
    graded.map((k) => ({ value: k, text: paramTitle(k) })),
    { current: 'NH3N' },
  );
  const where = [tagMatchesVar('station', 'station')];
  const stationMapping = byName('station', [{ id: 'mappings', value: [valueTexts(sections.map((s) => [s.id, sectionLabel(s)]))] }]);
  const { thresholds: classSteps, mappings: classMappings } = classDisplay();
  const classColumns: FieldOverride[] = [
    ['class', '水质类别 class'],
    ['target', '目标 target'],
  ].map(([c, name]) =>
    byName(c as string, [
      { id: 'displayName', value: name },
      { id: 'mappings', value: classMappings },
      { id: 'thresholds', value: { mode: 'absolute', steps: classSteps } },
      { id: 'custom.cellOptions', value: { type: 'color-text' } },
    ]),
  );
  const assessmentColumns = ['class', 'target', 'meets', 'deciding', 'days', 'NH3N', 'CODMn', 'TP', 'DO'];
  const targets = [...new Set(sections.map((s) => s.target_class).filter((c): c is GradedClass => c !== undefined))];
  const basis = `Class: GB 3838-2002 single-factor method on the period's mean of each item (the mean of its valid daily means; a day needs 18 valid hours, an hour 45 valid minutes), deciding items excluding the reference items of thresholds.yaml. 达标: the class is the section's target class (${targets.join(', ')}) or better. days: days with a daily class.`;

  const assessmentTable = (title: string, measurement: string, timeFormat: string) =>
    table({
      title,
      description: `${basis} deciding (定类指标): the items whose class is the section's class; they are its 主要污染指标 only when that class is worse than III (the national method then names the worst three). A section without a valid day in the period has no class (not assessable) and 0 days.`,
      targets: [
        target(
          'T',
          points(measurement, assessmentColumns, where),
          {
            columns: assessmentColumns,
            tags: ['station'],
            mayBeEmpty: true,
            mayBeNull: assessmentColumns.filter((c) => c !== 'target' && c !== 'days'),
          },
          { format: 'table' },
        ),
      ],
      decimals: 3,
      overrides: [
        stationMapping,
        ...classColumns,
        byName('meets', [
          { id: 'displayName', value: '达标 meets' },
          { id: 'mappings', value: [meetsMapping()] },
          { id: 'custom.cellOptions', value: { type: 'color-background' } },
        ]),
        byName('deciding', [{ id: 'displayName', value: '定类指标 deciding items' }]),
        byName('Time', [{ id: 'unit', value: `time: ${timeFormat}` }]),
        byName('days', [
          { id: 'displayName', value: '有效天数 valid days' },
          { id: 'decimals', value: 0 },
        ]),
        ...['NH3N', 'CODMn', 'TP', 'DO'].map((p) =>
          byName(p, [
            { id: 'displayName', value: `${param(p).nameZh} ${p}` },
            { id: 'unit', value: grafanaUnit(p) },
          ]),
        ),
      ],
      sortBy: [{ displayName: 'Time', desc: true }],
    });

  grid.row('Class vs target 水质类别与达标', () => {
    grid.add(
      stateTimeline({
        title: 'Monthly water class per section 各断面月水质类别 (rows upstream → downstream)',
        description: basis,
        targets: [
          target(
            'C',
            points(AGG.waterMonthly, ['class'], where),
            { columns: ['class'], tags: ['station'], mayBeEmpty: true },
            { alias: '$tag_station' },
          ),
        ],
        thresholds: classSteps,
        mappings: classMappings,
        transformations: sectionRows(sections.map((s) => s.id)),
        overrides: sections.map((s) => byName(s.id, [{ id: 'displayName', value: sectionLabel(s) }])),
      }),
      24,
      8,
    );
    grid.add(assessmentTable('Monthly assessment 月度评价 (class vs target 达标 / 不达标)', AGG.waterMonthly, 'YYYY-MM'), 24, 9);
    grid.add(assessmentTable('Annual assessment 年度评价 (class vs target 达标 / 不达标)', AGG.waterYearly, 'YYYY'), 24, 6);
  });

  grid.row('Exceedances 超标统计', () => {
    const limits = sections.map((s) => s.target_class).filter((c): c is GradedClass => c !== undefined);
    const limitNote = [...new Set(limits)]
      .map(
        (c) =>
          `class ${c}: ${EXCEEDANCE_ITEMS.map((p) => {
            const l = classLimit(p, c, 'river');
            return l ? `${p} ${l.kind === 'range' ? `${l.min}–${l.max}` : `${l.kind === 'min' ? '≥' : '≤'} ${l.value}`}` : p;
          }).join(', ')}`,
      )
      .join('; ');
    grid.add(
      table({
        title: 'Hours over the target-class limit 超标小时数 (per item, whole range)',
        description: `Valid hourly means breaking the section's target-class limit (${limitNote}), summed over the months of the range.`,
        targets: [
          target(
            'E',
            {
              columns: EXCEEDANCE_ITEMS.map((p) => ({ expr: call('sum', `exceed_${p}`), as: p })),
              from: AGG.waterMonthly,
              where: [...where, TIME_FILTER],
              groupBy: { tags: ['station'] },
            },
            { columns: [...EXCEEDANCE_ITEMS], tags: ['station'], mayBeEmpty: true },
            { format: 'table' },
          ),
        ],
        decimals: 0,
        overrides: [stationMapping],
        transformations: [hideColumns('Time')],
      }),
      12,
      8,
    );
    grid.add(
      table({
        title: 'Largest 超标倍数 per item (whole range)',
        description:
          '(C − S) / S for the worst valid hourly mean over the target-class limit S; upper limits only (pH and DO have none). Empty: never over.',
        targets: [
          target(
            'X',
            {
              columns: MULTIPLE_ITEMS.map((p) => ({ expr: call('max', `multiple_${p}`), as: p })),
              from: AGG.waterMonthly,
              where: [...where, TIME_FILTER],
              groupBy: { tags: ['station'] },
            },
            { columns: [...MULTIPLE_ITEMS], tags: ['station'], mayBeEmpty: true, mayBeNull: [...MULTIPLE_ITEMS] },
            { format: 'table' },
          ),
        ],
        decimals: 2,
        overrides: [stationMapping],
        transformations: [hideColumns('Time')],
      }),
      12,
      8,
    );
    grid.add(
      table({
        title: 'Monthly exceedances of $parameter 月超标次数与最大超标倍数',
        description:
          'Per month and section: valid hourly means of the chosen item over the target-class limit, and the largest 超标倍数 among them.',
        targets: [
          target(
            'M',
            points(
              AGG.waterMonthly,
              [
                { field: 'exceed_$parameter', as: 'exceed' },
                { field: 'multiple_$parameter', as: 'multiple' },
                { field: '$parameter', as: 'mean' },
              ],
              where,
            ),
            { columns: ['exceed', 'multiple', 'mean'], tags: ['station'], mayBeEmpty: true, mayBeNull: ['multiple'] },
            { format: 'table' },
          ),
        ],
        decimals: 3,
        overrides: [
          stationMapping,
          byName('Time', [{ id: 'unit', value: 'time: YYYY-MM' }]),
          byName('exceed', [{ id: 'displayName', value: '超标小时 hours over' }]),
          byName('multiple', [{ id: 'displayName', value: '最大超标倍数 largest multiple' }]),
          byName('mean', [{ id: 'displayName', value: '月均值 monthly mean' }]),
        ],
        sortBy: [{ displayName: 'Time', desc: true }],
      }),
      24,
      8,
    );
  });

  grid.row('Upstream vs downstream 上下游对比', () => {
    const boundary = sections.filter((s) => s.boundary);
    // One query for every section, in river order by the km the daily points carry (one query per
    // section would be 100 queries at 100 sections).
    grid.add(
      table({
        title: '$parameter, mean over the range, upstream → downstream 沿程均值',
        description: `One row per section, upstream first (river km); the mean of its valid daily means in the months of the range, as a bar. ${boundary.length > 0 ? `The boundary section (${boundary.map(sectionLabel).join(', ')}) is marked ◆ and written in purple.` : ''}`,
        // The months' means weighted by their valid days: the mean of the valid daily means, read from
        // 12 points a section instead of 365.
        targets: [
          target(
            'S',
            {
              columns: [
                { expr: `${call('sum', 'weighted')} / ${call('sum', 'days')}`, as: 'mean' },
                { expr: call('last', 'km'), as: 'km' },
              ],
              from: {
                columns: [
                  { expr: `${ident('$parameter')} * ${ident('n_$parameter')}`, as: 'weighted' },
                  { expr: ident('n_$parameter'), as: 'days' },
                  { expr: ident('km'), as: 'km' },
                ],
                from: AGG.waterMonthly,
                where: [...where, TIME_FILTER],
                groupBy: { tags: ['station'] },
              },
              groupBy: { tags: ['station'] },
            },
            { columns: ['mean', 'km'], tags: ['station'], mayBeEmpty: true },
            { format: 'table' },
          ),
        ],
        decimals: 3,
        overrides: [
          byName('station', [
            { id: 'displayName', value: '断面 section' },
            {
              id: 'mappings',
              value: [
                valueTexts(
                  sections.map((s) => [s.id, sectionLabel(s), ...(s.boundary ? [BOUNDARY_COLOR] : [])] as [string, string, string?]),
                ),
              ],
            },
            { id: 'custom.cellOptions', value: { type: 'color-text' } },
          ]),
          byName('km', [
            { id: 'displayName', value: 'km' },
            { id: 'decimals', value: 0 },
          ]),
          byName('mean', [
            { id: 'displayName', value: '均值 mean' },
            { id: 'custom.cellOptions', value: { type: 'gauge', mode: 'basic' } },
          ]),
        ],
        transformations: [hideColumns('Time')],
        sortBy: [{ displayName: 'km', desc: false }],
      }),
      10,
      9,
    );
    grid.add(
      timeseries({
        title: 'Monthly mean of $parameter per section 各断面月均值',
        description: 'Legend in river order; the boundary section is the thick line.',
        targets: [
          target(
            'A',
            points(AGG.waterMonthly, [{ field: '$parameter', as: 'mean' }], where),
            { columns: ['mean'], tags: ['station'], mayBeEmpty: true },
            { alias: '$tag_station' },
          ),
        ],
        overrides: sectionOverrides(sections),
        legendSort: 'Name',
        points: true,
        // Monthly points: a missing month is a gap, the next month's point is not.
        gapAfterMs: 32 * 86_400_000,
      }),
      14,
      9,
    );
  });

  completenessRow(grid, {
    daily: AGG.waterDaily,
    monthly: AGG.waterMonthly,
    where,
    names: sections.map((s) => byName(s.id, [{ id: 'displayName', value: sectionLabel(s) }])),
    stationMapping,
    what: 'per section',
  });

  return dashboard(grid, {
    uid: WATER_ASSESSMENT_UID,
    title: '沱江水质评价 Tuojiang water quality assessment',
    description:
      'Monthly and annual GB 3838 class per section against its target (达标 / 不达标), exceedances and 超标倍数, upstream vs downstream, data completeness: from the hourly aggregates.',
    variables: [stationVar, parameterVar, completenessTargetVariable()],
    tags: ['water', 'assessment'],
    time: { from: 'now-12M/M', to: 'now/M' },
    refresh: '',
  });
}
