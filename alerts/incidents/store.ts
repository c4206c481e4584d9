/**
 * Incident state in Redis. Per scope: the state (JSON, with its revision), an inbox of evidence
 * waiting to be applied in event-time order, and, shared, the reports issued but not yet placed
 * for their recipients. Evidence is applied by compare-and-set on the scope's revision (as series
 * are, decision 0003): the commit writes the new state, removes the applied evidence from the
 * inbox and records the reports in one script, so a report is issued once and never lost between
 * "state changed" and "placed" (whoever runs next places what is still unplaced).
 */
import type { RedisClient } from '../../lib/redis-client.js';
import { DEFAULT_PREFIX } from '../keys.js';
import type { Evidence, Incident, Report, ScopeState } from './types.js';

export interface InboxEntry {
  evidence: Evidence;
  ripeAt: number;
}

export class IncidentKeys {
  readonly base: string;
  readonly unplaced: string;
  readonly list: string;
  readonly scopes: string;
  constructor(prefix: string = DEFAULT_PREFIX) {
    this.base = `${prefix}:inc:`;
    this.unplaced = `${this.base}unplaced`;
    this.list = `${this.base}list`;
    this.scopes = `${this.base}scopes`;
  }
  state(scope: string): string {
    return `${this.base}s:${scope}`;
  }
  inbox(scope: string): string {
    return `${this.base}in:${scope}`;
  }
  inboxData(scope: string): string {
    return `${this.base}ind:${scope}`;
  }
  incident(id: string): string {
    return `${this.base}i:${id}`;
  }
}

const NOW_MS = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`;

/**
 * KEYS: inbox (zset id -> event time), inboxData (hash id -> ripeAt|json), scopes.
 * ARGV: id, at, json, reorderMs, scope. Returns ripeAt (the first one recorded stays).
 */
const ENQUEUE = `${NOW_MS}
local have = redis.call('HGET', KEYS[2], ARGV[1])
if have then return tonumber(string.sub(have, 1, string.find(have, '|') - 1)) end
local ripe = now + tonumber(ARGV[4])
redis.call('HSET', KEYS[2], ARGV[1], ripe .. '|' .. ARGV[3])
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call('SADD', KEYS[3], ARGV[5])
return ripe
`;

/**
 * KEYS: state, inbox, inboxData, unplaced, list.
 * ARGV: expectedRev, newRev, stateJson, nIds, ids..., nReports, (reportId, reportJson)...,
 *       nIncidents, (incidentId, openedAt, incidentJson, incidentKey)... (the incident keys are
 *       built from the same prefix: one slot with a hash-tag prefix)
 * Returns 1 committed, 0 the revision moved (someone else committed first).
 */
const COMMIT = `
local rev = tonumber(redis.call('HGET', KEYS[1], 'rev') or '0')
if rev ~= tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'rev', ARGV[2], 'state', ARGV[3])
local i = 4
local n = tonumber(ARGV[i])
for k = 1, n do
  redis.call('ZREM', KEYS[2], ARGV[i + k])
  redis.call('HDEL', KEYS[3], ARGV[i + k])
end
i = i + n + 1
n = tonumber(ARGV[i])
for k = 0, n - 1 do
  redis.call('HSET', KEYS[4], ARGV[i + 1 + 2 * k], ARGV[i + 2 + 2 * k])
end
i = i + 2 * n + 1
n = tonumber(ARGV[i])
for k = 0, n - 1 do
  local b = i + 1 + 4 * k
  redis.call('ZADD', KEYS[5], ARGV[b + 1], ARGV[b])
  redis.call('SET', ARGV[b + 3], ARGV[b + 2])
