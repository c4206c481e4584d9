/**
 * The notifications' state in Redis: alert records (who was told, who acknowledged, history), CAP
 * documents, notice batches per recipient and the outbox of each batch's delivery (any channel).
 * Every write that must happen once goes through a script of ./scripts.ts.
 */
import { enoughReplicasOnline, requireReplicas, waitForReplicas } from '../../lib/redis-replicated.js';
import type { RedisClient } from '../../lib/redis-client.js';
import type { RuleName } from '../observe.js';
import type { NoticeItem, PreviousNotice, Recipient } from './items.js';
import { NotifyKeys, type Lane } from './keys.js';
import { withNotifyScripts, type NotifyScripts } from './scripts.js';
import type { Severity } from './severity.js';

/**
 * KEYS: alert, alerts index, firing set. ARGV: incidentId, wallNow, infoJson, reportKind, reportAt.
 * Returns the record's createdAt.
 */
const RECORD_INCIDENT = `
redis.call('HSETNX', KEYS[1], 'createdAt', ARGV[2])
redis.call('HSET', KEYS[1], 'info', ARGV[3])
redis.call('HSETNX', KEYS[1], 'state', 'firing')
redis.call('ZADD', KEYS[2], 'NX', ARGV[2], ARGV[1])
if ARGV[4] == 'final' then
  redis.call('HSET', KEYS[1], 'state', 'resolved', 'resolvedAt', ARGV[5])
  redis.call('SREM', KEYS[3], ARGV[1])
elseif redis.call('HGET', KEYS[1], 'state') ~= 'resolved' then
  redis.call('SADD', KEYS[3], ARGV[1])
end
return redis.call('HGET', KEYS[1], 'createdAt')
`;

/** KEYS: alert record. ARGV: counter field, report field. Returns the report's number. */
const REPORT_NUMBER = `
local n = redis.call('HGET', KEYS[1], ARGV[2])
if n then return tonumber(n) end
n = redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
redis.call('HSET', KEYS[1], ARGV[2], n)
return n
`;

/** Notify state is kept this long (placements, batches, outboxes, CAP documents). */
export const RETENTION_S = 30 * 24 * 3600;
/** An alert's record and history are kept this long after it resolved. */
export const HISTORY_S = 90 * 24 * 3600;

export interface AlertInfo {
  alertId: string;
  station: string;
  city: string;
  period: string;
  key: string;
  rule: RuleName;
  parameter: string;
  /** Event time the alert fired. */
  firstAt: number;
  bureaus: string[];
  severity: Severity;
}

export interface AckRecord {
  by: string;
  at: number;
  via: 'cli' | 'link' | 'api';
}

export interface EscalationRecord {
  at: number;
  to: string[];
}

export interface AlertRecord {
  info: AlertInfo;
  state: 'firing' | 'resolved';
  createdAt: number;
  resolvedAt: number | null;
  peak: number | null;
  last: PreviousNotice | null;
  acks: Record<string, AckRecord>;
  escalations: Record<string, EscalationRecord>;
}

export type LogEntry =
  | {
      type: 'firing' | 'reminder' | 'resolved';
      t: number;
      at: number;
      eventId: string;
      value: number | null;
      limit: number | null;
      bureaus: string[];
      catchUp?: boolean;
    }
  | { type: 'sent'; t: number; to: string; bureau: string; list: Recipient['list']; messageId: string; batchId: string; items: string[] }
  | { type: 'failed' | 'uncertain'; t: number; to: string; bureau: string; batchId: string; error: string }
  | { type: 'ack'; t: number; bureau: string; by: string; via: AckRecord['via'] }
  | { type: 'escalated'; t: number; bureau: string; to: string[] };

export interface DeadLetter {
  id: string;
  batchId: string;
  bureau: string;
  to: string;
  reason: 'rejected' | 'uncertain' | 'expired';
  error: string;
  items: string[];
  at: number;
}

export type BeginResult =
  | { state: 'go'; leaseUntil: number }
  | { state: 'busy'; leaseUntil: number }
  | { state: 'sent' | 'failed' | 'uncertain' | 'became-uncertain' };

export class NotifyStore {
  readonly keys: NotifyKeys;
  readonly redis: RedisClient & NotifyScripts;

  private readonly replicas: number;
  private readonly replicaTimeoutMs: number;

  /**
   * `replicas` (redis.wait_replicas): how many replicas must hold a delivery's commit mark before the
   * message is handed over. After a failover a commit the new master lacks would let the next attempt
   * send the message again; held by a replica, the next attempt finds it and sends nothing twice.
   */
  constructor(redis: RedisClient, prefix?: string, opts: { replicas?: number; replicaTimeoutMs?: number } = {}) {
    this.redis = withNotifyScripts(redis);
    this.keys = new NotifyKeys(prefix);
    this.replicas = opts.replicas ?? 0;
    this.replicaTimeoutMs = opts.replicaTimeoutMs ?? 2000;
  }

