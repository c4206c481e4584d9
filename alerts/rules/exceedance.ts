/**
 * How far beyond its limit a value is, in the two senses the notices need: the ratio value / limit
 * that the severity policy is written in (`severity.ratio` in recipients.yaml), and the 超标倍数 of
 * Chinese environmental reporting, (value − limit) / limit, that the text says ("超标 8.87 倍").
 */
import type { Limit } from '../../lib/standards/index.js';
import type { AlertDetail } from './rule.js';

/** How many times the limit the value is (for a lower bound such as DO: limit / value). */
export function exceedanceRatio(e: { value: number | null; limit: number | null; detail: Pick<AlertDetail, 'limitKind'> }): number | null {
  if (e.value === null || e.limit === null || e.limit === 0) return null;
  if (e.detail.limitKind === 'min') return e.value <= 0 ? Infinity : e.limit / e.value;
  return e.value / e.limit;
}

/**
 * 超标倍数: (value − limit) / limit, for an upper bound only (a value at 9.87 × the limit is
 * 8.87 times over it). Negative when the value is within the limit. Null where the notion does not
 * apply: a lower bound (DO), a range (pH), a limit of zero, or no value.
 */
export function exceedanceMultiple(value: number | null, limit: number | null, kind: Limit['kind'] | undefined): number | null {
  if (value === null || limit === null || limit <= 0) return null;
  if (kind !== undefined && kind !== 'max') return null;
  return (value - limit) / limit;
}
