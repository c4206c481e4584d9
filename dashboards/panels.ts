/**
 * Panel, target, variable and annotation constructors, a grid layout, and the record of what
 * every query is expected to return (used by the tests that run each query against InfluxDB).
 */
import { LIMIT_LINE_COLOR } from './colors.js';
import { DATASOURCE } from './datasource.js';
import { STALE_AFTER_MS } from './freshness.js';
import { select, type SelectSpec } from './influxql.js';
import type {
  CustomVariable,
  Dashboard,
  FieldConfig,
  FieldDefaults,
  FieldOverride,
  GridPos,
  InfluxAnnotation,
  InfluxTarget,
  Panel,
  QueryVariable,
  ThresholdStep,
  Transformation,
  ValueMapping,
} from './model.js';
import { SCHEMA_VERSION } from './model.js';

/** Where the series a query returns come from, for the query tests. */
export type SeriesSource = 'water-stations' | 'air-stations' | 'cities' | 'instances' | { variable: string };

export interface QueryExpectation {
  /** Value columns of every series, in order (time excluded). */
  columns: string[];
  /** Instead of fixed columns: every column (but time) matches this regular expression, and there is at least one. */
  columnsMatch?: string;
  /** Tag keys every series carries (its GROUP BY). */
  tags: string[];
  /** Which tag values the series should cover, for the tag named. */
  series?: { tag: string; from: SeriesSource };
  /** The query returns data only while each named variable has one of these values. */
  when?: Record<string, string[]>;
  /**
   * The query reads alert events: it returns data only if an event exists whose tags equal the
   * named variables' values (alert tag → variable name; {} = any event).
   */
  alerts?: Record<string, string>;
  /** Reads pipeline_health: the series are the instances whose samples carried all these fields. */
  healthFields?: string[];
  /** A SHOW query (template variable): columns of its result instead. */
  show?: boolean;
  /** Returns only what lies in a window the data may not reach (e.g. the last 2 h): no data is no error. */
  mayBeEmpty?: boolean;
  /** Columns that may be null in every row of a series (a 超标倍数 where nothing was over). */
  mayBeNull?: string[];
}

/** Key of a query in a dashboard: `panel/<id>/<refId>`, `annotation/<name>` or `variable/<name>`. */
export type QueryKey = string;

export interface BuiltDashboard {
  dashboard: Dashboard;
  expectations: Map<QueryKey, QueryExpectation>;
}

export interface PendingTarget {
  refId: string;
  query: string;
  format: 'time_series' | 'table';
  alias?: string;
  expect: QueryExpectation;
}

export function target(
  refId: string,
  q: SelectSpec | string,
  expect: QueryExpectation,
  opts: { format?: 'time_series' | 'table'; alias?: string } = {},
): PendingTarget {
  return {
    refId,
    query: typeof q === 'string' ? q : select(q),
    format: opts.format ?? 'time_series',
    ...(opts.alias ? { alias: opts.alias } : {}),
    expect,
  };
}

/** A panel before layout: no id or position yet. */
export interface PanelDraft extends Omit<Panel, 'id' | 'gridPos' | 'targets' | 'panels'> {
  pending?: PendingTarget[];
}

const baseCustomTimeseries = {
  drawStyle: 'line',
  lineInterpolation: 'linear',
  lineWidth: 1,
  fillOpacity: 0,
  gradientMode: 'none',
  pointSize: 4,
  showPoints: 'auto',
  spanNulls: false,
  axisPlacement: 'auto',
  axisLabel: '',
  stacking: { mode: 'none', group: 'A' },
  thresholdsStyle: { mode: 'off' },
};

export interface Common {
  title: string;
  description?: string;
  targets: PendingTarget[];
  unit?: string;
  decimals?: number;
  min?: number;
  max?: number;
  thresholds?: ThresholdStep[];
  mappings?: ValueMapping[];
  overrides?: FieldOverride[];
  transformations?: Transformation[];
  links?: FieldDefaults['links'];
}

function fieldConfig(c: Common, custom: Record<string, unknown>, color: FieldDefaults['color']): FieldConfig {
  const defaults: FieldDefaults = { custom, color };
  if (c.unit) defaults.unit = c.unit;
  if (c.decimals !== undefined) defaults.decimals = c.decimals;
  if (c.min !== undefined) defaults.min = c.min;
  if (c.max !== undefined) defaults.max = c.max;
  defaults.thresholds = { mode: 'absolute', steps: c.thresholds ?? [{ value: null, color: 'text' }] };
  defaults.mappings = c.mappings ?? [];
  if (c.links) defaults.links = c.links;
  return { defaults, overrides: c.overrides ?? [] };
}

