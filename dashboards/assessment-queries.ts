/**
 * GB 3838 water class and HJ 633 AQI computed by InfluxDB itself, in InfluxQL, from the stored
 * readings, so that maps and timelines can be coloured by class and category without the pipeline
 * storing derived values. The numbers come from lib/standards (classLimit, IAQI_BREAKPOINTS,
 * AQI_TERMS); the integration test checks the results against waterClass() and computeAqi().
 *
 * InfluxQL has arithmetic, abs(), ceil() and round(), but no conditionals and no max(a, b) of two
 * columns. The piecewise functions are therefore built from |x|:
 *   max(x, 0) = (x + |x|) / 2        clamp(x, 0, w) = min(max(x, 0), w)
 *   max(a, b) = (a + b + |a − b|) / 2
 * and "any item breaks the class-k limit" is ceil(S / BIG) for S, the sum of the items' positive
 * excesses over their class-k limits: S is exactly 0 when no item exceeds (x + |x| is exactly 0 for
 * x ≤ 0 in IEEE arithmetic) and positive otherwise.
 *
 * Known differences from lib/standards (documented in docs/decisions/0005):
 * - values are bucket means over $__interval, not single samples;
 * - flags are not seen (a value flagged M, C, D … counts like any other);
 * - HJ 633-2026 rounds half to even, InfluxQL's round() half away from zero (differs only at .5);
 * - HJ 633-2012 real-time PM should use 24-h sliding means; the 1-h values are used.
 */
import { IAQI_BREAKPOINTS, IAQI_LEVELS, AQI_TERMS, GB3838_TABLE1, classLimit, type AqiMode, type AqiStandard, type GradedClass, type Waterbody } from '../lib/standards/index.js';
import { MEASUREMENTS } from './datasource.js';
import { TIME_FILTER, absF, call, ident, max2, min2, num, positivePartTimes2, type Cond, type SelectSpec } from './influxql.js';

const GRADED: readonly GradedClass[] = ['I', 'II', 'III', 'IV', 'V'];
/** Larger than any sum of excesses the catalogue's ranges allow, small enough that 1 ulp of S survives the division. */
const BIG = 1e15;
/** IAQI fractions are multiples of at least 1/1140 (the widest breakpoint step); float error is far below this. */
const CEIL_EPSILON = 0.000001;

export interface AssessmentScope {
  /** Conditions on tags (station, city, period); $timeFilter is added. */
  where: Cond[];
  /** Tags each result series is for, e.g. ['station'] or ['city']. */
  groupBy: readonly string[];
  /** Averaging bucket, usually $__interval. */
  bucket: string;
}

const countCol = (param: string): string => `n_${param}`;

/** Sum of the positive excesses of the deciding items over their class-`cls` limits (0 when all meet it). */
function excessOverClass(items: readonly string[], cls: GradedClass, waterbody: Waterbody): string {
  const terms: string[] = [];
  for (const p of items) {
    const limit = classLimit(p, cls, waterbody);
    if (!limit) continue;
    const v = ident(p);
    const present = ident(countCol(p));
    switch (limit.kind) {
      case 'max':
        // A missing item reads 0 (fill), which meets every upper bound.
        terms.push(positivePartTimes2(`${v} - ${num(limit.value)}`));
        break;
      case 'min':
        // 0 would break a lower bound: count the item only where it was measured.
        terms.push(`${positivePartTimes2(`${num(limit.value)} - ${v}`)} * ${present}`);
        break;
      case 'range':
        terms.push(`(${positivePartTimes2(`${num(limit.min)} - ${v}`)} + ${positivePartTimes2(`${v} - ${num(limit.max)}`)}) * ${present}`);
        break;
    }
  }
  return terms.length > 0 ? terms.join(' + ') : '0';
}

/** Items whose limit is a lower bound or a range: those need their presence count. */
const needsPresence = (p: string): boolean => GB3838_TABLE1[p]?.kind !== 'max';

