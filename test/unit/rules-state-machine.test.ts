/**
 * The alert state machine's bookkeeping that the notices print: the episode's peak, the run and
 * clear counts, when a state began, what the bureaus were told, reminders around a resolution, and
 * states read back from Redis that an older version wrote. Plus its invariants as properties.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  initialKeyState,
  step,
  type Condition,
  type KeyState,
  type Observation,
  type StepEvent,
  type Timing,
} from '../../alerts/state-machine.js';

const MIN = 60_000;
const H_ = 60 * MIN;
const timing = (t: Partial<Timing> = {}): Timing => ({ consecutive: 2, durationMs: null, clearConsecutive: 2, reminderMs: null, ...t });

type Row = [Condition, number | null] | [Condition, number | null, { muted?: boolean; limit?: number | null }];

/** Feeds (condition, value) rows at 10-minute intervals against a limit of 10 unless a row says otherwise. */
function run(rows: Row[], t: Timing, start: KeyState = initialKeyState()): { s: KeyState; events: StepEvent[]; states: KeyState[] } {
  let s = start;
  const events: StepEvent[] = [];
  const states: KeyState[] = [];
  rows.forEach(([cond, value, opts = {}], i) => {
    const obs: Observation = { cond, at: i * 10 * MIN, value, limit: opts.limit === undefined ? 10 : opts.limit };
    const r = step(s, obs, t, opts.muted ?? false);
    s = r.next;
    events.push(...r.events);
    states.push(s);
  });
  return { s, events, states };
}

describe('the episode peak', () => {
  it('is the breaching value furthest beyond the limit, with its time, carried to the firing and resolve', () => {
    const r = run(
      [
        ['breach', 12],
        ['breach', 15],
        ['breach', 13],
        ['clear', 5],
        ['clear', 4],
      ],
      timing(),
    );
    expect(r.events.map((e) => [e.kind, e.peak, e.peakAt])).toEqual([
      ['firing', 15, 10 * MIN],
      ['resolved', 15, 10 * MIN],
    ]);
    expect(r.s).toMatchObject({ peak: 15, peakAt: 10 * MIN });
  });

  it('ignores clear and band values, however far they are from the limit', () => {
    const r = run(
      [
        ['breach', 11],
        ['band', 9.5],
        ['breach', 12],
        ['breach', 11.5],
        ['clear', -50],
        ['band', 9.9],
      ],
      timing({ consecutive: 1 }),
    );
    expect(r.s).toMatchObject({ peak: 12, peakAt: 20 * MIN });
  });

  it('for a lower bound, the lowest value is the worst (furthest from the limit)', () => {
    const r = run(
      [
        ['breach', 4, { limit: 5 }],
        ['breach', 2, { limit: 5 }],
        ['breach', 3, { limit: 5 }],
      ],
      timing({ consecutive: 3 }),
    );
    expect(r.events[0]).toMatchObject({ kind: 'firing', peak: 2, peakAt: 10 * MIN });
  });

  it('without a limit, the largest value is the peak; an equal later value keeps the earlier time', () => {
    const r = run(
      [
        ['breach', 3, { limit: null }],
        ['breach', 7, { limit: null }],
        ['breach', 7, { limit: null }],
        ['breach', 6, { limit: null }],
      ],
      timing({ consecutive: 1 }),
    );
    expect(r.s).toMatchObject({ peak: 7, peakAt: 10 * MIN });
  });

  it('a breach without a value leaves the peak as it was; events then carry no peak', () => {
    const none = run(
      [
        ['breach', null],
        ['breach', null],
      ],
      timing(),
    );
    expect(none.events).toHaveLength(1);
    expect(Object.keys(none.events[0] ?? {})).not.toContain('peak');
    expect(Object.keys(none.events[0] ?? {})).not.toContain('peakAt');
    expect(none.s.peak).toBeUndefined();
    const kept = run(
      [
        ['breach', 14],
        ['breach', null],
        ['breach', 12],
      ],
      timing(),
    );
    expect(kept.s).toMatchObject({ peak: 14, peakAt: 0 });
  });

  it('starts afresh with a new run from ok or resolved, and is kept through pending', () => {
    const r = run(
      [
        ['breach', 20],
        ['breach', 19],
        ['clear', 1],
        ['clear', 1],
        ['breach', 11],
        ['breach', 12],
      ],
      timing(),
    );
    expect(r.events.map((e) => [e.kind, e.peak])).toEqual([
      ['firing', 20],
      ['resolved', 20],
      ['firing', 12],
    ]);
    const spike = run(
      [
        ['breach', 30],
        ['clear', 1],
        ['breach', 11],
        ['breach', 12],
      ],
      timing(),
    );
    expect(spike.events.map((e) => [e.kind, e.peak, e.peakAt])).toEqual([['firing', 12, 30 * MIN]]);
  });

  it('a stored peak without its time still reports no peak, and is replaced by the next breach', () => {
    const stored: KeyState = {
      ...initialKeyState(),
      state: 'firing',
      since: 0,
      breaches: 3,
      firstBreachAt: 0,
      told: 'firing',
      toldAt: 0,
      peak: 50,
      peakAt: null,
    };
    const r = step(stored, { cond: 'clear', at: 10 * MIN, value: 1, limit: 10 }, timing({ clearConsecutive: 1 }), false);
    expect(r.events[0]).toMatchObject({ kind: 'resolved' });
    expect(Object.keys(r.events[0] ?? {})).not.toContain('peak');
    const stale: KeyState = { ...stored, peak: null, peakAt: null };
    const b = step(stale, { cond: 'breach', at: 10 * MIN, value: 11, limit: 10 }, timing(), false);
    expect(b.next).toMatchObject({ peak: 11, peakAt: 10 * MIN });
  });
});

