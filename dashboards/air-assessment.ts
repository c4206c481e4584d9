/**
 * Air quality assessment: the daily AQI of each city and station as a calendar (one row per city
 * or station, one cell per day, in the HJ 633 category colours), the good-day ratio
 * (优良天数比例) per month, days by primary pollutant and by category, annual figures, and data
 * completeness. Everything from the aggregates (decision 0013).
 */
import { AQI_CATEGORIES } from '../lib/standards/index.js';
import { AGG, points } from './aggregate-queries.js';
import { grafanaUnit } from './common.js';
import { completenessRow, completenessTargetVariable } from './completeness-row.js';
import { airStations, aqiStandard, stationLabel, type BuildContext } from './context.js';
import { TIME_FILTER, call, tagMatchesVar } from './influxql.js';
import { aqiCategorySteps } from './limits.js';
import {
  Grid,
  byName,
  customVariable,
  dashboard,
  hideColumns,
  stateTimeline,
  table,
  target,
  valueTexts,
  type BuiltDashboard,
} from './panels.js';

export const AIR_ASSESSMENT_UID = 'tj-air-assessment';

const POLLUTANT_NAMES: ReadonlyArray<[string, string]> = [
  ['PM2_5', 'PM2.5'],
  ['PM10', 'PM10'],
  ['O3', 'O3'],
  ['NO2', 'NO2'],
  ['SO2', 'SO2'],
  ['CO', 'CO'],
];

