/**
 * Basin overview: every station on a map coloured by its current water class or AQI category, the
 * latest value per section, the alerts firing now, and how complete each station's data is.
 */
import { CLASS_ORDER, WATER_CLASS_LABEL } from '../lib/standards/index.js';
import { POLLUTANTS, aqiCategoryMappings } from './air.js';
import { AGG, latest } from './aggregate-queries.js';
import { NO_DATA_COLOR } from './colors.js';
import { PERIOD_IS_VAR, grafanaUnit, periodVariable } from './common.js';
import { airStations, aqiStandard, stationLabel, waterSections, type BuildContext } from './context.js';
import { MEASUREMENTS } from './datasource.js';
import { RANGE_HOURS, TIME_FILTER, call, ident, or, str, type SelectSpec } from './influxql.js';
import { latestTable } from './latest-table.js';
import { aqiCategorySteps, classBandSteps } from './limits.js';
import type { FieldOverride } from './model.js';
import { Grid, byName, dashboard, geomap, table, target, text, valueTexts, type BuiltDashboard } from './panels.js';
import { AUTOMATIC_STATION_PARAMETERS, SECTION_DETAIL_UID, classDisplay } from './section-detail.js';

export const BASIN_OVERVIEW_UID = 'tj-basin-overview';

/** Alerts whose last event is older than this are not looked at (reminders come every few hours while one fires). */
export const FIRING_LOOKBACK = '90d';

/**
 * Share of the expected readings each station sent with a valid value of each parameter, in %,
 * from the hourly aggregates: valid reporting slots over (slots per hour × hours in the range).
 * Hours a station sent nothing in count as missing. The range comes from ${__from}/${__to}
 * (Grafana fills no $__range_s for InfluxQL).
 */
function completeness(measurement: string, params: readonly string[]): SelectSpec {
  return {
    columns: params.map((p) => ({ expr: `${call('sum', `n_${p}`)} * 100 / (${call('max', 'expected')} * ${RANGE_HOURS})`, as: p })),
    from: measurement,
    where: [TIME_FILTER],
    groupBy: { tags: ['station'] },
  };
}

const completenessSteps = [
  { value: null, color: '#E02020' },
  { value: 75, color: '#F2D600' },
  { value: 90, color: '#22B14C' },
];

function stationLinks(): FieldOverride {
  return byName('station', [
    {
      id: 'links',
      value: [{ title: 'Section detail 断面详情', url: `/d/${SECTION_DETAIL_UID}?var-station=\${__value.raw}&\${__url_time_range}` }],
    },
  ]);
}