/**
 * The section's GB 3838 class per bucket as a number, 1 = I … 5 = V, 6 = 劣V (single-factor method:
 * the worst deciding item). Buckets without any deciding item are left out. Column: `class`.
 */
export function waterClassSeries(scope: AssessmentScope, opts: { deciding: readonly string[]; waterbody: Waterbody }): SelectSpec {
  const items = opts.deciding.filter((p) => GB3838_TABLE1[p]);
  if (items.length === 0) throw new Error('waterClassSeries: no graded deciding items');
  const inner: SelectSpec = {
    columns: [
      ...items.flatMap((p) => [
        { expr: call('mean', p), as: p },
        ...(needsPresence(p) ? [{ expr: call('count', p), as: countCol(p) }] : []),
      ]),
      { expr: items.map((p) => call('count', p)).join(' + '), as: 'n' },
    ],
    from: MEASUREMENTS.water,
    where: [...scope.where, TIME_FILTER],
    groupBy: { time: scope.bucket, tags: scope.groupBy },
    fill: 0,
  };
  const classTerms = GRADED.map((cls) => `ceil((${excessOverClass(items, cls, opts.waterbody)}) / ${num(BIG)})`);
  return {
    columns: [{ expr: `1 + ${classTerms.join(' + ')}`, as: 'class' }],
    from: inner,
    where: [`${ident('n')} > 0`],
    groupBy: { tags: scope.groupBy },
  };
}

/** The latest bucket's value of a one-column series query, per group. */
export function latestOf(series: SelectSpec, column: string, groupBy: readonly string[]): SelectSpec {
  return { columns: [{ expr: call('last', column), as: column }], from: series, groupBy: { tags: groupBy } };
}

/** IAQI of concentration expression `c` against breakpoints `bps`: Σ ΔI·clamp(c − bp, 0, w)/w. */
function iaqiExpr(c: string, bps: readonly number[]): string {
  const segments: string[] = [];
  for (let i = 1; i < bps.length; i++) {
    const lo = bps[i - 1] as number;
    const w = (bps[i] as number) - lo;
    const dI = (IAQI_LEVELS[i] as number) - (IAQI_LEVELS[i - 1] as number);
    const over = `${positivePartTimes2(`${c} - ${num(lo)}`)} / 2`;
    segments.push(`${num(dI)} * ${min2(over, num(w))} / ${num(w)}`);
  }
  return segments.join(' + ');
}

/**
 * GB/T 8170 rounding to an integer, half to even, of a non-negative x: round() (half away from
 * zero) less 1 where x is exactly n + ½ with n even.
 */
export function roundHalfEvenExpr(x: string): string {
  // Snap to 1e-9 first: 1.15 × 10 is 11.499999999999998 in binary, but 11.5 in the decimal the
  // station sent, and the standard rounds the decimal.
  const snapped = `(round((${x}) * ${SNAP}) / ${SNAP})`;
  const f = `floor(${snapped})`;
  const isHalf = `(1 - ceil(${absF(`${snapped} - ${f} - 0.5`)} / ${num(BIG)}))`;
  const isEven = `(1 - (${f} - 2 * floor(${f} / 2)))`;
  return `round(${snapped}) - ${isHalf} * ${isEven}`;
}
const SNAP = num(1e9);

/** Pollutants of a report, each once, in the order of its terms. */
function pollutantsOf(standard: AqiStandard, mode: AqiMode): string[] {
  return [...new Set(AQI_TERMS[standard][mode].map((t) => t.pollutant))];
}

/**
 * The HJ 633 AQI per bucket (column `aqi`), from the bucket means of the six pollutants, for the
 * given version and report (hourly: real-time/minute/hour readings; daily: day readings).
 * HJ 633-2026: concentrations rounded first (CO to 0.1), AQI at least 1, and with a pollutant
 * missing the AQI is only given when above 100.
 */