  // ---- alert records ----

  /** The alert (firing episode) a reminder or resolve at `at` belongs to: the latest firing at or before it. */
  async findEpisode(station: string, period: string, key: string, at: number): Promise<string | null> {
    const ids = await this.redis.zrevrangebyscore(this.keys.episodes(station, period, key), at, '-inf', 'LIMIT', 0, 1);
    return ids[0] ?? null;
  }

  /**
   * Records one transition of an alert, once (a re-run returns what the first run saw). Returns
   * what the bureaus were told before this transition, the worst value so far and the record's
   * first wall-clock time.
   */
  async recordEvent(
    info: AlertInfo,
    e: {
      id: string;
      kind: 'firing' | 'reminder' | 'resolved';
      at: number;
      value: number | null;
      limit: number | null;
      catchUp: boolean;
      worse: 'max' | 'min';
    },
    wallNow: number,
  ): Promise<{ previous: PreviousNotice | null; peak: number | null; createdAt: number; info: AlertInfo; first: boolean }> {
    const k = this.keys;
    const snapshot: PreviousNotice = { eventId: e.id, kind: e.kind, at: e.at, value: e.value, limit: e.limit };
    const log: LogEntry = {
      type: e.kind,
      t: wallNow,
      at: e.at,
      eventId: e.id,
      value: e.value,
      limit: e.limit,
      bureaus: info.bureaus,
      ...(e.catchUp ? { catchUp: true } : {}),
    };
    const [prev, peak, createdAt, storedInfo, first] = await this.redis.ntRecord(
      k.alert(info.alertId),
      k.alertLog(info.alertId),
      k.alerts,
      k.firing,
      k.episodes(info.station, info.period, info.key),
      k.alertCaps(info.alertId),
      info.alertId,
      e.id,
      JSON.stringify(snapshot),
      JSON.stringify(info),
      wallNow,
      JSON.stringify(log),
      info.firstAt,
      e.value === null ? '' : e.value,
      e.kind,
      e.worse,
      e.at,
      HISTORY_S,
    );
    return {
      previous: prev ? (JSON.parse(prev) as PreviousNotice) : null,
      peak: peak === '' ? null : Number(peak),
      createdAt: Number(createdAt),
      info: JSON.parse(storedInfo) as AlertInfo,
      first: Number(first) === 1,
    };
  }

  /**
   * Records an incident as an alert record (so acknowledgement, escalation and `alerts status` work
   * per incident): created once with its first report, marked resolved with its final report.
   * Returns the record's creation time (wall clock), which the ack links' expiry counts from.
   */
  async recordIncident(
    inc: { id: string; origin: string; family: string; parameter: string; openedAt: number },
    bureaus: string[],
    severity: Severity,
    wallNow: number,
    report: { id: string; kind: string; at: number; seq: number },
  ): Promise<number> {
    const k = this.keys;
    const info: AlertInfo = {
      alertId: inc.id,
      station: inc.origin,
      city: '',
      period: 'incident',
      key: `incident.${inc.family}`,
      rule: 'limit',
      parameter: inc.parameter,
      firstAt: inc.openedAt,
      bureaus,
      severity,
    };
    // One script: reports of one incident may be placed by several workers in any order, and a
    // late first report must not put a closed incident back among the firing ones.
    const created = await this.redis.eval(
      RECORD_INCIDENT,
      3,
      k.alert(inc.id),
      k.alerts,
      k.firing,
      inc.id,
      Math.floor(wallNow),
      JSON.stringify(info),
      report.kind,
      report.at,
    );
    return Number(created);
  }

  /** The number of a report for one bureau (1, 2, … in the order they are placed); the same report keeps its number. */
  async reportNumber(incidentId: string, bureau: string, reportId: string): Promise<number> {
    const n = await this.redis.eval(REPORT_NUMBER, 1, this.keys.alert(incidentId), `rn:${bureau}`, `rn:${bureau}:${reportId}`);
    return Number(n);
  }

