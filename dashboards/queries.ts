/**
 * Every InfluxQL query of a dashboard (panel targets, annotations, template variables), and the
 * substitution Grafana's InfluxDB data source performs before sending one: macros ($timeFilter,
 * $__interval, $__range_s …) and template variables, formatted as that data source formats them.
 * Used by the tests that run each query against InfluxDB; useful to check dashboards against a
 * production InfluxDB as well.
 */
import { escapeRegex } from './influxql.js';
import type { Dashboard, Panel, Variable } from './model.js';
import type { QueryKey } from './panels.js';

export interface ExtractedQuery {
  dashboard: string;
  key: QueryKey;
  kind: 'panel' | 'annotation' | 'variable';
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
  for (const [unit, size] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000]] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

function builtins(b: Bindings): Record<string, string> {
  const interval = formatInterval(b.intervalMs);
  const rangeMs = b.to - b.from;
  return {
    timeFilter: `time >= ${b.from}ms and time <= ${b.to}ms`,
    __interval: interval,
    interval,
    __interval_ms: String(b.intervalMs),
    __range_s: String(Math.floor(rangeMs / 1000)),
    __range_ms: String(rangeMs),
    __range: `${Math.floor(rangeMs / 1000)}s`,
    __from: String(b.from),
    __to: String(b.to),
  };
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

/** The query as Grafana would send it. Throws on a variable the dashboard does not define. */
export function interpolate(query: string, d: Dashboard, b: Bindings): string {
  const fixed = builtins(b);
  const vars = new Map(d.templating.list.map((v) => [v.name, v]));
  return query.replace(/\$\{(\w+)(?::\w+)?\}|\[\[(\w+)\]\]|\$(\w+)/g, (whole, braced: string | undefined, bracketed: string | undefined, plain: string | undefined) => {
    const name = (braced ?? bracketed ?? plain) as string;
    if (name in fixed) return fixed[name] as string;
    const v = vars.get(name);
    if (!v) throw new Error(`${d.uid}: query uses $${name}, which is neither a Grafana macro nor a variable of the dashboard`);
    const value = b.variables[name] ?? v.current.value;
    return formatVariable(v, value, b.options?.[name]);
  });
}

/**
 * Runs the dashboard's query variables in order, as Grafana does on load, and returns the bindings
 * with their values, so '$__all' of a query variable means what it would in Grafana.
 */
export async function withQueriedOptions(d: Dashboard, b: Bindings, run: (query: string) => Promise<string[]>): Promise<Bindings> {
  let out: Bindings = { ...b, options: { ...(b.options ?? {}) } };
  for (const v of d.templating.list) {
    if (v.type !== 'query') continue;
    const values = await run(interpolate(v.query, d, out));
    out = { ...out, options: { ...out.options, [v.name]: values } };
  }
  return out;
}

/** Names of the variables and macros a query uses. */
export function referencedNames(query: string): string[] {
  return [...query.matchAll(/\$\{(\w+)(?::\w+)?\}|\[\[(\w+)\]\]|\$(\w+)/g)].map((m) => (m[1] ?? m[2] ?? m[3]) as string);
}

export const MACROS: ReadonlySet<string> = new Set(Object.keys(builtins({ from: 0, to: 1, intervalMs: 1, variables: {} })));
