/**
 * Redis keys and Lua scripts of the threshold store. Every write is a compare-and-set in one
 * script: a new version only on top of the version it was computed from, a proposal only changed
 * from the exact state it was read in. Two operators acting at once therefore never overwrite each
 * other: the loser re-reads and recomputes (and may find its change is now a loosening, or stale).
 */
import type { RedisClient } from '../../lib/redis-client.js';
import { DEFAULT_PREFIX } from '../keys.js';

export class ThresholdKeys {
  readonly base: string;
  /** The number of the version in force. */
  readonly head: string;
  /** Every version number, oldest first. */
  readonly index: string;
  /** Proposal id -> JSON. */
  readonly proposals: string;
  /** Pending proposal ids by expiry. */
  readonly pending: string;
  readonly seq: string;
  /**
   * One entry per applied version (`version`, `announce`) and per new proposal (`proposal`,
   * `announce`): the outbox for InfluxDB (versions only) and for the e-mails to the other city.
   */
  readonly changes: string;
  /** Id of the last `changes` entry written to InfluxDB. */
  readonly recorded: string;

  constructor(readonly prefix: string = DEFAULT_PREFIX) {
    this.base = `${prefix}:thr:`;
    this.head = `${this.base}head`;
    this.index = `${this.base}versions`;
    this.proposals = `${this.base}proposals`;
    this.pending = `${this.base}pending`;
    this.seq = `${this.base}seq`;
    this.changes = `${this.base}changes`;
    this.recorded = `${this.base}changes:recorded`;
  }

  version(n: number): string {
    return `${this.base}v:${n}`;
  }
}

/**
 * KEYS: head, index, proposals, pending, changes, version(new).
 * ARGV: expectedHead ('' = the store is empty), newVersion, versionJson, announce (comma list),
 *       proposalId ('' = none), expectedProposalJson, newProposalJson.
 * Returns {1, version} | {0, head} (the head moved on) | {-1, current proposal json or ''} | {-2}.
 */
const COMMIT = `
local head = redis.call('GET', KEYS[1]) or ''
if head ~= ARGV[1] then return {0, head} end
if ARGV[5] ~= '' then
  local cur = redis.call('HGET', KEYS[3], ARGV[5]) or ''
  if cur ~= ARGV[6] then return {-1, cur} end
end
if not redis.call('SET', KEYS[6], ARGV[3], 'NX') then return {-2, ''} end
if ARGV[5] ~= '' then
  redis.call('HSET', KEYS[3], ARGV[5], ARGV[7])
  redis.call('ZREM', KEYS[4], ARGV[5])
end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('RPUSH', KEYS[2], ARGV[2])
redis.call('XADD', KEYS[5], '*', 'version', ARGV[2], 'announce', ARGV[4])
return {1, ARGV[2]}
`;

/**
 * Create (expectedJson '') or change a proposal.
 * KEYS: proposals, pending, head, changes. ARGV: id, expectedJson, newJson, pendingScore ('' = not
 *       pending), expectedHead ('' = do not check), notify (comma list of cities told of it, '' none).
 * Returns 1 | 0 (the proposal changed meanwhile) | -1 (the head moved on).
 * The notice goes into the same stream as applied versions, in the same script, so a proposal is
 * never created without the other city hearing of it.
 */
const PROPOSAL = `
if ARGV[5] ~= '' and (redis.call('GET', KEYS[3]) or '') ~= ARGV[5] then return -1 end
local cur = redis.call('HGET', KEYS[1], ARGV[1]) or ''
if cur ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
if ARGV[4] ~= '' then redis.call('ZADD', KEYS[2], ARGV[4], ARGV[1]) else redis.call('ZREM', KEYS[2], ARGV[1]) end
if ARGV[6] ~= '' then redis.call('XADD', KEYS[4], '*', 'proposal', ARGV[1], 'announce', ARGV[6]) end
return 1
`;

/**
 * Move the InfluxDB cursor forward only (two recorders racing never move it back).
 * KEYS: recorded. ARGV: stream id. Returns 1 if moved.
 */
const ADVANCE = `
local cur = redis.call('GET', KEYS[1])
if cur then
  local cm, cs = string.match(cur, '(%d+)-(%d+)')
  local nm, ns = string.match(ARGV[1], '(%d+)-(%d+)')
  if tonumber(nm) < tonumber(cm) or (tonumber(nm) == tonumber(cm) and tonumber(ns) <= tonumber(cs)) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1])
return 1
`;

export interface ThresholdScripts {
  thrCommit(
    head: string,
    index: string,
    proposals: string,
    pending: string,
    changes: string,
    version: string,
    ...args: string[]
  ): Promise<[number, string]>;
  thrProposal(proposals: string, pending: string, head: string, changes: string, ...args: string[]): Promise<number>;
  thrAdvance(recorded: string, id: string): Promise<number>;
}

const defined = new WeakSet<RedisClient>();

export function withThresholdScripts(redis: RedisClient): RedisClient & ThresholdScripts {
  if (!defined.has(redis)) {
    redis.defineCommand('thrCommit', { numberOfKeys: 6, lua: COMMIT });
    redis.defineCommand('thrProposal', { numberOfKeys: 4, lua: PROPOSAL });
    redis.defineCommand('thrAdvance', { numberOfKeys: 1, lua: ADVANCE });
    defined.add(redis);
  }
  return redis as RedisClient & ThresholdScripts;
}
