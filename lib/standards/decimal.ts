/**
 * Exact decimal arithmetic for the AQI formulas.
 *
 * HJ 633 rounds IAQI *up*, so a binary floating-point error of 1e-16 above an integer turns into a
 * whole IAQI point (CO 2.2 mg/m³: 25 × (2.2 − 2) is 5.0000000000000044 in doubles, ceil → 56, not 55).
 * We therefore read each concentration as the decimal it was written as (the shortest string that
 * round-trips, i.e. what the station sent) and do the arithmetic on integers.
 */

/** value = coef / 10^scale, scale ≥ 0. */
export interface Decimal {
  readonly coef: bigint;
  readonly scale: number;
}

// Stryker disable next-line Regex: String() of a finite number always matches whole, so the anchors change nothing.
const NUMBER_TEXT = /^(-?)(\d+)(?:\.(\d+))?(?:e([+-]\d+))?$/;

export function toDecimal(x: number): Decimal {
  if (!Number.isFinite(x)) throw new RangeError(`not a finite number: ${x}`);
  const m = NUMBER_TEXT.exec(String(x));
  // Stryker disable next-line all: unreachable (see NUMBER_TEXT); kept so a future caller's text fails loudly.
  if (!m) throw new RangeError(`cannot read ${x} as a decimal`);
  // Stryker disable next-line StringLiteral: the integer part always matches, and Number('') is 0 like Number('0').
  const [, sign, int = '0', frac = '', exp = '0'] = m;
  let coef = BigInt(int + frac);
  let scale = frac.length - Number(exp);
  // Stryker disable next-line EqualityOperator: at scale 0 the branch multiplies by 1 and sets 0 again.
  if (scale < 0) {
    coef *= 10n ** BigInt(-scale);
    scale = 0;
  }
  return { coef: sign === '-' ? -coef : coef, scale };
}

export function decimalToNumber(d: Decimal): number {
  if (d.scale === 0) return Number(d.coef);
  const neg = d.coef < 0n;
  const digits = (neg ? -d.coef : d.coef).toString().padStart(d.scale + 1, '0');
  const text = `${digits.slice(0, -d.scale)}.${digits.slice(-d.scale)}`;
  return Number(neg ? `-${text}` : text);
}

/** Rounds to `digits` decimals, ties to even (GB/T 8170 "四舍六入五成双", applied to the written value). */
export function roundHalfEven(d: Decimal, digits: number): Decimal {
  // Stryker disable next-line EqualityOperator: at scale = digits the division below is by 1 and returns d unchanged.
  if (d.scale <= digits) return d;
  const divisor = 10n ** BigInt(d.scale - digits);
  // Stryker disable next-line EqualityOperator: a bigint zero has no sign, so treating 0 as negative changes nothing.
  const neg = d.coef < 0n;
  const abs = neg ? -d.coef : d.coef;
  let q = abs / divisor;
  const twiceRest = 2n * (abs % divisor);
  if (twiceRest > divisor || (twiceRest === divisor && q % 2n === 1n)) q += 1n;
  return { coef: neg ? -q : q, scale: digits };
}

/** Compares a decimal with an integer: negative, zero or positive like a comparator. */
export function compareToInt(d: Decimal, n: number): number {
  const scaled = BigInt(n) * 10n ** BigInt(d.scale);
  return d.coef < scaled ? -1 : d.coef > scaled ? 1 : 0;
}

/** ceil(a / b) for a ≥ 0, b > 0. */
export function ceilDiv(a: bigint, b: bigint): bigint {
  return (a + b - 1n) / b;
}

function aligned(a: Decimal, b: Decimal): [bigint, bigint, number] {
  const scale = Math.max(a.scale, b.scale);
  return [a.coef * 10n ** BigInt(scale - a.scale), b.coef * 10n ** BigInt(scale - b.scale), scale];
}

/** Compares two decimals: negative, zero or positive like a comparator. */
export function compareDecimals(a: Decimal, b: Decimal): number {
  const [x, y] = aligned(a, b);
  return x < y ? -1 : x > y ? 1 : 0;
}

export function addDecimals(a: Decimal, b: Decimal): Decimal {
  const [x, y, scale] = aligned(a, b);
  return { coef: x + y, scale };
}

export function multiplyDecimals(a: Decimal, b: Decimal): Decimal {
  return { coef: a.coef * b.coef, scale: a.scale + b.scale };
}

const ONE: Decimal = { coef: 1n, scale: 0 };

/**
 * Compares `value` with limit × (1 + sign × h) taken as the decimals were written, like a
 * comparator: pH 6 with h = 0.1 has its clear level at 6.6, where doubles say 6.6000000000000005
 * and would keep a pH of exactly 6.6 out of an inclusive level.
 */
export function compareToScaled(value: number, limit: number, h: number, sign: 1 | -1): number {
  const approx = limit * (1 + sign * h);
  // Rounding moves `approx` by a few units in the last place; only a value that close to it needs
  // the exact product, which costs microseconds where this costs nanoseconds (checks hot path).
  // Stryker disable next-line ArithmeticOperator: a wider margin only sends more values to the exact comparison, which answers the same.
  const margin = Math.abs(approx) * 1e-12;
  const near = Math.abs(value - approx) <= margin;
  if (!near) return value < approx ? -1 : 1;
  const factor = addDecimals(ONE, multiplyDecimals({ coef: BigInt(sign), scale: 0 }, toDecimal(h)));
  return compareDecimals(toDecimal(value), multiplyDecimals(toDecimal(limit), factor));
}