function draft(type: string, c: Common, fc: FieldConfig, options: Record<string, unknown>): PanelDraft {
  return {
    type,
    title: c.title,
    ...(c.description ? { description: c.description } : {}),
    datasource: DATASOURCE,
    fieldConfig: fc,
    options,
    ...(c.transformations ? { transformations: c.transformations } : {}),
    pending: c.targets,
  };
}

export function timeseries(
  c: Common & {
    thresholdsStyle?: 'off' | 'line' | 'area' | 'line+area' | 'dashed+area';
    legendSort?: 'Name';
    points?: boolean;
    gapAfterMs?: number;
  },
): PanelDraft {
  // Queries use fill(none), so an outage has no null to break the line at: Grafana inserts one
  // wherever two points are further apart than this, and the outage shows as a gap.
  const custom = {
    ...baseCustomTimeseries,
    insertNulls: c.gapAfterMs ?? STALE_AFTER_MS,
    thresholdsStyle: { mode: c.thresholdsStyle ?? 'off' },
    ...(c.points ? { showPoints: 'always' } : {}),
  };
  return draft('timeseries', c, fieldConfig(c, custom, { mode: 'palette-classic' }), {
    legend: {
      showLegend: true,
      displayMode: 'list',
      placement: 'bottom',
      calcs: [],
      ...(c.legendSort ? { sortBy: c.legendSort, sortDesc: false } : {}),
    },
    tooltip: { mode: 'multi', sort: 'none' },
  });
}

/**
 * Leave columns out of a table. An organize transformation rather than the `custom.hidden` field
 * option: Grafana 12's table no longer has that option (@grafana/schema 12.4's TableFieldOptions).
 */
export function hideColumns(...names: string[]): Transformation {
  return { id: 'organize', options: { excludeByName: Object.fromEntries(names.map((n) => [n, true])), indexByName: {}, renameByName: {} } };
}

/**
 * One row per section in river order, for a panel that shows each section's series: the series
 * joined on time, then ordered as given (Grafana would otherwise order them by series name).
 */
export function sectionRows(sectionIds: readonly string[]): Transformation[] {
  return [
    { id: 'joinByField', options: { byField: 'Time', mode: 'outer' } },
    {
      id: 'organize',
      options: {
        indexByName: Object.fromEntries([['Time', 0], ...sectionIds.map((id, i) => [id, i + 1])]),
        excludeByName: {},
        renameByName: {},
      },
    },
  ];
}

export function table(c: Common & { sortBy?: Array<{ displayName: string; desc: boolean }> }): PanelDraft {
  return draft('table', c, fieldConfig(c, { align: 'auto', cellOptions: { type: 'auto' }, inspect: false }, { mode: 'thresholds' }), {
    showHeader: true,
    cellHeight: 'sm',
    frameIndex: 0,
    ...(c.sortBy ? { sortBy: c.sortBy } : {}),
  });
}

export function stateTimeline(c: Common): PanelDraft {
  return draft('state-timeline', c, fieldConfig(c, { lineWidth: 0, fillOpacity: 85 }, { mode: 'thresholds' }), {
    mergeValues: true,
    showValue: 'auto',
    alignValue: 'left',
    rowHeight: 0.85,
    legend: { showLegend: true, displayMode: 'list', placement: 'bottom', calcs: [] },
    tooltip: { mode: 'single', sort: 'none' },
  });
}

export function barGauge(c: Common): PanelDraft {
  return draft('bargauge', c, fieldConfig(c, {}, { mode: 'thresholds' }), {
    reduceOptions: { values: false, calcs: ['lastNotNull'], fields: '' },
    orientation: 'horizontal',
    displayMode: 'basic',
    valueMode: 'color',
    showUnfilled: true,
    namePlacement: 'left',
    minVizWidth: 8,
    minVizHeight: 16,
    maxVizHeight: 300,
    sizing: 'auto',
    legend: { showLegend: false, displayMode: 'list', placement: 'bottom', calcs: [] },
  });
}

export function geomap(c: Common & { options: Record<string, unknown> }): PanelDraft {
  return draft('geomap', c, fieldConfig(c, {}, { mode: 'thresholds' }), c.options);
}