end
return 1
`;

interface IncidentScripts {
  incEnqueue(
    inbox: string,
    data: string,
    scopes: string,
    id: string,
    at: number,
    json: string,
    reorderMs: number,
    scope: string,
  ): Promise<number>;
  incCommit(...args: Array<string | number>): Promise<number>;
}

export interface Snapshot {
  now: number;
  rev: number;
  state: ScopeState;
  items: InboxEntry[];
}

export class IncidentStore {
  readonly keys: IncidentKeys;
  private readonly redis: RedisClient & IncidentScripts;

  constructor(redis: RedisClient, prefix?: string) {
    const r = redis as RedisClient & IncidentScripts;
    if (typeof r.incEnqueue !== 'function') {
      r.defineCommand('incEnqueue', { numberOfKeys: 3, lua: ENQUEUE });
      r.defineCommand('incCommit', { numberOfKeys: 5, lua: COMMIT });
    }
    this.redis = r;
    this.keys = new IncidentKeys(prefix);
  }

  async enqueue(scope: string, ev: Evidence, reorderMs: number): Promise<number> {
    const k = this.keys;
    return Number(
      await this.redis.incEnqueue(k.inbox(scope), k.inboxData(scope), k.scopes, ev.id, ev.at, JSON.stringify(ev), reorderMs, scope),
    );
  }

  async snapshot(scope: string): Promise<Snapshot> {
    const k = this.keys;
    const [[, t], [, h], [, ids], [, data]] = (await this.redis
      .multi()
      .time()
      .hgetall(k.state(scope))
      .zrange(k.inbox(scope), 0, -1)
      .hgetall(k.inboxData(scope))
      .exec()) as [[null, [string, string]], [null, Record<string, string>], [null, string[]], [null, Record<string, string>]];
    const now = Number(t[0]) * 1000 + Math.floor(Number(t[1]) / 1000);
    const rev = Number(h.rev ?? 0);
    const state: ScopeState = h.state ? (JSON.parse(h.state) as ScopeState) : { rev: 0, incidents: [] };
    state.rev = rev;
    const items: InboxEntry[] = [];
    for (const id of ids) {
      const raw = data[id];
      if (!raw) continue;
      const bar = raw.indexOf('|');
      items.push({ ripeAt: Number(raw.slice(0, bar)), evidence: JSON.parse(raw.slice(bar + 1)) as Evidence });
    }
    return { now, rev, state, items };
  }

  /** Compare-and-set: false when another worker committed first (take a new snapshot). */
  async commit(
    scope: string,
    expectedRev: number,
    state: ScopeState,
    applied: string[],
    reports: Report[],
    changed: Incident[],
  ): Promise<boolean> {
    const k = this.keys;
    const newRev = expectedRev + 1;
    const args: Array<string | number> = [
      expectedRev,
      newRev,
      JSON.stringify({ ...state, rev: newRev }),
      applied.length,
      ...applied,
      reports.length,
    ];
    for (const r of reports) args.push(r.id, JSON.stringify({ scope, report: r }));
    args.push(changed.length);
    for (const inc of changed) args.push(inc.id, inc.openedAt, JSON.stringify({ ...inc, seen: [] }), k.incident(inc.id));
    const res = await this.redis.incCommit(k.state(scope), k.inbox(scope), k.inboxData(scope), k.unplaced, k.list, ...args);
    return Number(res) === 1;
  }

  async unplaced(): Promise<Array<{ scope: string; report: Report }>> {
    const h = await this.redis.hgetall(this.keys.unplaced);
    return Object.values(h)
      .map((v) => JSON.parse(v) as { scope: string; report: Report })
      .sort((a, b) => a.report.at - b.report.at || a.report.seq - b.report.seq);
  }

  async markPlaced(reportId: string): Promise<void> {
    await this.redis.hdel(this.keys.unplaced, reportId);
  }

  async incident(id: string): Promise<Incident | undefined> {
    const s = await this.redis.get(this.keys.incident(id));
    return s ? (JSON.parse(s) as Incident) : undefined;
  }

  /** Incidents, newest first. */
  async list(limit = 50): Promise<Incident[]> {
    const ids = await this.redis.zrevrange(this.keys.list, 0, limit - 1);
    const out: Incident[] = [];
    for (const id of ids) {
      const inc = await this.incident(id);
      if (inc) out.push(inc);
    }
    return out;
  }

  async scopes(): Promise<string[]> {
    return this.redis.smembers(this.keys.scopes);
  }
}
