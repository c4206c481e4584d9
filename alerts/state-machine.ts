/**
 * The alert state of one (station, rule/parameter) key and how one observation moves it:
 *
 *   ok/resolved --breach--> pending --N breaches or T minutes--> firing --M clears--> resolved
 *               (N = 1: straight to firing)     \--no breach--> ok
 *
 * Pure: the same states and observations in the same (event-time) order always give the same
 * result, which is what lets any number of workers agree (docs/decisions/0003-alert-state.md).
 */

export type AlertStateName = 'ok' | 'pending' | 'firing' | 'resolved';

/**
 * breach: beyond the threshold. clear: back past the clear level (limit × (1 − h)).
 * band: within the limit but not past the clear level (hysteresis band): neither fires nor clears.
 */
export type Condition = 'breach' | 'band' | 'clear';

export interface Timing {
  /** N: consecutive breaching observations before firing (1 = instant). */
  consecutive: number;
  /** T: or this long from the first to the latest breaching observation (null = off). */
  durationMs: number | null;
  /** M: consecutive clear observations before resolving. */
  clearConsecutive: number;
  /** Repeat the notice while firing this often, in event time (null = never). */
  reminderMs: number | null;
}

export interface KeyState {
  state: AlertStateName;
  /** Event time the state was entered. */
  since: number;
  /** Consecutive breaches so far (pending/firing) and when the run began. */
  breaches: number;
  firstBreachAt: number | null;
  /** Consecutive clears while firing. */
  clears: number;
  /** What the bureaus were last told (muted events do not count) and when, in event time. */
  told: 'firing' | 'resolved' | null;
  toldAt: number | null;
  /** The worst breaching value of the episode (furthest beyond the limit) and when it was seen. */
  peak?: number | null;
  peakAt?: number | null;
  /** Class and AQI keys: the deciding parameters when the episode fired (its pollutant family). */
  cause?: string[];
  /** The latest observation, for `alerts list` and the notices. */
  value: number | null;
  limit: number | null;
  at: number | null;
}

export type EventKind = 'firing' | 'resolved' | 'reminder';

export interface StepEvent {
  kind: EventKind;
  from: AlertStateName;
  to: AlertStateName;
  /** Event time: the observation that caused it. */
  at: number;
  /** Raised inside a maintenance window: recorded, not sent. */
  muted: boolean;
  /** Sent after a maintenance window to tell the bureaus what changed while they were not told. */
  catchUp: boolean;
  /** Firing: when the run of breaches began (so a notice can say how long it has lasted). */
  breachSince?: number;
  /** Reminder and resolved: when the episode fired. */
  episodeAt?: number;
  /** The worst breaching value of the episode so far, and when. */
  peak?: number;
  peakAt?: number;
}

export interface Observation {
  cond: Condition;
  at: number;
  value: number | null;
  limit: number | null;
}

export function initialKeyState(): KeyState {
  return {
    state: 'ok',
    since: 0,
    breaches: 0,
    firstBreachAt: null,
    clears: 0,
    told: null,
    toldAt: null,
    value: null,
    limit: null,
    at: null,
  };
}

/**
 * The episode's worst breaching value: reset when a new run of breaches starts from ok/resolved,
 * kept through the episode (a resolve still reports it).
 */
function trackPeak(s: KeyState, prev: KeyState, obs: Observation): void {
  if (obs.cond !== 'breach' || obs.value === null) return;
  const fresh = prev.state === 'ok' || prev.state === 'resolved';
  const far = (v: number): number => (obs.limit === null ? v : Math.abs(v - obs.limit));
  if (fresh || s.peak === undefined || s.peak === null || far(obs.value) > far(s.peak)) {
    s.peak = obs.value;
    s.peakAt = obs.at;
  }
}

/** Whether the run of breaches in `s` (including the current one at `at`) is long enough to fire. */
function runLongEnough(breaches: number, firstBreachAt: number, at: number, t: Timing): boolean {
  if (breaches >= t.consecutive) return true;
  return t.durationMs !== null && at - firstBreachAt >= t.durationMs;
}

