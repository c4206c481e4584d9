/**
 * A small InfluxQL builder: quoting, conditions and SELECT statements (with subqueries), so that
 * dashboard queries are assembled from parts that are escaped once, correctly, in one place. The
 * output is plain InfluxQL text with Grafana macros ($timeFilter, $__interval, $var) left in place.
 */

/** Grafana's macros, as written into the queries. */
export const TIME_FILTER = '$timeFilter';
export const INTERVAL = '$__interval';
/**
 * Length of the dashboard's time range in hours, from `${__from}` and `${__to}` (epoch ms), which
 * Grafana fills in every InfluxQL query; its `$__range_s` is filled for Prometheus and Loki only.
 */
export const RANGE_HOURS = '((${__to} - ${__from}) / 3600000)';
/**
 * The last day of the dashboard's time range: "current" values look only there, which keeps the
 * class and AQI queries behind them cheap on long ranges (docs/decisions/0005).
 */
export const LAST_DAY_OF_RANGE = 'time >= ${__to}ms - 1d';

/** A double-quoted identifier (measurement, field or tag key). */
export function ident(name: string): string {
  return `"${name.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** A single-quoted string literal (tag values, string field values). */
export function str(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** Escapes regular-expression metacharacters (RE2 syntax, which InfluxDB uses). */
export function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, (c) => `\\${c}`);
}

/**
 * A number as InfluxQL reads it. InfluxQL has no exponent syntax (`1e15` is taken for a duration),
 * so every number is written out in positional notation.
 */
export function num(n: number): string {
  if (!Number.isFinite(n)) throw new Error(`not a finite number: ${n}`);
  const s = String(n);
  if (!/e/i.test(s)) return s;
  const fixed = Math.abs(n) < 1 ? n.toFixed(20) : BigInt(Math.round(n)).toString();
  return fixed.includes('.') ? fixed.replace(/0+$/, '').replace(/\.$/, '') : fixed;
}

export type Cond = string;

/** `"tag" = 'value'` */
export const tagIs = (tag: string, value: string): Cond => `${ident(tag)} = ${str(value)}`;

/** `"tag" =~ /^(a|b)$/`: one of a fixed set of values. */
export function tagIn(tag: string, values: readonly string[]): Cond {
  if (values.length === 0) throw new Error(`tagIn(${tag}): empty value set`);
  return `${ident(tag)} =~ /^(${values.map(escapeRegex).join('|')})$/`;
}

/** `"tag" = '$var'`: a single-value template variable. */
export const tagIsVar = (tag: string, variable: string): Cond => `${ident(tag)} = '$${variable}'`;

/** `"tag" =~ /^$var$/`: a multi-value template variable (Grafana writes `(a|b)` into the regex). */
export const tagMatchesVar = (tag: string, variable: string): Cond => `${ident(tag)} =~ /^$${variable}$/`;

/**
 * `'$var' = 'value'`: true only while the variable has that value. InfluxQL evaluates a comparison of
 * two literals, so a target can be switched on by a variable (e.g. the limit line of the parameter
 * shown) without a second statement.
 */
export const varIs = (variable: string, value: string): Cond => `'$${variable}' = ${str(value)}`;

/** Conditions ANDed; a bare disjunction is parenthesised (build those with or(), which already is). */
export function and(...conds: Cond[]): Cond {
  const wrapped = (c: string): boolean => c.startsWith('(') && c.endsWith(')');
  return conds.length === 1 ? (conds[0] as Cond) : conds.map((c) => (/ OR /.test(c) && !wrapped(c) ? `(${c})` : c)).join(' AND ');
}

export function or(...conds: Cond[]): Cond {
  return conds.length === 1 ? (conds[0] as Cond) : `(${conds.join(' OR ')})`;
}

/** `fn("field")` */
export const call = (fn: string, field: string): string => `${fn}(${ident(field)})`;

export interface Column {
  expr: string;
  as?: string;
}

export interface SelectSpec {
  columns: Array<Column | string>;
  /** A measurement name, or a subquery. */
  from: string | SelectSpec;
  where?: Cond[];
  groupBy?: { time?: string; tags?: readonly string[] };
  fill?: 'none' | 'null' | 'previous' | 'linear' | number;
  orderByTimeDesc?: boolean;
  limit?: number;
}

/** One SELECT statement. Subqueries are parenthesised; WHERE conditions are ANDed. */
export function select(s: SelectSpec): string {
  const cols = s.columns.map((c) => (typeof c === 'string' ? c : c.as ? `${c.expr} AS ${ident(c.as)}` : c.expr)).join(', ');
  let q = `SELECT ${cols} FROM ${typeof s.from === 'string' ? ident(s.from) : `(${select(s.from)})`}`;
  if (s.where && s.where.length > 0) q += ` WHERE ${and(...s.where)}`;
  const groups = [...(s.groupBy?.time ? [`time(${s.groupBy.time})`] : []), ...(s.groupBy?.tags ?? []).map(ident)];
  if (groups.length > 0) q += ` GROUP BY ${groups.join(', ')}`;
  if (s.fill !== undefined) q += ` fill(${typeof s.fill === 'number' ? num(s.fill) : s.fill})`;
  if (s.orderByTimeDesc) q += ' ORDER BY time DESC';
  if (s.limit !== undefined) q += ` LIMIT ${s.limit}`;
  return q;
}