export function aqiSeries(scope: AssessmentScope, standard: AqiStandard, mode: AqiMode): SelectSpec {
  const terms = AQI_TERMS[standard][mode];
  const pollutants = pollutantsOf(standard, mode);
  const is2026 = standard === 'HJ633-2026';

  const means: SelectSpec = {
    columns: [
      ...pollutants.flatMap((p) => [{ expr: call('mean', p), as: p }, { expr: call('count', p), as: countCol(p) }]),
      { expr: pollutants.map((p) => call('count', p)).join(' + '), as: 'n' },
    ],
    from: MEASUREMENTS.air,
    where: [...scope.where, TIME_FILTER],
    groupBy: { time: scope.bucket, tags: scope.groupBy },
    fill: 0,
  };
  const passThrough = [...pollutants.map((p) => ({ expr: ident(countCol(p)), as: countCol(p) })), { expr: ident('n'), as: 'n' }];
  // HJ 633-2026 rounds (GB/T 8170, half to even) before anything else: integers, CO to 0.1.
  const concentrations: SelectSpec = is2026
    ? {
        columns: [
          ...pollutants.map((p) => ({ expr: p === 'CO' ? `(${roundHalfEvenExpr(`${ident(p)} * 10`)}) / 10` : roundHalfEvenExpr(ident(p)), as: p })),
          ...passThrough,
        ],
        from: means,
        where: [`${ident('n')} > 0`],
        groupBy: { tags: scope.groupBy },
      }
    : { ...means };

  // 1 when every pollutant of the report was measured in the bucket: Π min(n_p, 1).
  const complete = pollutants.map((p) => `(${min2(ident(countCol(p)), '1')})`).join(' * ');
  const cols = terms.map((t, i) => ({ name: `i${i}`, expr: iaqiExpr(ident(t.pollutant), IAQI_BREAKPOINTS[standard][t.table]) }));
  let level: SelectSpec = {
    columns: [...cols.map((c) => ({ expr: c.expr, as: c.name })), { expr: complete, as: 'complete' }],
    from: concentrations,
    ...(is2026 ? {} : { where: [`${ident('n')} > 0`] }),
    groupBy: { tags: scope.groupBy },
  };
  // Pairwise maxima, one subquery per halving, so no expression is repeated inside another.
  let names = cols.map((c) => c.name);
  let depth = 0;
  while (names.length > 1) {
    depth++;
    const next: Array<{ name: string; expr: string }> = [];
    for (let i = 0; i < names.length; i += 2) {
      const a = names[i] as string;
      const b = names[i + 1];
      next.push({ name: `m${depth}_${i / 2}`, expr: b === undefined ? ident(a) : max2(ident(a), ident(b)) });
    }
    names = next.map((c) => c.name);
    level = { columns: [...next.map((c) => ({ expr: c.expr, as: c.name })), { expr: ident('complete'), as: 'complete' }], from: level, groupBy: { tags: scope.groupBy } };
  }
  const highest = ident(names[0] as string);
  const roundedUp = `ceil(${highest} - ${num(CEIL_EPSILON)})`;
  // 2026: the AQI ranges 1–500 (clean air is 1, never 0).
  const aqi = is2026 ? max2(roundedUp, '1') : roundedUp;
  const withAqi: SelectSpec = { columns: [{ expr: aqi, as: 'aqi' }, { expr: ident('complete'), as: 'complete' }], from: level, groupBy: { tags: scope.groupBy } };
  if (!is2026) return { columns: [{ expr: ident('aqi'), as: 'aqi' }], from: withAqi, groupBy: { tags: scope.groupBy } };
  return {
    columns: [{ expr: ident('aqi'), as: 'aqi' }],
    from: withAqi,
    where: [`(${ident('aqi')} > 100 OR ${ident('complete')} > 0)`],
    groupBy: { tags: scope.groupBy },
  };
}

