/**
 * classify() with exact clear levels against the plain floating-point comparison it replaced
 * (npx tsx test/bench/classify.bench.ts). Prints ns per call of each and their ratio, measured in
 * the same run, for values spread around a limit (the common case, decided by the fast path) and
 * for values exactly at a clear level (decided by the exact decimal product).
 */
import { performance } from 'node:perf_hooks';
import { classify } from '../../alerts/rules/common.js';
import type { Condition } from '../../alerts/state-machine.js';
import type { Limit } from '../../lib/standards/index.js';

/** The comparison before exact clear levels, kept here as the baseline. */
function floatClassify(value: number, limit: Limit, h: number): Condition {
  switch (limit.kind) {
    case 'max':
      return value > limit.value ? 'breach' : value <= limit.value * (1 - h) ? 'clear' : 'band';
    case 'min':
      return value < limit.value ? 'breach' : value >= limit.value * (1 + h) ? 'clear' : 'band';
    case 'range':
      if (value < limit.min || value > limit.max) return 'breach';
      return value >= limit.min * (1 + h) && value <= limit.max * (1 - h) ? 'clear' : 'band';
  }
}

const N = Number(process.env.BENCH_N ?? 1_000_000);
const limits: Limit[] = [
  { kind: 'max', value: 1 },
  { kind: 'min', value: 5 },
  { kind: 'range', min: 6, max: 9 },
];

function time(f: (v: number, l: Limit, h: number) => Condition, values: number[]): number {
  let sink = 0;
  const t = performance.now();
  for (let i = 0; i < N; i++) {
    const l = limits[i % 3] as Limit;
    if (f(values[i % values.length] as number, l, 0.1) === 'clear') sink++;
  }
  const ns = ((performance.now() - t) * 1e6) / N;
  if (sink < 0) console.log(sink);
  return ns;
}

const spread = Array.from({ length: 997 }, (_, i) => (i / 997) * 12);
// Exactly at the clear levels of the three limits: 0.9, 5.5, 6.6 / 8.1.
const atLevel = [0.9, 5.5, 6.6, 8.1];
for (const [name, values] of [
  ['values spread around the limits', spread],
  ['values exactly at a clear level', atLevel],
] as const) {
  time(floatClassify, values);
  time(classify, values);
  const before = time(floatClassify, values);
  const after = time(classify, values);
  console.log(`${name}: float ${before.toFixed(1)} ns/call, exact ${after.toFixed(1)} ns/call, ratio ${(after / before).toFixed(2)}`);
}