export function airAssessment(ctx: BuildContext): BuiltDashboard {
  const grid = new Grid();
  const stations = airStations(ctx);
  const cities = [...new Set(stations.map((s) => s.city))];
  const cityName = (c: string): string => `${ctx.registry.cities[c]?.zh ?? c} ${ctx.registry.cities[c]?.en ?? ''}`.trim();
  const standard = aqiStandard(ctx);
  const cityVar = customVariable(
    'city',
    'City 城市',
    cities.map((c) => ({ value: c, text: cityName(c) })),
    { multi: true, includeAll: true },
  );
  const stationVar = customVariable(
    'station',
    'Station 站点',
    stations.map((s) => ({ value: s.id, text: stationLabel(s) })),
    { multi: true, includeAll: true },
  );
  const byCity = [tagMatchesVar('city', 'city')];
  const byStation = [tagMatchesVar('city', 'city'), tagMatchesVar('station', 'station')];
  const cityMapping = byName('city', [{ id: 'mappings', value: [valueTexts(cities.map((c) => [c, cityName(c)]))] }]);
  const stationMapping = byName('station', [{ id: 'mappings', value: [valueTexts(stations.map((s) => [s.id, stationLabel(s)]))] }]);
  const daily = `Daily AQI (${standard}, daily report) from the daily aggregates: 24-h means need 20 valid hours, the O3 daily maximum 8-h mean 14 valid 8-h windows (GB 3095-2012 Table 4, HJ 663-2013); a city's daily concentrations are the means of its stations'. A day without a valid AQI stays empty.`;
  const ratioColumns = ['good_ratio', 'good_days', 'valid_days', 'PM2_5', 'PM10', 'O3_8h_p90'];
  const ratioOverrides = [
    byName('good_ratio', [
      { id: 'displayName', value: '优良天数比例 good-day ratio' },
      { id: 'unit', value: 'percent' },
      { id: 'decimals', value: 1 },
    ]),
    byName('good_days', [
      { id: 'displayName', value: '优良天数 good days' },
      { id: 'decimals', value: 0 },
    ]),
    byName('valid_days', [
      { id: 'displayName', value: '有效天数 valid days' },
      { id: 'decimals', value: 0 },
    ]),
    byName('PM2_5', [
      { id: 'displayName', value: 'PM2.5 均值 mean' },
      { id: 'unit', value: grafanaUnit('PM2_5') },
    ]),
    byName('PM10', [
      { id: 'displayName', value: 'PM10 均值 mean' },
      { id: 'unit', value: grafanaUnit('PM10') },
    ]),
    byName('O3_8h_p90', [
      { id: 'displayName', value: 'O3 日最大8小时第90百分位 p90' },
      { id: 'unit', value: grafanaUnit('O3') },
    ]),
  ];
  const ratioAbout =
    'Good days: daily AQI ≤ 100 (优 or 良); the ratio is over the days with a valid daily AQI. PM2.5 and PM10: the mean of the valid daily means, given when 27 days (February 25; a year 324) were valid; O3: the 90th percentile of the daily maximum 8-h means (HJ 663-2013).';

  grid.row('AQI calendar 日 AQI 日历', () => {
    for (const [title, measurement, where, tag, overrides] of [
      [
        'Daily AQI by city 各城市日 AQI',
        AGG.cityDaily,
        byCity,
        'city',
        cities.map((c) => byName(c, [{ id: 'displayName', value: cityName(c) }])),
      ],
      [
        'Daily AQI by station 各站点日 AQI',
        AGG.airDaily,
        byStation,
        'station',
        stations.map((s) => byName(s.id, [{ id: 'displayName', value: stationLabel(s) }])),
      ],
    ] as const) {
      grid.add(
        stateTimeline({
          title: `${title} (calendar: one cell per day)`,
          description: `${daily} Colours: HJ 633 categories (${AQI_CATEGORIES.map((c) => `${c.min}–${Number.isFinite(c.max) ? c.max : ''} ${c.zh}`).join(' · ')}).`,
          targets: [
            target(
              'D',
              points(measurement, ['aqi'], where, tag),
              { columns: ['aqi'], tags: [tag], mayBeEmpty: true },
              { alias: `$tag_${tag}` },
            ),
          ],
          thresholds: aqiCategorySteps(),
          overrides: [...overrides],
        }),
        24,
        tag === 'city' ? 5 : 8,
      );
    }
  });

  grid.row('Good days 优良天数', () => {
    grid.add(
      table({
        title: '优良天数比例 Good-day ratio per month, by city',
        description: ratioAbout,
        targets: [
          target(
            'R',
            points(AGG.cityMonthly, ratioColumns, byCity, 'city'),
            { columns: ratioColumns, tags: ['city'], mayBeEmpty: true },
            { format: 'table' },
          ),
        ],
        decimals: 1,
        overrides: [cityMapping, byName('Time', [{ id: 'unit', value: 'time: YYYY-MM' }]), ...ratioOverrides],
        sortBy: [{ displayName: 'Time', desc: true }],
      }),
      12,
      9,
    );
    grid.add(
      table({
        title: '优良天数比例 Good-day ratio per month, by station',
        description: ratioAbout,
        targets: [
          target(
            'S',
            points(AGG.airMonthly, ratioColumns, byStation),
            { columns: ratioColumns, tags: ['station'], mayBeEmpty: true },
            { format: 'table' },
          ),
        ],
        decimals: 1,
        overrides: [stationMapping, byName('Time', [{ id: 'unit', value: 'time: YYYY-MM' }]), ...ratioOverrides],
        sortBy: [{ displayName: 'Time', desc: true }],
      }),
      12,
      9,
    );
    grid.add(
      table({
        title: 'Days by primary pollutant 首要污染物天数 (by city, whole range)',
        description:
          'Days whose daily AQI exceeded 50 with this pollutant as (one of) the primary pollutant(s): a day with two counts for both.',
        targets: [
          target(
            'P',
            {
              columns: POLLUTANT_NAMES.map(([k]) => ({ expr: call('sum', `primary_${k}`), as: k })),
              from: AGG.cityMonthly,
              where: [...byCity, TIME_FILTER],
              groupBy: { tags: ['city'] },
            },
            { columns: POLLUTANT_NAMES.map(([k]) => k), tags: ['city'], mayBeEmpty: true },
            { format: 'table' },
          ),
        ],
        decimals: 0,
        overrides: [cityMapping, ...POLLUTANT_NAMES.map(([k, n]) => byName(k, [{ id: 'displayName', value: n }]))],
        transformations: [hideColumns('Time')],
      }),
      12,
      7,
    );
    grid.add(
      table({
        title: 'Days by category 各级别天数 (by city, whole range)',
        description: 'Days per HJ 633 category of the daily AQI.',
        targets: [
          target(
            'L',
            {
              columns: AQI_CATEGORIES.map((c) => ({ expr: call('sum', `level_${c.level}`), as: `level_${c.level}` })),
              from: AGG.cityMonthly,
              where: [...byCity, TIME_FILTER],
              groupBy: { tags: ['city'] },
            },
            { columns: AQI_CATEGORIES.map((c) => `level_${c.level}`), tags: ['city'], mayBeEmpty: true },
            { format: 'table' },
          ),
        ],
        decimals: 0,
        overrides: [
          cityMapping,
          ...AQI_CATEGORIES.map((c) => byName(`level_${c.level}`, [{ id: 'displayName', value: `${c.zh} ${c.en}` }])),
        ],
        transformations: [hideColumns('Time')],
      }),
      12,
      7,
    );
    grid.add(
      table({
        title: 'Annual figures 年度评价 (by city)',
        description: ratioAbout,
        targets: [
          target(
            'Y',
            points(AGG.cityYearly, ratioColumns, byCity, 'city'),
            { columns: ratioColumns, tags: ['city'], mayBeEmpty: true },
            { format: 'table' },
          ),
        ],
        decimals: 1,
        overrides: [cityMapping, byName('Time', [{ id: 'unit', value: 'time: YYYY' }]), ...ratioOverrides],
        sortBy: [{ displayName: 'Time', desc: true }],
      }),
      24,
      5,
    );
  });

  completenessRow(grid, {
    daily: AGG.airDaily,
    monthly: AGG.airMonthly,
    where: byStation,
    names: stations.map((s) => byName(s.id, [{ id: 'displayName', value: stationLabel(s) }])),
    stationMapping,
    what: 'per air station',
  });

  return dashboard(grid, {
    uid: AIR_ASSESSMENT_UID,
    title: '沱江流域空气质量评价 Tuojiang basin air quality assessment',
    description: `Daily AQI calendar (${standard}), good-day ratio per month, days by primary pollutant and category, annual figures, data completeness: from the hourly aggregates.`,
    variables: [cityVar, stationVar, completenessTargetVariable()],
    tags: ['air', 'assessment'],
    time: { from: 'now-12M/M', to: 'now/M' },
    refresh: '',
  });
}
