/**
 * Air: the HJ 633 AQI and the six pollutants by station and by city, coloured by the HJ 633
 * categories, with the GB 3095 limits of the unified thresholds.
 */
import { AQI_CATEGORIES, type AqiMode } from '../lib/standards/index.js';
import type { Period } from '../lib/reading.js';
import { aqiSeries, latestOf } from './assessment-queries.js';
import { PERIOD_IS_VAR, grafanaUnit, limitTargets, paramTitle, periodVariable } from './common.js';
import { airStations, aqiStandard, stationLabel, type BuildContext } from './context.js';
import { MEASUREMENTS } from './datasource.js';
import { INTERVAL, LAST_DAY_OF_RANGE, TIME_FILTER, call, tagIn, tagMatchesVar, type Cond, type SelectSpec } from './influxql.js';
import { latestTable } from './latest-table.js';
import { aqiCategorySteps, iaqiBandSteps } from './limits.js';
import type { ValueMapping } from './model.js';
import {
  Grid,
  barGauge,
  byName,
  customVariable,
  dashboard,
  limitLineOverrides,
  target,
  timeseries,
  valueTexts,
  type BuiltDashboard,
  type PendingTarget,
  type QueryExpectation,
} from './panels.js';

export const AIR_UID = 'tj-air';

export const POLLUTANTS = ['PM2_5', 'PM10', 'SO2', 'NO2', 'CO', 'O3'] as const;

/** Which HJ 633 report a period's readings feed: daily values the daily report, the rest the hourly one. */
export const AQI_MODE_PERIODS: Readonly<Record<AqiMode, Period[]>> = { hourly: ['rt', 'min', 'hour'], daily: ['day'] };

export function aqiCategoryMappings(): ValueMapping[] {
  return AQI_CATEGORIES.map((c, index) => ({
    type: 'range' as const,
    options: { from: c.min, to: Number.isFinite(c.max) ? c.max : null, result: { text: `${c.zh} ${c.en}`, index } },
  }));
}

/** One AQI target per report, each active only for the periods that feed it. */
export function aqiTargets(ctx: BuildContext, refPrefix: string, where: Cond[], groupBy: string[], expect: Omit<QueryExpectation, 'when' | 'columns' | 'tags'>, wrap?: (s: SelectSpec) => SelectSpec): PendingTarget[] {
  const standard = aqiStandard(ctx);
  return (Object.keys(AQI_MODE_PERIODS) as AqiMode[]).map((mode) => {
    const periods = AQI_MODE_PERIODS[mode];
    const series = aqiSeries({ where: [...where, tagIn('period', periods)], groupBy, bucket: INTERVAL }, standard, mode);
    return target(`${refPrefix}${mode === 'hourly' ? 'h' : 'd'}`, wrap ? wrap(series) : series, { columns: ['aqi'], tags: groupBy, ...expect, when: { period: periods } }, { alias: `$tag_${groupBy[0]}`, format: wrap ? 'table' : 'time_series' });
  });
}