export function text(title: string, content: string): PanelDraft {
  return {
    type: 'text',
    title,
    options: { mode: 'markdown', content, code: { language: 'plaintext', showLineNumbers: false, showMiniMap: false } },
  };
}

/** Overrides that draw the limit targets as a dashed red line without points. */
export function limitLineOverrides(refIds: readonly string[]): FieldOverride[] {
  return refIds.map((refId) => ({
    matcher: { id: 'byFrameRefID', options: refId },
    properties: [
      { id: 'color', value: { mode: 'fixed', fixedColor: LIMIT_LINE_COLOR } },
      { id: 'custom.lineStyle', value: { fill: 'dash', dash: [10, 6] } },
      { id: 'custom.lineWidth', value: 2 },
      { id: 'custom.showPoints', value: 'never' },
      { id: 'custom.thresholdsStyle', value: { mode: 'off' } },
    ],
  }));
}

export const byName = (name: string, properties: FieldOverride['properties']): FieldOverride => ({
  matcher: { id: 'byName', options: name },
  properties,
});

/** Value mappings from raw values to display texts (and colours). */
export function valueTexts(entries: Array<[string, string, string?]>): ValueMapping {
  const options: Record<string, { text: string; color?: string; index: number }> = {};
  entries.forEach(([value, t, color], index) => {
    options[value] = { text: t, ...(color ? { color } : {}), index };
  });
  return { type: 'value', options };
}

/** Places panels left to right on Grafana's 24-column grid; rows start a new line. */
export class Grid {
  readonly panels: Panel[] = [];
  readonly expectations = new Map<QueryKey, QueryExpectation>();
  private nextId = 1;
  private x = 0;
  private y = 0;
  private lineHeight = 0;
  /** Panels of a collapsed row go inside the row, not on the dashboard. */
  private sink: Panel[] = this.panels;

  add(d: PanelDraft, w: number, h: number): Panel {
    if (w < 1 || w > 24) throw new Error(`panel "${d.title}": width ${w} outside 1..24`);
    if (this.x + w > 24) this.newLine();
    const gridPos: GridPos = { x: this.x, y: this.y, w, h };
    const id = this.nextId++;
    const { pending, ...rest } = d;
    const panel: Panel = { id, gridPos, ...rest };
    if (pending) {
      panel.targets = pending.map((t) => this.toTarget(`panel/${id}`, t));
    }
    this.sink.push(panel);
    this.x += w;
    this.lineHeight = Math.max(this.lineHeight, h);
    return panel;
  }

  /** A row; with `collapsed`, the panels added inside `fill` are stored in the row. */
  row(title: string, fill: () => void, opts: { collapsed?: boolean } = {}): void {
    this.newLine();
    const row: Panel = {
      id: this.nextId++,
      type: 'row',
      title,
      collapsed: opts.collapsed ?? false,
      gridPos: { x: 0, y: this.y, w: 24, h: 1 },
      panels: [],
    };
    this.panels.push(row);
    this.y += 1;
    if (opts.collapsed) {
      // Inside a collapsed row panels keep the places they take when it is expanded; on the
      // dashboard the next panel comes right after the row.
      this.sink = row.panels as Panel[];
      fill();
      this.sink = this.panels;
      this.y = row.gridPos.y + 1;
      this.x = 0;
      this.lineHeight = 0;
    } else {
      fill();
      this.newLine();
    }
  }

  private newLine(): void {
    if (this.x === 0 && this.lineHeight === 0) return;
    this.y += this.lineHeight;
    this.x = 0;
    this.lineHeight = 0;
  }

  private toTarget(prefix: string, t: PendingTarget): InfluxTarget {
    const key = `${prefix}/${t.refId}`;
    if (this.expectations.has(key)) throw new Error(`duplicate query ${key}`);
    this.expectations.set(key, t.expect);
    return {
      refId: t.refId,
      datasource: DATASOURCE,
      query: t.query,
      rawQuery: true,
      resultFormat: t.format,
      ...(t.alias ? { alias: t.alias } : {}),
    };
  }
}

export interface VariableChoice {
  value: string;
  text?: string;
}

