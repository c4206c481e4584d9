/** The escape cache of the line protocol: computed once per name, and bounded against made-up names. */
import { describe, expect, it } from 'vitest';
import { memo } from '../../lib/influx/line-protocol.js';

function counting(max: number): { f: (s: string) => string; calls: string[] } {
  const calls: string[] = [];
  const f = memo((s) => {
    calls.push(s);
    return s.toUpperCase();
  }, max);
  return { f, calls };
}

describe('memo', () => {
  it('computes each name once and answers repeats from the cache', () => {
    const { f, calls } = counting(10);
    expect([f('a'), f('b'), f('a'), f('a'), f('b')]).toEqual(['A', 'B', 'A', 'A', 'B']);
    expect(calls).toEqual(['a', 'b']);
  });

  it('keeps at most `max` names; beyond that it computes every time and stays correct', () => {
    const { f, calls } = counting(2);
    expect([f('a'), f('b'), f('c'), f('c'), f('a'), f('b'), f('c')]).toEqual(['A', 'B', 'C', 'C', 'A', 'B', 'C']);
    expect(calls).toEqual(['a', 'b', 'c', 'c', 'c']);
  });

  it('caches an empty string result too (no recomputation for a falsy value)', () => {
    const calls: string[] = [];
    const f = memo((s) => {
      calls.push(s);
      return '';
    }, 5);
    expect([f('x'), f('x')]).toEqual(['', '']);
    expect(calls).toEqual(['x']);
  });

  it('defaults to 10,000 names', () => {
    const calls: string[] = [];
    const f = memo((s) => {
      calls.push(s);
      return s;
    });
    for (let i = 0; i < 10_001; i++) f(String(i));
    f('9999');
    f('10000');
    expect(calls.length).toBe(10_002);
  });
});