function record(
  s: KeyState,
  events: StepEvent[],
  kind: EventKind,
  from: AlertStateName,
  at: number,
  muted: boolean,
  catchUp: boolean,
  times: Pick<StepEvent, 'breachSince' | 'episodeAt'> = {},
): void {
  // The end of an alert the bureaus never heard of (it fired inside a window) is not news either.
  const quiet = muted || (kind === 'resolved' && s.told !== 'firing');
  const peak = s.peak != null && s.peakAt != null ? { peak: s.peak, peakAt: s.peakAt } : {};
  events.push({ kind, from, to: s.state, at, muted: quiet, catchUp, ...times, ...peak });
  if (!quiet) {
    s.told = kind === 'resolved' ? 'resolved' : 'firing';
    s.toldAt = at;
  }
}

/**
 * Applies one observation. Returns the new state and the events to record (none for the internal
 * ok <-> pending moves: a spike that never fires is not news).
 */
export function step(prev: KeyState, obs: Observation, timing: Timing, muted: boolean): { next: KeyState; events: StepEvent[] } {
  const s: KeyState = {
    state: prev.state,
    since: prev.since,
    breaches: prev.breaches,
    firstBreachAt: prev.firstBreachAt,
    clears: prev.clears,
    told: prev.told,
    toldAt: prev.toldAt,
    value: obs.value,
    limit: obs.limit,
    at: obs.at,
    ...(prev.peak !== undefined ? { peak: prev.peak, peakAt: prev.peakAt ?? null } : {}),
    ...(prev.cause !== undefined ? { cause: prev.cause } : {}),
  };
  trackPeak(s, prev, obs);
  const events: StepEvent[] = [];
  const from = prev.state;

  switch (prev.state) {
    case 'ok':
    case 'resolved':
    case 'pending': {
      if (obs.cond === 'breach') {
        const continuing = prev.state === 'pending';
        s.breaches = continuing ? prev.breaches + 1 : 1;
        s.firstBreachAt = continuing && prev.firstBreachAt !== null ? prev.firstBreachAt : obs.at;
        s.clears = 0;
        if (runLongEnough(s.breaches, s.firstBreachAt, obs.at, timing)) {
          s.state = 'firing';
          s.since = obs.at;
          record(s, events, 'firing', from, obs.at, muted, false, { breachSince: s.firstBreachAt });
        } else if (!continuing) {
          s.state = 'pending';
          s.since = obs.at;
        }
      } else {
        s.breaches = 0;
        s.firstBreachAt = null;
        if (prev.state === 'pending') {
          // The run broke before it was long enough: a spike. Back to where it was, quietly.
          s.state = 'ok';
          s.since = obs.at;
        }
      }
      break;
    }
    case 'firing': {
      if (obs.cond === 'clear') {
        s.clears = prev.clears + 1;
        if (s.clears >= timing.clearConsecutive) {
          s.state = 'resolved';
          s.since = obs.at;
          s.breaches = 0;
          s.firstBreachAt = null;
          s.clears = 0;
          record(s, events, 'resolved', from, obs.at, muted, false, { episodeAt: prev.since });
        }
      } else {
        s.clears = 0;
        if (obs.cond === 'breach') s.breaches = prev.breaches + 1;
      }
      break;
    }
  }

  // Reminders, and catching up after a maintenance window, only when nothing else was said.
  if (!muted && events.length === 0) {
    if (s.state === 'firing' && s.told !== 'firing') record(s, events, 'reminder', from, obs.at, muted, true, { episodeAt: s.since });
    // Resolved (and perhaps pending again) while muted: the bureaus still believe it is firing.
    else if (s.state !== 'firing' && s.told === 'firing') record(s, events, 'resolved', from, obs.at, muted, true);
    else if (s.state === 'firing' && timing.reminderMs !== null && s.toldAt !== null && obs.at - s.toldAt >= timing.reminderMs)
      record(s, events, 'reminder', 'firing', obs.at, muted, false, { episodeAt: s.since });
  }
  return { next: s, events };
}