export function customVariable(
  name: string,
  label: string,
  choices: readonly VariableChoice[],
  opts: { multi?: boolean; includeAll?: boolean; current?: string; description?: string } = {},
): CustomVariable {
  if (choices.length === 0) throw new Error(`variable ${name}: no choices`);
  const multi = opts.multi ?? false;
  const includeAll = opts.includeAll ?? false;
  const current = opts.current ?? (includeAll ? '$__all' : (choices[0] as VariableChoice).value);
  const allOption = includeAll ? [{ text: 'All', value: '$__all', selected: current === '$__all' }] : [];
  const currentText = current === '$__all' ? 'All' : (choices.find((c) => c.value === current)?.text ?? current);
  return {
    type: 'custom',
    name,
    label,
    ...(opts.description ? { description: opts.description } : {}),
    hide: 0,
    skipUrlSync: false,
    // Grafana's custom-variable syntax "text : value" keeps ids in queries and names in the picker.
    query: choices.map((c) => (c.text && c.text !== c.value ? `${c.text.replace(/[,:]/g, ' ')} : ${c.value}` : c.value)).join(','),
    multi,
    includeAll,
    current: { text: multi ? [currentText] : currentText, value: multi ? [current] : current, selected: true },
    options: [...allOption, ...choices.map((c) => ({ text: c.text ?? c.value, value: c.value, selected: c.value === current }))],
  };
}

export function queryVariable(
  name: string,
  label: string,
  query: string,
  grid: Grid,
  expect: QueryExpectation,
  opts: { multi?: boolean; includeAll?: boolean } = {},
): QueryVariable {
  grid.expectations.set(`variable/${name}`, { ...expect, show: true });
  const multi = opts.multi ?? true;
  const includeAll = opts.includeAll ?? true;
  return {
    type: 'query',
    name,
    label,
    hide: 0,
    skipUrlSync: false,
    datasource: DATASOURCE,
    query,
    refresh: 2,
    multi,
    includeAll,
    sort: 1,
    regex: '',
    current: includeAll ? { text: ['All'], value: ['$__all'], selected: true } : { text: '', value: '' },
    options: [],
  };
}

export function annotation(
  grid: Grid,
  name: string,
  q: SelectSpec,
  cols: { text: string; tags: string[]; title?: string },
  iconColor: string,
  expect: QueryExpectation,
): InfluxAnnotation {
  const query = select(q);
  grid.expectations.set(`annotation/${name}`, expect);
  const tagsColumn = cols.tags.join(',');
  const titleColumn = cols.title ?? '';
  return {
    name,
    datasource: DATASOURCE,
    enable: true,
    hide: false,
    iconColor,
    // Only `target`: Grafana 11's InfluxDB annotations run it (datasource.ts annotationEvents); the
    // old top-level query/columns are not in @grafana/schema's AnnotationQuery.
    target: {
      refId: 'Anno',
      query,
      rawQuery: true,
      fromAnnotations: true,
      textEditor: true,
      textColumn: cols.text,
      tagsColumn,
      titleColumn,
    },
  };
}

export const TAGS = ['tuojiang'];

export function dashboard(
  grid: Grid,
  d: Pick<Dashboard, 'uid' | 'title' | 'description'> & {
    variables?: Dashboard['templating']['list'];
    annotations?: InfluxAnnotation[];
    time?: Dashboard['time'];
    refresh?: string;
    tags?: string[];
  },
): BuiltDashboard {
  const dash: Dashboard = {
    uid: d.uid,
    title: d.title,
    description: d.description,
    tags: [...TAGS, ...(d.tags ?? [])],
    timezone: 'browser',
    editable: true,
    graphTooltip: 1,
    schemaVersion: SCHEMA_VERSION,
    refresh: d.refresh ?? '1m',
    time: d.time ?? { from: 'now-24h', to: 'now' },
    timepicker: {},
    fiscalYearStartMonth: 0,
    liveNow: false,
    weekStart: '',
    links: [
      {
        title: 'Tuojiang',
        type: 'dashboards',
        tags: TAGS,
        asDropdown: true,
        includeVars: false,
        keepTime: true,
        icon: 'external link',
        tooltip: '',
        targetBlank: false,
        url: '',
      },
    ],
    templating: { list: d.variables ?? [] },
    annotations: {
      list: [
        {
          builtIn: 1,
          datasource: { type: 'grafana', uid: '-- Grafana --' },
          enable: true,
          hide: true,
          iconColor: 'rgba(0, 211, 255, 1)',
          name: 'Annotations & Alerts',
          type: 'dashboard',
        },
        ...(d.annotations ?? []),
      ],
    },
    panels: grid.panels,
  };
  return { dashboard: dash, expectations: grid.expectations };
}
