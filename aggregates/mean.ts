/**
 * Arithmetic means computed on the decimals the stations sent, not on doubles, so that an hourly
 * mean of 0.1 and 0.2 is 0.15 (not 0.15000000000000002) and the AQI and class taken from it agree
 * with lib/standards to the last digit (its IAQI rounds up: docs/domain.md §2).
 */
import { decimalToNumber, toDecimal } from '../lib/standards/decimal.js';

/** Digits kept beyond the most precise input: enough for any display, few enough to stay exact. */
const EXTRA_DIGITS = 4;

/** The mean, rounded half to even at EXTRA_DIGITS beyond the inputs' own decimals; undefined for none. */
export function exactMean(values: readonly number[]): number | undefined {
  if (values.length === 0) return undefined;
  const ds = values.map(toDecimal);
  const scale = Math.max(...ds.map((d) => d.scale)) + EXTRA_DIGITS;
  let sum = 0n;
  for (const d of ds) sum += d.coef * 10n ** BigInt(scale - d.scale);
  const n = BigInt(values.length);
  const neg = sum < 0n;
  const abs = neg ? -sum : sum;
  let q = abs / n;
  const twiceRest = 2n * (abs % n);
  if (twiceRest > n || (twiceRest === n && q % 2n === 1n)) q += 1n;
  return decimalToNumber({ coef: neg ? -q : q, scale });
}