describe('the peak, further edges', () => {
  it('without a limit, a value is as far as it is large: 2 is worse than −3', () => {
    const r = run(
      [
        ['breach', -3, { limit: null }],
        ['breach', 2, { limit: null }],
      ],
      timing({ consecutive: 1 }),
    );
    expect(r.s).toMatchObject({ peak: 2, peakAt: 10 * MIN });
  });

  it('a run that began without a value takes its first value as the peak', () => {
    const r = run(
      [
        ['breach', null],
        ['breach', 14],
        ['breach', 12],
      ],
      timing({ consecutive: 3 }),
    );
    expect(r.events[0]).toMatchObject({ kind: 'firing', peak: 14, peakAt: 10 * MIN });
  });

  it('events carry no peak key at all when there is none; a state never given one has no peak key', () => {
    const none = run(
      [
        ['breach', null],
        ['breach', null],
      ],
      timing(),
    );
    expect(Object.keys(none.events[0] ?? {})).not.toContain('peak');
    expect(Object.keys(none.events[0] ?? {})).not.toContain('peakAt');
    const quiet = step(initialKeyState(), { cond: 'clear', at: 0, value: 1, limit: 10 }, timing(), false).next;
    expect(Object.keys(quiet)).not.toContain('peak');
    expect(Object.keys(quiet)).not.toContain('peakAt');
    expect(Object.keys(quiet)).not.toContain('cause');
  });

  it('a stored peak of null with a time reports no peak', () => {
    const stored: KeyState = {
      ...initialKeyState(),
      state: 'firing',
      since: 0,
      breaches: 3,
      firstBreachAt: 0,
      told: 'firing',
      toldAt: 0,
      peak: null,
      peakAt: 5,
    };
    const r = step(stored, { cond: 'clear', at: 10 * MIN, value: 1, limit: 10 }, timing({ clearConsecutive: 1 }), false);
    expect(Object.keys(r.events[0] ?? {})).not.toContain('peak');
  });
});

describe('reminders, further edges', () => {
  it('no reminder in the step that fires, even with a zero interval', () => {
    const r = step(initialKeyState(), { cond: 'breach', at: 0, value: 11, limit: 10 }, timing({ consecutive: 1, reminderMs: 0 }), false);
    expect(r.events.map((e) => e.kind)).toEqual(['firing']);
  });

  it('a firing state stored without the time it was told does not remind (it cannot know when)', () => {
    const stored: KeyState = {
      ...initialKeyState(),
      state: 'firing',
      since: 0,
      breaches: 3,
      firstBreachAt: 0,
      told: 'firing',
      toldAt: null,
    };
    expect(step(stored, { cond: 'breach', at: 10 * H_, value: 11, limit: 10 }, timing({ reminderMs: MIN }), false).events).toEqual([]);
  });
});