  async alert(alertId: string): Promise<AlertRecord | undefined> {
    const h = await this.redis.hgetall(this.keys.alert(alertId));
    if (!h.info) return undefined;
    const acks: Record<string, AckRecord> = {};
    const escalations: Record<string, EscalationRecord> = {};
    for (const [f, v] of Object.entries(h)) {
      if (f.startsWith('ack:')) acks[f.slice(4)] = JSON.parse(v) as AckRecord;
      else if (f.startsWith('esc:')) escalations[f.slice(4)] = JSON.parse(v) as EscalationRecord;
    }
    return {
      info: JSON.parse(h.info) as AlertInfo,
      state: h.state === 'resolved' ? 'resolved' : 'firing',
      createdAt: Number(h.createdAt),
      resolvedAt: h.resolvedAt ? Number(h.resolvedAt) : null,
      peak: h.peak ? Number(h.peak) : null,
      last: h.last ? (JSON.parse(h.last) as PreviousNotice) : null,
      acks,
      escalations,
    };
  }

  async history(alertId: string): Promise<LogEntry[]> {
    return (await this.redis.lrange(this.keys.alertLog(alertId), 0, -1)).map((s) => JSON.parse(s) as LogEntry);
  }

  /** Alerts, newest first: the firing ones, or every one recorded. */
  async listAlerts(opts: { firingOnly?: boolean; limit?: number } = {}): Promise<AlertRecord[]> {
    const ids = opts.firingOnly
      ? await this.redis.smembers(this.keys.firing)
      : await this.redis.zrevrange(this.keys.alerts, 0, (opts.limit ?? 100) - 1);
    const out: AlertRecord[] = [];
    for (const id of ids) {
      const a = await this.alert(id);
      if (a) out.push(a);
    }
    return out.sort((a, b) => b.info.firstAt - a.info.firstAt || a.info.alertId.localeCompare(b.info.alertId)).slice(0, opts.limit ?? 100);
  }

  /** Records a bureau's acknowledgement once; the first one stands. */
  async ack(
    alertId: string,
    bureau: string,
    ack: AckRecord,
  ): Promise<{ status: 'recorded' | 'already' | 'unknown-alert'; ack?: AckRecord }> {
    const log: LogEntry = { type: 'ack', t: ack.at, bureau, by: ack.by, via: ack.via };
    const [n, v] = await this.redis.ntSetOnce(
      this.keys.alert(alertId),
      this.keys.alertLog(alertId),
      `ack:${bureau}`,
      JSON.stringify(ack),
      JSON.stringify(log),
    );
    if (Number(n) === -1) return { status: 'unknown-alert' };
    return { status: Number(n) === 1 ? 'recorded' : 'already', ack: JSON.parse(v) as AckRecord };
  }

  /** Records an escalation to a bureau's list once: true for the caller that recorded it. */
  async markEscalated(alertId: string, bureau: string, rec: EscalationRecord): Promise<boolean> {
    const log: LogEntry = { type: 'escalated', t: rec.at, bureau, to: rec.to };
    const [n] = await this.redis.ntSetOnce(
      this.keys.alert(alertId),
      this.keys.alertLog(alertId),
      `esc:${bureau}`,
      JSON.stringify(rec),
      JSON.stringify(log),
    );
    return Number(n) === 1;
  }

  // ---- CAP ----

  /** The first document stored for an event stays: CAP messages are never silently rewritten. */
  async saveCap(eventId: string, xml: string): Promise<void> {
    await this.redis.set(this.keys.cap(eventId), xml, 'EX', RETENTION_S, 'NX');
  }

  async cap(eventId: string): Promise<string | null> {
    return this.redis.get(this.keys.cap(eventId));
  }

  async caps(eventIds: string[]): Promise<Array<string | null>> {
    return eventIds.length === 0 ? [] : this.redis.mget(eventIds.map((id) => this.keys.cap(id)));
  }

  /** The CAP messages of an alert, oldest first (event ids with their event times). */
  async capsOf(alertId: string): Promise<Array<{ eventId: string; at: number }>> {
    const flat = await this.redis.zrange(this.keys.alertCaps(alertId), 0, -1, 'WITHSCORES');
    const out: Array<{ eventId: string; at: number }> = [];
    for (let i = 0; i + 1 < flat.length; i += 2) out.push({ eventId: flat[i] as string, at: Number(flat[i + 1]) });
    return out;
  }

  // ---- batches ----

  async place(
    recipient: Recipient,
    lane: Lane,
    item: NoticeItem,
    flushAt: number,
    wallNow: number,
  ): Promise<{ batchId: string; flushAt: number; created: boolean; already: boolean }> {
    const k = this.keys;
    const [batchId, flush, created, already] = await this.redis.ntPlace(
      k.placed(recipient.key, item.id),
      k.open(recipient.key, lane),
      k.seq(recipient.key),
      k.batchBase,
      recipient.key,
      item.id,
      JSON.stringify(item),
      wallNow,
      lane,
      JSON.stringify(recipient),
      RETENTION_S,
      flushAt,
    );
    return { batchId, flushAt: Number(flush), created: Number(created) === 1, already: Number(already) === 1 };
  }

