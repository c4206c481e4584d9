/**
 * Every InfluxQL query of a dashboard (panel targets, annotations, template variables), and the
 * substitution Grafana's InfluxDB data source performs before sending one: the macros it really
 * fills for InfluxQL and template variables, formatted as that data source formats them. Used by
 * the tests that run each query against InfluxDB; useful to check dashboards against a production
 * InfluxDB as well. Anything Grafana would leave unfilled is refused (TJ_DASHBOARD_MACRO), so a
 * query can never pass here and reach InfluxDB with a literal `$__range_s` in Grafana.
 */
import { TuojiangError } from '../lib/errors.js';
import { escapeRegex } from './influxql.js';
import type { Dashboard, Panel, Variable } from './model.js';
import type { QueryKey } from './panels.js';

/** Where a query sits decides what Grafana fills in it. */
export type QueryKind = 'panel' | 'annotation' | 'variable';

export interface ExtractedQuery {
  dashboard: string;
  key: QueryKey;
  kind: QueryKind;
  title: string;
  refId?: string;
  query: string;
}

const flatPanels = (ps: readonly Panel[] | undefined): Panel[] => (ps ?? []).flatMap((p) => [p, ...flatPanels(p.panels)]);

export function extractQueries(d: Dashboard): ExtractedQuery[] {
  const out: ExtractedQuery[] = [];
  for (const p of flatPanels(d.panels)) {
    for (const t of p.targets ?? []) {
      out.push({ dashboard: d.uid, key: `panel/${p.id}/${t.refId}`, kind: 'panel', title: p.title, refId: t.refId, query: t.query });
    }
  }
  for (const a of d.annotations.list) {
    if ('builtIn' in a) continue;
    out.push({ dashboard: d.uid, key: `annotation/${a.name}`, kind: 'annotation', title: a.name, query: a.target.query });
  }
  for (const v of d.templating.list) {
    if (v.type === 'query') out.push({ dashboard: d.uid, key: `variable/${v.name}`, kind: 'variable', title: v.name, query: v.query });
  }
  return out;
}

export interface Bindings {
  /** Dashboard time range, epoch ms. */
  from: number;
  to: number;
  /** What Grafana would compute for $__interval. */
  intervalMs: number;
  /** Variable values: one value, several, or '$__all'. */
  variables: Record<string, string | string[]>;
  /** Values of query variables, as their queries returned them (what '$__all' stands for). */
  options?: Record<string, string[]>;
}

/** Grafana's interval notation: 10m, 1h, 30s, 250ms. */
export function formatInterval(ms: number): string {
  for (const [unit, size] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

/**
 * The macros Grafana (read in 11.6's source; docker-compose.yml now runs 12.4) fills in an InfluxQL query, by where the query sits,
 * read from Grafana's source (docs/decisions/0005-dashboards-as-code.md, "Macros"):
 * - the backend, pkg/tsdb/influxdb/models/query.go `(*Query).Build`, replaces `$timeFilter`,
 *   `$interval`, `$__interval_ms` and `$__interval` in every query it runs (the interval is the
 *   panel query's; annotation queries carry none);
 * - the frontend, public/app/plugins/datasource/influxdb/datasource.ts `applyTemplateVariables` /
 *   `applyVariables`, runs templateSrv.replace(query, scopedVars without __interval*, 'regex'):
 *   template variables, and `${__from}` / `${__to}` (TemplateSrv.updateIndex in
 *   public/app/features/templating/template_srv.ts; in scenes dashboards the `__from` / `__to`
 *   macros of @grafana/scenes src/variables/macros/index.ts); `metricFindQuery` (variable
 *   queries) and `annotationEvents` do the same, and `_seriesQuery` fills `$timeFilter`;
 * - `$__range`, `$__range_s`, `$__range_ms` and `$__rate_interval` are scoped variables only the
 *   Prometheus and Loki data sources add (their `getRangeScopedVars`): never for InfluxQL.
 */
export const FILLED_MACROS: Readonly<Record<QueryKind, readonly string[]>> = {
  panel: ['timeFilter', '__interval', '__interval_ms', 'interval', '__from', '__to'],
  annotation: ['timeFilter', '__from', '__to'],
  variable: ['timeFilter', '__from', '__to'],
};

function macroValues(b: Bindings): Record<string, string> {
  const interval = formatInterval(b.intervalMs);
  return {
    timeFilter: `time >= ${b.from}ms and time <= ${b.to}ms`,
    __interval: interval,
    interval,
    __interval_ms: String(b.intervalMs),
    __from: String(b.from),
    __to: String(b.to),
  };
}

const REFERENCE = /\$\{(\w+)(?::([^}]*))?\}|\[\[(\w+)(?::([^\]]*))?\]\]|\$(\w+)/g;

