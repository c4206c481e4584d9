import { describe, expect, it } from 'vitest';
import { initialKeyState, step, type Condition, type KeyState, type StepEvent, type Timing } from '../../alerts/state-machine.js';

const MIN = 60_000;
const timing = (t: Partial<Timing> = {}): Timing => ({ consecutive: 3, durationMs: null, clearConsecutive: 2, reminderMs: null, ...t });

/** Feeds conditions at 10-minute intervals; returns the final state and every event. */
function run(conds: Array<Condition | [Condition, { muted?: boolean; at?: number }]>, t: Timing, start: KeyState = initialKeyState()) {
  let s = start;
  const events: StepEvent[] = [];
  const states: string[] = [];
  conds.forEach((c, i) => {
    const [cond, opts] = Array.isArray(c) ? c : [c, {}];
    const at = opts.at ?? i * 10 * MIN;
    const r = step(s, { cond, at, value: null, limit: null }, t, opts.muted ?? false);
    s = r.next;
    events.push(...r.events);
    states.push(s.state);
  });
  return { s, events, states, kinds: events.map((e) => e.kind) };
}

describe('alert state machine', () => {
  it('a single spike goes pending and back to ok without any event', () => {
    const r = run(['breach', 'clear', 'clear'], timing());
    expect(r.states).toEqual(['pending', 'ok', 'ok']);
    expect(r.events).toEqual([]);
  });

  it('fires on the Nth consecutive breach, exactly once', () => {
    const r = run(['breach', 'breach', 'breach', 'breach', 'breach'], timing());
    expect(r.states).toEqual(['pending', 'pending', 'firing', 'firing', 'firing']);
    expect(r.kinds).toEqual(['firing']);
    expect(r.events[0]).toMatchObject({ from: 'pending', to: 'firing', at: 20 * MIN, muted: false, catchUp: false });
  });

  it('tells when the breach began (firing) and when the episode fired (reminder, resolved)', () => {
    const r = run(['clear', 'breach', 'breach', 'breach', 'breach', 'breach', 'clear', 'clear'], timing({ reminderMs: 20 * MIN }));
    expect(r.kinds).toEqual(['firing', 'reminder', 'resolved']);
    // The run began at the second reading (10 min) and fired at the fourth (30 min).
    expect(r.events[0]).toMatchObject({ kind: 'firing', at: 30 * MIN, breachSince: 10 * MIN });
    expect(r.events[0]?.episodeAt).toBeUndefined();
    expect(r.events[1]).toMatchObject({ kind: 'reminder', at: 50 * MIN, episodeAt: 30 * MIN });
    expect(r.events[2]).toMatchObject({ kind: 'resolved', at: 70 * MIN, episodeAt: 30 * MIN });
  });

  it('a band reading breaks the run of breaches', () => {
    const r = run(['breach', 'breach', 'band', 'breach', 'breach'], timing());
    expect(r.states).toEqual(['pending', 'pending', 'ok', 'pending', 'pending']);
    expect(r.events).toEqual([]);
  });

  it('N = 1 is instant: ok -> firing on the first breach', () => {
    const r = run(['breach'], timing({ consecutive: 1 }));
    expect(r.events).toEqual([expect.objectContaining({ kind: 'firing', from: 'ok', to: 'firing', at: 0 })]);
  });

  it('fires after T minutes of breaches even before N readings', () => {
    const r = run(
      [
        ['breach', { at: 0 }],
        ['breach', { at: 29 * MIN }],
        ['breach', { at: 30 * MIN }],
      ],
      timing({ consecutive: 10, durationMs: 30 * MIN }),
    );
    expect(r.states).toEqual(['pending', 'pending', 'firing']);
    expect(r.events[0]?.at).toBe(30 * MIN);
  });

  it('resolves only after M consecutive clears; band readings keep it firing and reset the count', () => {
    const t = timing({ consecutive: 1, clearConsecutive: 2 });
    const r = run(['breach', 'clear', 'band', 'clear', 'breach', 'clear', 'clear', 'clear'], t);
    expect(r.states).toEqual(['firing', 'firing', 'firing', 'firing', 'firing', 'firing', 'resolved', 'resolved']);
    expect(r.kinds).toEqual(['firing', 'resolved']);
    expect(r.events[1]).toMatchObject({ from: 'firing', to: 'resolved', at: 60 * MIN });
  });

  it('after resolving, a new exceedance goes through pending again', () => {
    const t = timing({ consecutive: 2, clearConsecutive: 1 });
    const r = run(['breach', 'breach', 'clear', 'breach', 'clear', 'breach', 'breach'], t);
    expect(r.states).toEqual(['pending', 'firing', 'resolved', 'pending', 'ok', 'pending', 'firing']);
    expect(r.kinds).toEqual(['firing', 'resolved', 'firing']);
  });

  it('reminds while firing, once per reminder interval of event time', () => {
    const t = timing({ consecutive: 1, reminderMs: 30 * MIN });
    const r = run(['breach', 'breach', 'breach', 'breach', 'band', 'breach', 'breach'], t);
    // firing at 0; reminders at 30 and 60 minutes
    expect(r.events.map((e) => [e.kind, e.at / MIN])).toEqual([
      ['firing', 0],
      ['reminder', 30],
      ['reminder', 60],
    ]);
  });

  it('muted events are recorded as muted and the bureaus are caught up after the window', () => {
    const t = timing({ consecutive: 1, clearConsecutive: 1 });
    const r = run([['breach', { muted: true }], ['breach', { muted: true }], 'breach', 'breach'], t);
    expect(r.events.map((e) => [e.kind, e.muted, e.catchUp])).toEqual([
      ['firing', true, false],
      ['reminder', false, true],
    ]);
  });

  it('a resolution inside a window is reported once the window ends', () => {
    const t = timing({ consecutive: 1, clearConsecutive: 1 });
    const r = run(['breach', ['clear', { muted: true }], ['breach', { muted: true }], ['band', { muted: true }], 'clear'], t);
    // firing (told), resolved (muted), pending? no: N=1 so firing again (muted) ... then clear -> resolved (told)
    expect(r.events.map((e) => [e.kind, e.muted])).toEqual([
      ['firing', false],
      ['resolved', true],
      ['firing', true],
      ['resolved', false],
    ]);
  });

  it('a resolution inside a window that ends in ok is still reported as resolved', () => {
    const t = timing({ consecutive: 2, clearConsecutive: 1 });
    const r = run(['breach', 'breach', ['clear', { muted: true }], ['breach', { muted: true }], 'clear'], t);
    expect(r.s.state).toBe('ok');
    expect(r.events.map((e) => [e.kind, e.muted, e.catchUp])).toEqual([
      ['firing', false, false],
      ['resolved', true, false],
      ['resolved', false, true],
    ]);
  });
});