export function basinOverview(ctx: BuildContext): BuiltDashboard {
  const grid = new Grid();
  const sections = waterSections(ctx);
  const air = airStations(ctx);
  const all = [...sections, ...air];
  const standard = aqiStandard(ctx);
  const names = valueTexts(all.map((s) => [s.id, stationLabel(s)]));

  const lat = all.reduce((a, s) => a + s.coordinates.lat, 0) / all.length;
  const lon = all.reduce((a, s) => a + s.coordinates.lon, 0) / all.length;
  const classes = [
    target('W', latest(AGG.waterHourly, 'class', []), { columns: ['class'], tags: ['station'], mayBeEmpty: true }, { format: 'table' }),
  ];
  const aqis = [
    target('A', latest(AGG.airHourly, 'aqi', []), { columns: ['aqi'], tags: ['station'], mayBeEmpty: true }, { format: 'table' }),
  ];
  const { thresholds: classSteps, mappings: classMappings } = classDisplay();
  const lookup = { mode: 'lookup', lookup: 'station', gazetteer: ctx.gazetteerUrl };
  const marker = (refId: string, name: string, field: string, symbol: string) => ({
    type: 'markers',
    name,
    filterData: { id: 'byRefId', options: refId },
    location: lookup,
    tooltip: true,
    config: {
      showLegend: true,
      style: {
        color: { field, fixed: NO_DATA_COLOR },
        opacity: 0.9,
        size: { fixed: 14, min: 4, max: 20 },
        symbol: { mode: 'fixed', fixed: symbol },
        symbolAlign: { horizontal: 'center', vertical: 'center' },
        text: { mode: 'field', field: 'station', fixed: '' },
        textConfig: { fontSize: 11, offsetX: 0, offsetY: -16, textAlign: 'center', textBaseline: 'bottom' },
        rotation: { fixed: 0, mode: 'mod', min: -360, max: 360 },
      },
    },
  });

  grid.add(
    geomap({
      title: 'Stations 站点: water class 水质类别 (●) and AQI category 空气质量 (■), now',
      description: `Grey: every station in the registry. Circles: water sections coloured by the GB 3838 class of their latest hour; squares: air stations by the ${standard} AQI category of their latest hour. From the hourly aggregates (values flagged N, at least 45 minutes of them) in the last day of the time range; a station without a valid hour in that day stays grey.`,
      targets: [...classes, ...aqis],
      overrides: [
        byName('class', [
          { id: 'thresholds', value: { mode: 'absolute', steps: classSteps } },
          { id: 'mappings', value: classMappings },
          { id: 'color', value: { mode: 'thresholds' } },
        ]),
        byName('aqi', [
          { id: 'thresholds', value: { mode: 'absolute', steps: aqiCategorySteps() } },
          { id: 'mappings', value: aqiCategoryMappings() },
          { id: 'color', value: { mode: 'thresholds' } },
        ]),
        byName('station', [{ id: 'mappings', value: [names] }]),
      ],
      options: {
        view: { id: 'coords', lat: Number(lat.toFixed(3)), lon: Number(lon.toFixed(3)), zoom: 9, allLayers: true },
        controls: { showZoom: true, mouseWheelZoom: true, showAttribution: true, showScale: true },
        basemap: { type: 'default', name: 'Basemap' },
        layers: [
          {
            type: 'geojson',
            name: 'All stations 全部站点',
            config: { src: ctx.geojsonUrl, rules: [], style: { color: { fixed: NO_DATA_COLOR }, opacity: 0.5, size: { fixed: 8 } } },
          },
          ...classes.map((t) => marker(t.refId, 'Water class 水质类别', 'class', 'img/icons/marker/circle.svg')),
          ...aqis.map((t) => marker(t.refId, 'AQI 小时 hourly', 'aqi', 'img/icons/marker/square.svg')),
        ],
        tooltip: { mode: 'details' },
      },
    }),
    14,
    14,
  );

  grid.add(
    text(
      'Basis 依据',
      [
        `- Water class: GB 3838-2002 Table 1, single-factor method; reference items (not deciding): ${[...new Set(sections.flatMap((s) => ctx.thresholds.config.stations[s.id]?.rules?.water_class?.reference_items ?? ctx.thresholds.config.defaults.rules.water_class.reference_items))].join(', ') || 'none'}.`,
        `- Colours I–II blue, III green, IV yellow, V orange, 劣V red (bulletin convention): ${CLASS_ORDER.map((c) => `${c} ${WATER_CLASS_LABEL[c]}`).join(' · ')}.`,
        `- AQI: ${standard} hourly report, from the hourly aggregates; HJ 633 category colours. Daily AQI, good-day ratios and monthly classes: the assessment dashboards.`,
        `- Alert limits drawn on panels: unified thresholds version ${ctx.thresholds.version} (config/thresholds.yaml).`,
        '- Class and AQI use only values flagged N and only hours with at least 45 minutes of them (GB 3095-2012 Table 4; docs/domain.md §6). The latest-value table shows every value as sent.',
        '- Generated from config/ by `npm run dashboards:build`: edit the TypeScript in dashboards/, not the JSON.',
      ].join('\n'),
    ),
    10,
    5,
  );

  grid.add(
    table({
      title: `Alerts firing now 当前告警 (last event within ${FIRING_LOOKBACK})`,
      description:
        'Each alert key whose latest event is a firing or a reminder, i.e. not yet resolved. Muted: inside a maintenance window (recorded, not sent).',
      targets: [
        target(
          'F',
          {
            columns: ['kind', 'message', 'value', 'limit', 'threshold_version', 'muted'].map((c) => ({ expr: ident(c), as: c })),
            from: {
              // A selector with other fields returns those of the same point, and its time: the latest event per key.
              columns: [
                { expr: call('last', 'kind'), as: 'kind' },
                ...['message', 'value', 'limit', 'threshold_version', 'muted'].map((c) => ({ expr: ident(c), as: c })),
              ],
              from: MEASUREMENTS.alerts,
              where: [`time > now() - ${FIRING_LOOKBACK}`],
              groupBy: { tags: ['station', 'city', 'parameter', 'rule', 'period'] },
            },
            where: [or(`${ident('kind')} = ${str('firing')}`, `${ident('kind')} = ${str('reminder')}`)],
            groupBy: { tags: ['station', 'city', 'parameter', 'rule', 'period'] },
          },
          {
            columns: ['kind', 'message', 'value', 'limit', 'threshold_version', 'muted'],
            tags: ['station', 'city', 'parameter', 'rule', 'period'],
            alerts: {},
          },
          { format: 'table' },
        ),
      ],
      overrides: [stationLinks(), byName('station', [{ id: 'mappings', value: [names] }])],
      sortBy: [{ displayName: 'Time', desc: true }],
    }),
    10,
    9,
  );

  const autoParams = AUTOMATIC_STATION_PARAMETERS.filter((k) => k !== 'temp');
  grid.add(
    latestTable({
      title: 'Latest value per section 各断面最新值 (river order: km in the name)',
      description:
        "The latest value of each automatic-station parameter in the time range, coloured by its own GB 3838 class; the section's current class is on the map.",
      measurement: MEASUREMENTS.water,
      params: AUTOMATIC_STATION_PARAMETERS,
      where: [PERIOD_IS_VAR],
      tags: ['station'],
      series: { tag: 'station', from: 'water-stations' },
      overrides: [
        byName('station', [{ id: 'mappings', value: [names] }]),
        stationLinks(),
        ...autoParams.map((p) => {
          const steps = classBandSteps(p, 'river');
          return byName(p, [
            { id: 'unit', value: grafanaUnit(p) },
            ...(steps
              ? [
                  { id: 'thresholds', value: { mode: 'absolute', steps } },
                  { id: 'custom.cellOptions', value: { type: 'color-text' } },
                ]
              : []),
          ]);
        }),
      ],
    }),
    24,
    8,
  );

  grid.row('Data completeness 数据完整率', () => {
    for (const [title, measurement, params] of [
      ['Water sections 水质断面', AGG.waterHourly, AUTOMATIC_STATION_PARAMETERS],
      ['Air stations 空气站点', AGG.airHourly, POLLUTANTS],
    ] as const) {
      grid.add(
        table({
          title: `${title}: % of expected readings with a valid value`,
          description:
            "Valid readings (flagged N, one per reporting slot of the station's report_interval_s) as a share of those expected over the time range, per parameter, from the hourly aggregates. The current hour counts in full, so the last hour pulls the figure down a little. Monthly figures and the stations below target: the assessment dashboards.",
          targets: [
            target(
              'P',
              completeness(measurement, params),
              { columns: [...params], tags: ['station'], mayBeEmpty: true, mayBeNull: [...params] },
              { format: 'table' },
            ),
          ],
          unit: 'percent',
          decimals: 0,
          thresholds: completenessSteps,
          overrides: [
            byName('station', [{ id: 'mappings', value: [names] }]),
            ...params.map((p) => byName(p, [{ id: 'custom.cellOptions', value: { type: 'color-background' } }])),
          ],
        }),
        12,
        8,
      );
    }
  });

  return dashboard(grid, {
    uid: BASIN_OVERVIEW_UID,
    title: '沱江流域总览 Tuojiang basin overview',
    description:
      'Every station on the map by current water class or AQI category, the latest value per section, alerts firing now and data completeness.',
    variables: [periodVariable()],
    tags: ['water', 'air'],
  });
}