  /** Closes the batch (idempotent) and returns it; undefined when it does not exist (expired). */
  async closeBatch(batchId: string, wallNow: number): Promise<{ recipient: Recipient; closedAt: number; items: NoticeItem[] } | undefined> {
    const res = await this.redis.ntClose(this.keys.batch(batchId), this.keys.batchItems(batchId), batchId, wallNow);
    if (res.length < 2) return undefined;
    const [recipient, closedAt, ...items] = res;
    const at = (i: NoticeItem): number => i.event?.at ?? (i as unknown as { report: { at: number } }).report.at;
    const parsed = items.map((s) => JSON.parse(s) as NoticeItem).sort((a, b) => at(a) - at(b) || a.id.localeCompare(b.id));
    return { recipient: JSON.parse(recipient as string) as Recipient, closedAt: Number(closedAt), items: parsed };
  }

  // ---- outbox ----

  async begin(batchId: string, token: string, leaseMs: number): Promise<BeginResult> {
    const [state, until] = await this.redis.ntBegin(this.keys.outbox(batchId), token, leaseMs);
    if (state === 'go' || state === 'busy') return { state, leaseUntil: Number(until) };
    return { state: state as 'sent' | 'failed' | 'uncertain' | 'became-uncertain' };
  }

  /**
   * True when this attempt may hand the message over. Throws TJ_REDIS_NOT_REPLICATED when fewer than
   * `replicas` replicas hold the mark in time: the message is then not handed over, and the attempt is
   * retried like any failure before the commit.
   */
  async commit(batchId: string, token: string): Promise<boolean> {
    const key = this.keys.outbox(batchId);
    if (Number(await this.redis.ntCommit(key, token)) !== 1) return false;
    await requireReplicas(this.redis, key, this.replicas, this.replicaTimeoutMs, 'notification commit');
    return true;
  }

  /**
   * With redis.wait_replicas: whether that many replicas hold this client's writes to the batch's
   * outbox, its final mark included, waiting at most the commit's wait. Never throws: the message is
   * out by then. A "sent" mark lost in a failover would make the next attempt (the job's completion
   * may be lost with it) find only the commit and dead-letter the delivery as uncertain.
   */
  async finalMarkReplicated(batchId: string): Promise<boolean> {
    if (this.replicas <= 0) return true;
    try {
      return (await waitForReplicas(this.redis, this.keys.outbox(batchId), this.replicas, this.replicaTimeoutMs)) >= this.replicas;
    } catch {
      return false;
    }
  }

  /**
   * Whether the outbox's master has as many replicas online, acknowledging within the commit's wait
   * (at least 2 s), as a commit needs: notify's /readyz `redis_replicas`. Asked each time rather
   * than remembered from the last commit, so that a replica lost or hung while no notice was due
   * shows within seconds, not when the first notice of an incident is held. True when no replica
   * is required.
   */
  enoughReplicasOnline(): Promise<boolean> {
    return enoughReplicasOnline(this.redis, this.keys.outbox('readyz'), this.replicas, this.replicaTimeoutMs);
  }

  async finish(
    batchId: string,
    token: string,
    state: 'sent' | 'retry' | 'failed' | 'uncertain',
    fields: Record<string, string | number>,
    log?: { alertIds: string[]; entry: LogEntry },
  ): Promise<boolean> {
    const logKeys = log ? [...new Set(log.alertIds)].map((a) => this.keys.alertLog(a)) : [];
    const n = await this.redis.ntFinish(
      1 + logKeys.length,
      this.keys.outbox(batchId),
      ...logKeys,
      token,
      state,
      JSON.stringify(fields),
      log ? JSON.stringify(log.entry) : '',
    );
    return Number(n) === 1;
  }

  async outbox(batchId: string): Promise<Record<string, string>> {
    return this.redis.hgetall(this.keys.outbox(batchId));
  }

  // ---- dead letters ----

  async deadLetter(d: Omit<DeadLetter, 'id'>, log?: { alertIds: string[]; entry: LogEntry }): Promise<void> {
    const m = this.redis.multi().xadd(this.keys.dead, 'MAXLEN', '~', 10000, '*', 'd', JSON.stringify(d));
    if (log) for (const a of new Set(log.alertIds)) m.rpush(this.keys.alertLog(a), JSON.stringify(log.entry));
    await m.exec();
  }

  async deadLetters(limit = 100): Promise<DeadLetter[]> {
    const entries = (await this.redis.xrevrange(this.keys.dead, '+', '-', 'COUNT', limit)) as Array<[string, string[]]>;
    return entries.map(([id, fields]) => ({ id, ...(JSON.parse(fields[1] ?? '{}') as Omit<DeadLetter, 'id'>) }));
  }
}
