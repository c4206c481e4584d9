/**
 * Counter-based randomness: every random number is a hash of (seed, what, where, when). A value
 * therefore depends only on the seed and the instant it describes, never on the order in which
 * stations are visited or on how fast the broker acknowledges, so a run is reproducible from its
 * seed and a unit test can ask for any station at any instant without replaying the run.
 */

export type HashPart = string | number;

const TWO_32 = 4294967296;

function mix(h: number, x: number): number {
  h = Math.imul(h ^ x, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** A well-avalanched 32-bit hash of the seed and the parts (murmur3-style mixing and finaliser). */
export function hash32(seed: number, ...parts: readonly HashPart[]): number {
  let h = mix(0x9e3779b9, seed >>> 0);
  for (const p of parts) {
    if (typeof p === 'number') {
      // Epoch milliseconds exceed 32 bits: mix both halves (and a marker so 1 and "1" differ).
      h = mix(h, 0x6e756d);
      h = mix(h, p >>> 0);
      h = mix(h, Math.floor(p / TWO_32) >>> 0);
    } else {
      h = mix(h, 0x737472 ^ p.length);
      for (let i = 0; i < p.length; i++) h = mix(h, p.charCodeAt(i));
    }
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** Uniform in [0, 1). */
export function uniform(seed: number, ...parts: readonly HashPart[]): number {
  return hash32(seed, ...parts) / TWO_32;
}

/** Standard normal (Box–Muller over two independent uniforms). */
export function normal(seed: number, ...parts: readonly HashPart[]): number {
  const u1 = 1 - uniform(seed, ...parts, 'u1'); // (0, 1]: log(0) is -Infinity
  const u2 = uniform(seed, ...parts, 'u2');
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
}

/**
 * Smooth noise in [-1, 1] over time: random knots every `periodMs`, joined by cosine interpolation.
 * Sensors drift like this (hours-long wanders) rather than jumping between independent values,
 * which matters for the alert rules on rate of rise: white noise at 5-minute intervals would look
 * like a steep rise far too often.
 */
export function smoothNoise(seed: number, key: string, ts: number, periodMs: number): number {
  const k = Math.floor(ts / periodMs);
  const frac = ts / periodMs - k;
  const a = uniform(seed, key, 'knot', k) * 2 - 1;
  const b = uniform(seed, key, 'knot', k + 1) * 2 - 1;
  const w = (1 - Math.cos(Math.PI * frac)) / 2;
  return a * (1 - w) + b * w;
}

/** Seeds given as any integer (the CLI's --seed) folded to an unsigned 32-bit value. */
export function normaliseSeed(seed: number): number {
  if (!Number.isFinite(seed)) return 0;
  return Math.trunc(seed) >>> 0;
}
