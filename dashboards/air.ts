/**
 * Air: the HJ 633 AQI and the six pollutants by station and by city, coloured by the HJ 633
 * categories, with the GB 3095 limits of the unified thresholds.
 */
import { AQI_CATEGORIES } from '../lib/standards/index.js';
import { AGG, latest, points } from './aggregate-queries.js';
import { PERIOD_IS_VAR, grafanaUnit, limitTargets, paramTitle, periodVariable } from './common.js';
import { airStations, aqiStandard, stationLabel, type BuildContext } from './context.js';
import { MEASUREMENTS } from './datasource.js';
import { INTERVAL, TIME_FILTER, call, tagMatchesVar, type Cond } from './influxql.js';
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
} from './panels.js';

export const AIR_UID = 'tj-air';

export const POLLUTANTS = ['PM2_5', 'PM10', 'SO2', 'NO2', 'CO', 'O3'] as const;

export function aqiCategoryMappings(): ValueMapping[] {
  return AQI_CATEGORIES.map((c, index) => ({
    type: 'range' as const,
    options: { from: c.min, to: Number.isFinite(c.max) ? c.max : null, result: { text: `${c.zh} ${c.en}`, index } },
  }));
}

export function air(ctx: BuildContext): BuiltDashboard {
  const grid = new Grid();
  const stations = airStations(ctx);
  if (stations.length === 0) throw new Error('air dashboard: no air stations in the registry');
  const cities = [...new Set(stations.map((s) => s.city))];
  const standard = aqiStandard(ctx);
  const cityVar = customVariable(
    'city',
    'City 城市',
    cities.map((c) => ({ value: c, text: `${ctx.registry.cities[c]?.zh ?? c} ${ctx.registry.cities[c]?.en ?? ''}`.trim() })),
    { multi: true, includeAll: true },
  );
  const stationVar = customVariable(
    'station',
    'Station 站点',
    stations.map((s) => ({ value: s.id, text: stationLabel(s) })),
    { multi: true, includeAll: true },
  );
  const byStation: Cond[] = [tagMatchesVar('city', 'city'), tagMatchesVar('station', 'station'), PERIOD_IS_VAR];
  const names = stations.map((s) => byName(s.id, [{ id: 'displayName', value: stationLabel(s) }]));
  const cityNames = cities.map((c) =>
    byName(c, [{ id: 'displayName', value: `${ctx.registry.cities[c]?.zh ?? c} ${ctx.registry.cities[c]?.en ?? ''}`.trim() }]),
  );
  const about = `Hourly AQI (${standard}, real-time report) from the hourly aggregates: hourly means of the values flagged N with at least 45 minutes of them, IAQI and AQI by lib/standards. An hour without enough valid data has no AQI; with a pollutant missing, an AQI up to 100 is not published (HJ 633-2026). Bands: HJ 633 category colours.`;
  const stationScope: Cond[] = [tagMatchesVar('city', 'city'), tagMatchesVar('station', 'station')];
  const cityScope: Cond[] = [tagMatchesVar('city', 'city')];

  grid.row('AQI 空气质量指数', () => {
    grid.add(
      timeseries({
        title: `Hourly AQI by station 各站点小时 AQI (${standard})`,
        description: about,
        targets: [
          target(
            'S',
            points(AGG.airHourly, ['aqi'], stationScope),
            { columns: ['aqi'], tags: ['station'], mayBeEmpty: true },
            { alias: '$tag_station' },
          ),
        ],
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
        title: `Hourly AQI by city 各城市小时 AQI (${standard}, from the city's mean concentrations)`,
        description: `${about} A city's hourly AQI is that of the mean of its stations' hourly means, as HJ 663 makes a city's concentrations.`,
        targets: [
          target(
            'C',
            points(AGG.cityHourly, ['aqi'], cityScope, 'city'),
            { columns: ['aqi'], tags: ['city'], mayBeEmpty: true },
            { alias: '$tag_city' },
          ),
        ],
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
        title: 'Current AQI 当前 AQI (latest hour with an AQI)',
        description: "Each station's latest hourly AQI in the last day of the time range, coloured by HJ 633 category.",
        targets: [
          target(
            'N',
            latest(AGG.airHourly, 'aqi', stationScope),
            { columns: ['aqi'], tags: ['station'], mayBeEmpty: true },
            { format: 'table' },
          ),
        ],
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
      const limits = limitTargets(ctx, p, { measurement: AGG.airHourly, scope: stationScope, stations });
      grid.add(
        timeseries({
          title: paramTitle(p),
          description: `Bands: the HJ 633 category of the value's IAQI (${standard}, hourly breakpoints). Dashed red line: the GB 3095 limit of the unified thresholds for the chosen period (1-h limits for real-time, minute and hour readings; 24-h, O3 8-h, for day readings).`,
          targets: [
            target(
              'A',
              {
                columns: [{ expr: call('mean', p), as: p }],
                from: MEASUREMENTS.air,
                where: [...byStation, TIME_FILTER],
                groupBy: { time: INTERVAL, tags: ['station'] },
                fill: 'none',
              },
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