export function air(ctx: BuildContext): BuiltDashboard {
  const grid = new Grid();
  const stations = airStations(ctx);
  if (stations.length === 0) throw new Error('air dashboard: no air stations in the registry');
  const cities = [...new Set(stations.map((s) => s.city))];
  const standard = aqiStandard(ctx);
  const cityVar = customVariable('city', 'City 城市', cities.map((c) => ({ value: c, text: `${ctx.registry.cities[c]?.zh ?? c} ${ctx.registry.cities[c]?.en ?? ''}`.trim() })), { multi: true, includeAll: true });
  const stationVar = customVariable('station', 'Station 站点', stations.map((s) => ({ value: s.id, text: stationLabel(s) })), { multi: true, includeAll: true });
  const byStation: Cond[] = [tagMatchesVar('city', 'city'), tagMatchesVar('station', 'station'), PERIOD_IS_VAR];
  const byCity: Cond[] = [tagMatchesVar('city', 'city'), PERIOD_IS_VAR];
  const names = stations.map((s) => byName(s.id, [{ id: 'displayName', value: stationLabel(s) }]));
  const cityNames = cities.map((c) => byName(c, [{ id: 'displayName', value: `${ctx.registry.cities[c]?.zh ?? c} ${ctx.registry.cities[c]?.en ?? ''}`.trim() }]));
  const about = `AQI per ${standard}, computed in InfluxQL from the interval means (hourly report for real-time, minute and hour readings; daily report for day readings). Bands: HJ 633 category colours.`;

  grid.row('AQI 空气质量指数', () => {
    grid.add(
      timeseries({
        title: `AQI by station 各站点 AQI (${standard})`,
        description: about,
        targets: aqiTargets(ctx, 'S', byStation, ['station'], { series: { tag: 'station', from: 'air-stations' } }),
        thresholds: aqiCategorySteps(),
        thresholdsStyle: 'area',
        min: 0,
        overrides: names,
      }),
      12,
      8,
    );
    grid.add(
      timeseries({
        title: `AQI by city 各城市 AQI (${standard}, from the city's mean concentrations)`,
        description: `${about} A city's AQI is computed from the mean concentrations of its stations, as HJ 633 does for a city.`,
        targets: aqiTargets(ctx, 'C', byCity, ['city'], { series: { tag: 'city', from: 'cities' } }),
        thresholds: aqiCategorySteps(),
        thresholdsStyle: 'area',
        min: 0,
        overrides: cityNames,
      }),
      12,
      8,
    );
    grid.add(
      barGauge({
        title: 'Current AQI 当前 AQI',
        description: 'The AQI of each station\'s latest interval in the last day of the time range, coloured by HJ 633 category.',
        targets: aqiTargets(ctx, 'N', [...byStation, LAST_DAY_OF_RANGE], ['station'], { series: { tag: 'station', from: 'air-stations' } }, (s) => latestOf(s, 'aqi', ['station'])),
        thresholds: aqiCategorySteps(),
        mappings: aqiCategoryMappings(),
        min: 0,
        max: 300,
        overrides: names,
      }),
      12,
      6,
    );
    grid.add(
      latestTable({
        title: 'Latest concentrations 最新浓度',
        description: `Cells coloured by the category of each pollutant's IAQI (${standard}, hourly breakpoints).`,
        measurement: MEASUREMENTS.air,
        params: POLLUTANTS,
        where: byStation,
        tags: ['city', 'station'],
        series: { tag: 'station', from: 'air-stations' },
        overrides: [
          byName('station', [{ id: 'mappings', value: [valueTexts(stations.map((s) => [s.id, stationLabel(s)]))] }]),
          ...POLLUTANTS.map((p) =>
            byName(p, [
              { id: 'thresholds', value: { mode: 'absolute', steps: iaqiBandSteps(p, standard, 'hourly') } },
              // Text, not background: a stale row's grey must show through.
              { id: 'custom.cellOptions', value: { type: 'color-text' } },
              { id: 'unit', value: grafanaUnit(p) },
            ]),
          ),
        ],
      }),
      12,
      6,
    );
  });

  grid.row('Pollutants 污染物', () => {
    for (const p of POLLUTANTS) {
      const limits = limitTargets(ctx, p, { measurement: MEASUREMENTS.air, scope: byStation, stations });
      grid.add(
        timeseries({
          title: paramTitle(p),
          description: `Bands: the HJ 633 category of the value's IAQI (${standard}, hourly breakpoints). Dashed red line: the GB 3095 limit of the unified thresholds for the chosen period (1-h limits for real-time, minute and hour readings; 24-h, O3 8-h, for day readings).`,
          targets: [
            target(
              'A',
              { columns: [{ expr: call('mean', p), as: p }], from: MEASUREMENTS.air, where: [...byStation, TIME_FILTER], groupBy: { time: INTERVAL, tags: ['station'] }, fill: 'none' },
              { columns: [p], tags: ['station'], series: { tag: 'station', from: 'air-stations' } },
              { alias: '$tag_station' },
            ),
            ...limits,
          ],
          unit: grafanaUnit(p),
          thresholds: iaqiBandSteps(p, standard, 'hourly'),
          thresholdsStyle: 'area',
          min: 0,
          overrides: [...names, ...limitLineOverrides(limits.map((l) => l.refId))],
        }),
        8,
        7,
      );
    }
  });

  return dashboard(grid, {
    uid: AIR_UID,
    title: '沱江流域空气质量 Tuojiang basin air quality',
    description: `AQI (${standard}) and the six pollutants by station and city, in the HJ 633 category colours, with the GB 3095 limits of the unified thresholds.`,
    variables: [cityVar, stationVar, periodVariable()],
    tags: ['air'],
  });
}