function refuse(d: Dashboard, kind: QueryKind, written: string, why: string): never {
  const filled = FILLED_MACROS[kind].map((m) => (m.startsWith('__') ? `\${${m}}` : `$${m}`)).join(', ');
  throw new TuojiangError(
    'DASHBOARD_MACRO',
    `${d.uid}: a ${kind} query uses ${written}, ${why}. In a ${kind} query Grafana's InfluxDB data source fills ${filled} and the dashboard's variables.`,
    { dashboard: d.uid, kind, reference: written },
  );
}

/**
 * The value of a variable as Grafana's InfluxDB data source writes it into a query: a multi-value
 * or include-all variable is regex-escaped and several values become `(a|b)`; a single-value
 * variable is written as it is.
 */
export function formatVariable(v: Variable, value: string | string[], queried?: string[]): string {
  let values = Array.isArray(value) ? value : [value];
  if (values.includes('$__all')) {
    if (v.type === 'custom' && v.allValue) return v.allValue;
    values = queried ?? v.options.map((o) => o.value).filter((x) => x !== '$__all');
  }
  if (!v.multi && !v.includeAll) return values[0] ?? '';
  const escaped = values.map(escapeRegex);
  return escaped.length === 1 ? (escaped[0] as string) : `(${escaped.join('|')})`;
}

/**
 * The query as Grafana would send it. Refuses (TJ_DASHBOARD_MACRO) a macro Grafana does not fill
 * in this kind of query, a variable the dashboard does not define, and a `:format`, which this
 * substitution does not model.
 */
export function interpolate(query: string, d: Dashboard, b: Bindings, kind: QueryKind = 'panel'): string {
  const values = macroValues(b);
  const filled = new Set(FILLED_MACROS[kind]);
  const vars = new Map(d.templating.list.map((v) => [v.name, v]));
  return query.replace(
    REFERENCE,
    (whole: string, braced?: string, bracedFormat?: string, bracketed?: string, bracketedFormat?: string, plain?: string) => {
      const name = (braced ?? bracketed ?? plain) as string;
      if ((bracedFormat ?? bracketedFormat) !== undefined) refuse(d, kind, whole, 'a format this check does not model');
      if (filled.has(name)) return values[name] as string;
      if (name.startsWith('__') || name in values) refuse(d, kind, whole, 'which Grafana leaves unfilled there');
      const v = vars.get(name);
      if (!v) refuse(d, kind, whole, 'which is neither a Grafana macro nor a variable of the dashboard');
      const value = b.variables[name] ?? v.current.value;
      return formatVariable(v, value, b.options?.[name]);
    },
  );
}

/**
 * Runs the dashboard's query variables in order, as Grafana does on load, and returns the bindings
 * with their values, so '$__all' of a query variable means what it would in Grafana.
 */
export async function withQueriedOptions(d: Dashboard, b: Bindings, run: (query: string) => Promise<string[]>): Promise<Bindings> {
  let out: Bindings = { ...b, options: { ...(b.options ?? {}) } };
  for (const v of d.templating.list) {
    if (v.type !== 'query') continue;
    const values = await run(interpolate(v.query, d, out, 'variable'));
    out = { ...out, options: { ...out.options, [v.name]: values } };
  }
  return out;
}

/** Names of the variables and macros a query uses. */
export function referencedNames(query: string): string[] {
  return [...query.matchAll(REFERENCE)].map((m) => (m[1] ?? m[3] ?? m[5]) as string);
}