describe('counts and times', () => {
  it('counts breaches through pending and firing; band and clear while firing keep the count', () => {
    const r = run(
      [
        ['breach', 11],
        ['breach', 11],
        ['breach', 11],
        ['band', 9.5],
        ['breach', 11],
        ['clear', 1],
      ],
      timing({ clearConsecutive: 3 }),
    );
    expect(r.states.map((s) => s.breaches)).toEqual([1, 2, 3, 3, 4, 4]);
    expect(r.states.map((s) => s.clears)).toEqual([0, 0, 0, 0, 0, 1]);
  });

  it('a pending state began at the first breach of its run, not at the latest', () => {
    const r = run(
      [
        ['clear', 1],
        ['breach', 11],
        ['breach', 11],
        ['breach', 11],
      ],
      timing({ consecutive: 5 }),
    );
    expect(r.states.map((s) => [s.state, s.since, s.firstBreachAt])).toEqual([
      ['ok', 0, null],
      ['pending', 10 * MIN, 10 * MIN],
      ['pending', 10 * MIN, 10 * MIN],
      ['pending', 10 * MIN, 10 * MIN],
    ]);
  });

  it('keeps the latest observation and leaves the state time alone while nothing changes', () => {
    const r = run(
      [
        ['clear', 3],
        ['clear', 4, { limit: 12 }],
      ],
      timing(),
    );
    expect(r.s).toMatchObject({ state: 'ok', since: 0, value: 4, limit: 12, at: 10 * MIN });
  });

  it('a firing episode remembers its cause across steps', () => {
    const s: KeyState = {
      ...initialKeyState(),
      state: 'firing',
      since: 0,
      breaches: 2,
      firstBreachAt: 0,
      told: 'firing',
      toldAt: 0,
      cause: ['PM2_5'],
    };
    expect(step(s, { cond: 'breach', at: MIN, value: 11, limit: 10 }, timing(), false).next.cause).toEqual(['PM2_5']);
    expect(step(initialKeyState(), { cond: 'breach', at: MIN, value: 11, limit: 10 }, timing(), false).next).not.toHaveProperty('cause');
  });
});

describe('states stored by an older version (read back from Redis)', () => {
  it('a pending state without the time its run began starts the run at this breach', () => {
    const stored: KeyState = { ...initialKeyState(), state: 'pending', since: 0, breaches: 1, firstBreachAt: null };
    const r = step(stored, { cond: 'breach', at: 40 * MIN, value: 11, limit: 10 }, timing({ consecutive: 5, durationMs: 30 * MIN }), false);
    expect(r.next).toMatchObject({ state: 'pending', breaches: 2, firstBreachAt: 40 * MIN });
    expect(r.events).toEqual([]);
  });

  it('an ok state with a stale run start begins a new run at this breach', () => {
    const stored: KeyState = { ...initialKeyState(), state: 'ok', since: 0, breaches: 0, firstBreachAt: 0 };
    const r = step(stored, { cond: 'breach', at: 60 * MIN, value: 11, limit: 10 }, timing({ consecutive: 5, durationMs: 30 * MIN }), false);
    expect(r.next).toMatchObject({ state: 'pending', breaches: 1, firstBreachAt: 60 * MIN, since: 60 * MIN });
    expect(r.events).toEqual([]);
  });
});

describe('what the bureaus were told', () => {
  it('records the told state and time on each notice, not on muted ones', () => {
    const r = run(
      [
        ['breach', 11, { muted: true }],
        ['breach', 11, { muted: true }],
        ['breach', 12],
      ],
      timing(),
    );
    expect(r.states.map((s) => [s.told, s.toldAt])).toEqual([
      [null, null],
      [null, null],
      ['firing', 20 * MIN],
    ]);
    expect(r.events.map((e) => [e.kind, e.muted, e.catchUp, e.episodeAt])).toEqual([
      ['firing', true, false, undefined],
      ['reminder', false, true, 10 * MIN],
    ]);
  });

  it('the end of an alert never told is recorded quietly and changes nothing told', () => {
    const r = run(
      [
        ['breach', 11, { muted: true }],
        ['breach', 11, { muted: true }],
        ['clear', 1, { muted: true }],
        ['clear', 1],
      ],
      timing(),
    );
    expect(r.events.map((e) => [e.kind, e.muted])).toEqual([
      ['firing', true],
      ['resolved', true],
    ]);
    expect(r.s.told).toBeNull();
  });

  it('a told resolve is remembered as resolved', () => {
    const r = run(
      [
        ['breach', 11],
        ['breach', 11],
        ['clear', 1],
        ['clear', 1],
      ],
      timing(),
    );
    expect(r.s).toMatchObject({ state: 'resolved', told: 'resolved', toldAt: 30 * MIN });
  });
});

