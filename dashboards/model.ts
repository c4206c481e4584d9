/**
 * The part of Grafana's dashboard JSON model (classic schema, schemaVersion 39: Grafana 10.4 and
 * later, which migrate it forward on load) that our dashboards use, as plain types. Written by hand
 * rather than taken from @grafana/grafana-foundation-sdk: docs/decisions/0005-dashboards-as-code.md.
 */

export const SCHEMA_VERSION = 39;

export interface DataSourceRef {
  type: string;
  uid: string;
}

/** An InfluxQL query in raw mode, as Grafana's InfluxDB data source stores it. */
export interface InfluxTarget {
  refId: string;
  datasource: DataSourceRef;
  query: string;
  rawQuery: true;
  resultFormat: 'time_series' | 'table';
  /** Series naming, e.g. `$tag_station`; Grafana expands $tag_<key>, $col, $m. */
  alias?: string;
  hide?: boolean;
}

export interface ThresholdStep {
  /** null for the base step (everything below the first value). */
  value: number | null;
  color: string;
}

export interface Thresholds {
  mode: 'absolute' | 'percentage';
  steps: ThresholdStep[];
}

export type ValueMapping =
  | { type: 'value'; options: Record<string, { text?: string; color?: string; index: number }> }
  | { type: 'range'; options: { from: number | null; to: number | null; result: { text?: string; color?: string; index: number } } };

export interface FieldDefaults {
  unit?: string;
  decimals?: number;
  min?: number;
  max?: number;
  displayName?: string;
  color?: { mode: string; fixedColor?: string };
  thresholds?: Thresholds;
  mappings?: ValueMapping[];
  links?: Array<{ title: string; url: string }>;
  custom?: Record<string, unknown>;
}

export interface FieldOverride {
  matcher: { id: 'byName' | 'byRegexp' | 'byFrameRefID' | 'byType'; options: string };
  properties: Array<{ id: string; value: unknown }>;
}

export interface FieldConfig {
  defaults: FieldDefaults;
  overrides: FieldOverride[];
}

export interface GridPos {
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface Transformation {
  id: string;
  options: Record<string, unknown>;
}

export interface Panel {
  id: number;
  type: string;
  title: string;
  description?: string;
  gridPos: GridPos;
  datasource?: DataSourceRef;
  targets?: InfluxTarget[];
  fieldConfig?: FieldConfig;
  options?: Record<string, unknown>;
  transformations?: Transformation[];
  interval?: string;
  maxDataPoints?: number;
  /** Rows only. */
  collapsed?: boolean;
  /** Rows only: the panels a collapsed row holds. */
  panels?: Panel[];
}

export interface VariableOption {
  text: string;
  value: string;
  selected: boolean;
}

interface VariableBase {
  name: string;
  label?: string;
  description?: string;
  hide: 0 | 1 | 2;
  skipUrlSync: boolean;
}

export interface CustomVariable extends VariableBase {
  type: 'custom';
  query: string;
  multi: boolean;
  includeAll: boolean;
  allValue?: string;
  current: { text: string | string[]; value: string | string[]; selected?: boolean };
  options: VariableOption[];
}

export interface QueryVariable extends VariableBase {
  type: 'query';
  datasource: DataSourceRef;
  /** InfluxDB variable queries are plain InfluxQL strings. */
  query: string;
  refresh: 1 | 2;
  multi: boolean;
  includeAll: boolean;
  sort: number;
  regex: string;
  current: { text: string | string[]; value: string | string[]; selected?: boolean };
  options: VariableOption[];
}

export type Variable = CustomVariable | QueryVariable;

/** An InfluxQL annotation query: Grafana runs its `target`. */
export interface InfluxAnnotation {
  name: string;
  datasource: DataSourceRef;
  enable: boolean;
  hide: boolean;
  iconColor: string;
  target: {
    refId: string;
    query: string;
    rawQuery: true;
    fromAnnotations: true;
    textEditor: true;
    textColumn: string;
    tagsColumn: string;
    titleColumn: string;
  };
}

/** Grafana's own annotations (manual ones, alerting): kept so a UI save does not add it as a diff. */
export interface BuiltInAnnotation {
  builtIn: 1;
  datasource: { type: 'grafana'; uid: '-- Grafana --' };
  enable: true;
  hide: true;
  iconColor: string;
  name: string;
  type: 'dashboard';
}

export interface DashboardLink {
  title: string;
  type: 'dashboards';
  tags: string[];
  asDropdown: boolean;
  includeVars: boolean;
  keepTime: boolean;
  icon: string;
  tooltip: string;
  targetBlank: boolean;
  url: string;
}

export interface Dashboard {
  uid: string;
  title: string;
  description: string;
  tags: string[];
  timezone: string;
  editable: boolean;
  graphTooltip: 0 | 1 | 2;
  schemaVersion: number;
  refresh: string;
  time: { from: string; to: string };
  timepicker: Record<string, unknown>;
  fiscalYearStartMonth: number;
  liveNow: boolean;
  weekStart: string;
  links: DashboardLink[];
  templating: { list: Variable[] };
  annotations: { list: Array<BuiltInAnnotation | InfluxAnnotation> };
  panels: Panel[];
}