describe('reminders around a resolution', () => {
  it('no reminder after the resolution, however long it stays resolved', () => {
    const t = timing({ consecutive: 1, clearConsecutive: 1, reminderMs: 10 * MIN });
    const r = run(
      [
        ['breach', 11],
        ['clear', 1],
        ['clear', 1],
        ['band', 9.5],
        ['clear', 1],
      ],
      t,
    );
    expect(r.events.map((e) => e.kind)).toEqual(['firing', 'resolved']);
  });

  it('a new episode after a resolution reminds on its own clock', () => {
    const t = timing({ consecutive: 1, clearConsecutive: 1, reminderMs: 20 * MIN });
    const r = run(
      [
        ['breach', 11],
        ['clear', 1],
        ['breach', 11],
        ['breach', 11],
        ['breach', 11],
      ],
      t,
    );
    expect(r.events.map((e) => [e.kind, e.at / MIN, e.episodeAt === undefined ? null : e.episodeAt / MIN])).toEqual([
      ['firing', 0, null],
      ['resolved', 10, 0],
      ['firing', 20, null],
      ['reminder', 40, 20],
    ]);
  });

  it('a reminder is due exactly at the interval, not a moment before', () => {
    const t = timing({ consecutive: 1, reminderMs: 20 * MIN });
    const at = (ms: number): Observation => ({ cond: 'breach', at: ms, value: 11, limit: 10 });
    const fired = step(initialKeyState(), at(0), t, false).next;
    expect(step(fired, at(20 * MIN - 1), t, false).events).toEqual([]);
    expect(step(fired, at(20 * MIN), t, false).events.map((e) => [e.kind, e.from, e.to, e.catchUp])).toEqual([
      ['reminder', 'firing', 'firing', false],
    ]);
  });
});

describe('state machine invariants (properties)', () => {
  const cond = fc.constantFrom<Condition>('breach', 'band', 'clear');
  const rows = fc.array(fc.tuple(cond, fc.boolean()), { maxLength: 40 });
  const timingArb = fc.record({
    consecutive: fc.integer({ min: 1, max: 4 }),
    durationMs: fc.option(
      fc.integer({ min: 1, max: 6 }).map((n) => n * 10 * MIN),
      { nil: null },
    ),
    clearConsecutive: fc.integer({ min: 1, max: 4 }),
    reminderMs: fc.option(
      fc.integer({ min: 1, max: 6 }).map((n) => n * 10 * MIN),
      { nil: null },
    ),
  });

  it('outside maintenance windows: never a second firing without a resolve between, never a resolve of nothing told', () => {
    fc.assert(
      fc.property(fc.array(cond, { maxLength: 40 }), timingArb, (cs, t) => {
        let s = initialKeyState();
        let told: 'firing' | 'resolved' | null = null;
        cs.forEach((c, i) => {
          const r = step(s, { cond: c, at: i * 10 * MIN, value: c === 'breach' ? 11 : 5, limit: 10 }, t, false);
          for (const e of r.events) {
            expect(e.muted).toBe(false);
            if (e.kind === 'firing') expect(told).not.toBe('firing');
            if (e.kind === 'resolved') expect(told).toBe('firing');
            if (e.kind === 'reminder') expect(told).toBe('firing');
            told = e.kind === 'resolved' ? 'resolved' : 'firing';
          }
          s = r.next;
        });
      }),
    );
  });

  it('with windows: what was told is what the unmuted events said, and after an unmuted step it matches the state', () => {
    fc.assert(
      fc.property(rows, timingArb, (rs, t) => {
        let s = initialKeyState();
        let told: 'firing' | 'resolved' | null = null;
        rs.forEach(([c, muted], i) => {
          const r = step(s, { cond: c, at: i * 10 * MIN, value: c === 'breach' ? 11 : 5, limit: 10 }, t, muted);
          for (const e of r.events) if (!e.muted) told = e.kind === 'resolved' ? 'resolved' : 'firing';
          expect(r.next.told).toBe(told);
          if (!muted) expect(r.next.told === 'firing').toBe(r.next.state === 'firing');
          expect(r.events.length).toBeLessThanOrEqual(1);
          s = r.next;
        });
      }),
    );
  });

  it('a resolve and a new episode both inside a window: the new episode is told as a firing (the resolve never was)', () => {
    const t = timing({ consecutive: 2, clearConsecutive: 1 });
    const r = run(
      [
        ['breach', 11],
        ['breach', 11],
        ['clear', 1, { muted: true }],
        ['breach', 11, { muted: true }],
        ['breach', 12],
      ],
      t,
    );
    expect(r.events.map((e) => [e.kind, e.muted, e.at / MIN])).toEqual([
      ['firing', false, 10],
      ['resolved', true, 20],
      ['firing', false, 40],
    ]);
    expect(r.events[2]?.breachSince).toBe(30 * MIN);
  });

  it('the same states and observations always give the same result, and the input state is not changed', () => {
    fc.assert(
      fc.property(rows, timingArb, (rs, t) => {
        let s = initialKeyState();
        rs.forEach(([c, muted], i) => {
          const obs: Observation = { cond: c, at: i * 10 * MIN, value: c === 'breach' ? 10 + i : 5, limit: 10 };
          const copy = structuredClone(s);
          const a = step(s, obs, t, muted);
          const b = step(s, obs, t, muted);
          expect(b).toEqual(a);
          expect(s).toEqual(copy);
          s = a.next;
        });
      }),
    );
  });
});
