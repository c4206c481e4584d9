/**
 * The unified thresholds as versions in Redis, seeded from config/thresholds.yaml. Nothing is ever
 * overwritten: every change is a new immutable version (who, when, why, old → new, approvals) on
 * top of the one it was computed from. Tightening applies at once (unless past the sanity floor:
 * then it waits like a loosening); loosening waits, as a proposal that expires, for an operator of
 * the other city; a limit looser than the national standard only as an exception with a reason and
 * an end date that both cities approve, reverted at its end. A city may always restore, on its own
 * stations, a limit it had before the other city's changes (./restore.ts).
 * See docs/decisions/0007-threshold-store.md.
 */
import { refuseUntaggedOnCluster, type RedisClient } from '../../config/connections.js';
import { DEFAULT_PREFIX } from '../keys.js';
import type { RegistryConfig } from '../../config/schema.js';
import { thresholdsSchemaFor, type ExplicitLimit, type ThresholdsFile } from '../thresholds-schema.js';
import { field, type InputField } from './fields.js';
import { TuojiangError } from '../../lib/errors.js';
import type { InfluxStore } from '../../lib/influx/client.js';
import type { Logger } from '../../lib/logger.js';
import { PARAMETER_BY_KEY } from '../../lib/parameters.js';
import type { ThresholdSet } from '../thresholds.js';
import { approvalRefusal, classify, missingApprovals, type Classification } from './consent.js';
import { diffConfigs, exportYaml, type PathChange } from './diff.js';
import {
  explicitAt,
  formatExplicit,
  parseBound,
  resolveTarget,
  sameExplicit,
  sameTarget,
  targetPath,
  withExplicit,
  type LimitChangeInput,
} from './limits.js';
import { ChangeRecorder } from './recorder.js';
import { judgeRestore } from './restore.js';
import { ThresholdKeys, withThresholdScripts, type ThresholdScripts } from './scripts.js';
import { summarize } from './summary.js';
import type {
  ActiveException,
  Actor,
  ApproveResult,
  LimitTarget,
  Proposal,
  ProposalStatus,
  ProposeResult,
  ThresholdVersion,
  VersionEntry,
} from './types.js';

export const DEFAULT_PROPOSAL_TTL_MS = 72 * 3_600_000;
const MAX_ATTEMPTS = 50;

export interface ThresholdStoreOptions {
  redis: RedisClient;
  registry: RegistryConfig;
  prefix?: string;
  /** The clock for proposal expiry and exception ends (tests move it). */
  now?: () => number;
  /** How long a loosening waits for consent before it expires. Default 72 h. */
  proposalTtlMs?: number;
  /** Where applied versions are recorded for the dashboards (`threshold_changes`). */
  influx?: InfluxStore;
  log?: Logger;
}

export interface ProposalInput extends LimitChangeInput {
  why?: unknown;
  /** Only for a limit looser than the national standard: why, and until when. */
  exception?: { reason?: unknown; until?: unknown };
}

export interface RestoreInput extends LimitChangeInput {
  why?: unknown;
  /** Put back the explicit limit the target had in this version (instead of a value or `clear`). */
  toVersion?: unknown;
}

export interface VersionDiff {
  from: number;
  to: number;
  /** Every key of config/thresholds.yaml that differs. */
  changes: PathChange[];
  /** The versions that lead from one to the other (those after `min(from, to)` up to `max`). */
  versions: VersionEntry[];
  exceptions: { added: ActiveException[]; removed: ActiveException[] };
}

export interface HistoryQuery {
  station?: string;
  param?: string;
  /** The newest N only. */
  limit?: number;
}

const strip = ({ config: _config, ...entry }: ThresholdVersion): VersionEntry => entry;

function text(name: InputField, v: unknown, max = 500): string {
  const s = typeof v === 'string' ? v.trim() : '';
  if (!s)
    throw new TuojiangError(
      'THRESHOLD_INVALID_VALUE',
      `${field(name)} is required: say why (it is recorded with the version and shown to the other city)`,
    );
  return s.slice(0, max);
}

/** ISO 8601 with a zone or epoch milliseconds: a bare local time is ambiguous between CST and UTC. */
export function parseUntil(v: unknown): number {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && /(Z|[+-]\d\d:?\d\d)$/.test(v.trim()) && !Number.isNaN(Date.parse(v))) return Date.parse(v);
  throw new TuojiangError(
    'THRESHOLD_EXCEPTION_INVALID',
    `${field('exception.until')} must be an ISO 8601 date-time with a zone (e.g. 2026-06-30T24:00+08:00), got ${JSON.stringify(v) ?? 'nothing'}`,
  );
}

export class ThresholdStore {
  readonly keys: ThresholdKeys;
  readonly registry: RegistryConfig;
  readonly cities: readonly string[];
  private readonly redis: RedisClient & ThresholdScripts;
  private readonly now: () => number;
  private readonly ttl: number;
  private readonly recorder: ChangeRecorder | undefined;
  private readonly schema: ReturnType<typeof thresholdsSchemaFor>;
  /** Versions never change once written: each is read from Redis once. */
  private readonly cache = new Map<number, ThresholdVersion>();

  constructor(private readonly o: ThresholdStoreOptions) {
    refuseUntaggedOnCluster(o.redis, { prefix: o.prefix ?? DEFAULT_PREFIX });
    this.keys = new ThresholdKeys(o.prefix);
    this.registry = o.registry;
    this.cities = Object.keys(o.registry.cities);
    this.redis = withThresholdScripts(o.redis);
    this.now = o.now ?? Date.now;
    this.ttl = o.proposalTtlMs ?? DEFAULT_PROPOSAL_TTL_MS;
    this.schema = thresholdsSchemaFor(o.registry);
    this.recorder = o.influx
      ? new ChangeRecorder(o.redis, this.keys, o.influx, (n) => this.version(n).catch(() => undefined), o.log)
      : undefined;
  }

  // ---- reading ---------------------------------------------------------------------------

  async headVersion(): Promise<number | null> {
    const h = await this.redis.get(this.keys.head);
    return h === null ? null : Number(h);
  }

  async version(n?: number): Promise<ThresholdVersion> {
    const want = n ?? (await this.headVersion());
    if (want === null) throw new TuojiangError('THRESHOLD_STORE_EMPTY', 'the threshold store is empty (not seeded yet)');
    const hit = this.cache.get(want);
    if (hit) return hit;
    const json = Number.isInteger(want) && want > 0 ? await this.redis.get(this.keys.version(want)) : null;
    if (json === null) {
      const head = await this.headVersion();
      throw new TuojiangError('THRESHOLD_VERSION_NOT_FOUND', `no threshold version ${want}${head ? ` (versions 1–${head})` : ''}`);
    }
    const v = JSON.parse(json) as ThresholdVersion;
    this.cache.set(want, v);
    return v;
  }

  current(): Promise<ThresholdVersion> {
    return this.version();
  }

  /** What the checks consume: the version number is what every alert records. */
  static toThresholdSet(v: ThresholdVersion): ThresholdSet {
    return { version: String(v.version), source: 'redis', config: v.config };
  }

  async history(q: HistoryQuery = {}): Promise<VersionEntry[]> {
    const head = await this.headVersion();
    if (head === null) return [];
    const all = await Promise.all(Array.from({ length: head }, (_, i) => this.version(i + 1)));
    let out = all.map(strip);
    if (q.param) out = out.filter((v) => v.kind === 'seed' || v.target?.param === q.param);
    if (q.station) {
      const st = q.station;
      out = out.filter(
        (v) =>
          v.kind === 'seed' ||
          (v.target?.scope === 'station' && v.target.station === st) ||
          (v.effects ?? []).some((e) => e.station === st),
      );
    }
    return q.limit ? out.slice(-q.limit) : out;
  }

  async diff(from: number, to?: number): Promise<VersionDiff> {
    const a = await this.version(from);
    const b = await this.version(to);
    const lo = Math.min(a.version, b.version);
    const hi = Math.max(a.version, b.version);
    const between = await Promise.all(Array.from({ length: hi - lo }, (_, i) => this.version(lo + 1 + i)));
    const ids = (l: ActiveException[]) => new Set(l.map((e) => e.id));
    return {
      from: a.version,
      to: b.version,
      changes: diffConfigs(a.config, b.config),
      versions: between.map(strip),
      exceptions: {
        added: b.exceptions.filter((e) => !ids(a.exceptions).has(e.id)),
        removed: a.exceptions.filter((e) => !ids(b.exceptions).has(e.id)),
      },
    };
  }

  async exportYaml(n?: number): Promise<string> {
    return exportYaml(await this.version(n));
  }

  /** Changes made by other cities (or the system) that `city` is told of, newest last. */
  async announcements(city: string, sinceMs = 0): Promise<VersionEntry[]> {
    return (await this.history()).filter((v) => v.at >= sinceMs && v.announce.includes(city));
  }

  private async readProposal(id: string): Promise<{ raw: string; p: Proposal }> {
    const raw = await this.redis.hget(this.keys.proposals, id);
    if (raw === null) throw new TuojiangError('THRESHOLD_PROPOSAL_NOT_FOUND', `no proposal "${id}"`);
    return { raw, p: JSON.parse(raw) as Proposal };
  }

  /** A pending proposal past its expiry is shown as expired even before a sweep records it. */
  private view(p: Proposal): Proposal {
    return p.status === 'pending' && p.expiresAt <= this.now() ? { ...p, status: 'expired' } : p;
  }

  async proposal(id: string): Promise<Proposal> {
    return this.view((await this.readProposal(id)).p);
  }

  async proposals(status: ProposalStatus | 'all' = 'pending'): Promise<Proposal[]> {
    const all = Object.values(await this.redis.hgetall(this.keys.proposals)).map((j) => this.view(JSON.parse(j) as Proposal));
    return all.filter((p) => status === 'all' || p.status === status).sort((a, b) => Number(a.id.slice(1)) - Number(b.id.slice(1)));
  }

  // ---- writing ---------------------------------------------------------------------------

  /** Version 1 from the file, unless the store already has versions (then nothing happens). */
  async seed(set: ThresholdSet, by = 'system'): Promise<{ seeded: boolean; version: number }> {
    const head = await this.headVersion();
    if (head !== null) return { seeded: false, version: head };
    const at = this.now();
    const v: ThresholdVersion = {
      version: 1,
      parent: null,
      at,
      kind: 'seed',
      by,
      city: null,
      why: `seeded from ${set.source}`,
      approvals: [],
      exceptions: [],
      announce: [],
      summary: `初始版本：${set.source}（文件版本 ${set.version}，v1） / Seeded from ${set.source} (file version ${set.version}, v1)`,
      seed: { source: set.source, fileVersion: set.version },
      config: this.validated(set.config, 1),
    };
    const [code, now] = await this.commit('', v);
    if (code !== 1) return { seeded: false, version: Number(now) };
    await this.flushChanges();
    return { seeded: true, version: 1 };
  }

  private validated(config: ThresholdsFile, version: number): ThresholdsFile {
    const r = this.schema.safeParse({ ...config, version: String(version) });
    if (!r.success) {
      const msg = r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
      throw new TuojiangError('CONFIG_INVALID', `the resulting thresholds would be invalid: ${msg}`);
    }
    return r.data;
  }

  private checkActor(actor: Actor): void {
    if (!actor.operator || !/^[A-Za-z0-9._@-]{1,64}$/.test(actor.operator))
      throw new TuojiangError(
        'OPERATOR_UNKNOWN',
        `operator id ${JSON.stringify(actor.operator)} is missing or not letters, digits, . _ @ -`,
      );
    if (!this.cities.includes(actor.city))
      throw new TuojiangError('OPERATOR_UNKNOWN', `unknown city ${JSON.stringify(actor.city)}; expected one of ${this.cities.join(', ')}`);
  }

  private async commit(
    expectedHead: string,
    v: ThresholdVersion,
    proposal?: { id: string; raw: string; next: Proposal },
  ): Promise<[number, string]> {
    return this.redis.thrCommit(
      this.keys.head,
      this.keys.index,
      this.keys.proposals,
      this.keys.pending,
      this.keys.changes,
      this.keys.version(v.version),
      expectedHead,
      String(v.version),
      JSON.stringify(v),
      v.announce.join(','),
      proposal?.id ?? '',
      proposal?.raw ?? '',
      proposal ? JSON.stringify(proposal.next) : '',
    );
  }

  /** `notify`: cities told of a new proposal (it is appended to the `changes` stream with it). */
  private async putProposal(id: string, raw: string, next: Proposal, expectedHead = '', notify: readonly string[] = []): Promise<number> {
    return this.redis.thrProposal(
      this.keys.proposals,
      this.keys.pending,
      this.keys.head,
      this.keys.changes,
      id,
      raw,
      JSON.stringify(next),
      next.status === 'pending' ? String(next.expiresAt) : '',
      expectedHead,
      notify.join(','),
    );
  }

  async flushChanges(): Promise<number> {
    return this.recorder ? this.recorder.flush() : 0;
  }

  /** The next version on top of `head`: strictly later than it, so every annotation has its own instant. */
  private nextVersion(
    head: ThresholdVersion,
    f: Omit<ThresholdVersion, 'version' | 'parent' | 'at' | 'announce' | 'summary' | 'config'> & { config: ThresholdsFile; until?: number },
  ): ThresholdVersion {
    const version = head.version + 1;
    const { until, ...rest } = f;
    return {
      ...rest,
      version,
      parent: head.version,
      at: Math.max(this.now(), head.at + 1),
      announce: this.cities.filter((c) => c !== f.city),
      summary: summarize(this.registry, {
        kind: f.kind,
        ...(f.target ? { target: f.target } : {}),
        from: f.from ?? null,
        to: f.to ?? null,
        ...(f.unit ? { unit: f.unit } : {}),
        version,
        by: f.by,
        city: f.city,
        ...(until !== undefined ? { until } : {}),
      }),
      config: this.validated(f.config, version),
    };
  }

  /**
   * A change to a limit under an exception: the exception follows the limit while it stays looser
   * than the standard (so its end date still brings the standard back), and ends when it no longer is.
   */
  private carryExceptions(list: ActiveException[], target: LimitTarget, to: ExplicitLimit | null, cls: Classification): ActiveException[] {
    return list.flatMap((e) => {
      if (!sameTarget(e.target, target)) return [e];
      return to !== null && cls.stillBelowStandard ? [{ ...e, value: to }] : [];
    });
  }

  /**
   * Propose a change to one limit. A tightening is applied at once (a new version, announced to the
   * other city); a loosening, a tightening past the sanity floor, or an exception below the national
   * standard becomes a pending proposal (announced to the cities whose approval it needs).
   */
  async propose(actor: Actor, input: ProposalInput): Promise<ProposeResult> {
    this.checkActor(actor);
    const why = text('why', input.why);
    let exception: { reason: string; until: number } | undefined;
    if (input.exception !== undefined && input.exception !== null) {
      const reason = typeof input.exception.reason === 'string' ? input.exception.reason.trim() : '';
      if (!reason)
        throw new TuojiangError(
          'THRESHOLD_EXCEPTION_INVALID',
          `an exception needs ${field('exception.reason')}: why the river can bear a limit looser than the national standard`,
        );
      const until = parseUntil(input.exception.until);
      if (until <= this.now())
        throw new TuojiangError(
          'THRESHOLD_EXCEPTION_INVALID',
          `the exception's end date (${new Date(until).toISOString()}) must be in the future`,
        );
      exception = { reason: reason.slice(0, 500), until };
    }
    let id: string | undefined;
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const head = await this.current();
      const target = resolveTarget(input, this.registry, head.config);
      const { explicit: to, unit } = parseBound(target.param, input);
      const from = explicitAt(head.config, target);
      if (sameExplicit(from, to)) {
        throw new TuojiangError(
          'THRESHOLD_NO_CHANGE',
          `${targetPath(target)} is already ${formatExplicit(to, unit)} (version ${head.version}): the proposal changes nothing`,
        );
      }
      const now = this.now();
      const after = this.validated(withExplicit(head.config, target, to), head.version + 1);
      const cls = classify(this.registry, head.config, after, target, now);
      if (cls.direction === 'none') {
        const where =
          cls.effects.length === 0
            ? 'no station is under this scope'
            : `the limit in force stays ${[...new Set(cls.effects.map((e) => e.after))].join(' / ')} at ${[...new Set(cls.effects.map((e) => e.station))].join(', ')}`;
        throw new TuojiangError(
          'THRESHOLD_NO_CHANGE',
          `${targetPath(target)} ${formatExplicit(from, unit)} → ${formatExplicit(to, unit)} changes no limit in force (${where})`,
        );
      }
      if (exception && cls.belowStandard.length === 0) {
        throw new TuojiangError(
          'THRESHOLD_EXCEPTION_INVALID',
          `${targetPath(target)} → ${formatExplicit(to, unit)} is not looser than the national standard: propose it without ${field('exception')}`,
        );
      }
      if (!exception && cls.belowStandard.length > 0) {
        const list = cls.belowStandard
          .map((e) => `${e.station}${e.period === 'day' ? ' (daily)' : ''}: ${e.after} vs national ${e.national}`)
          .join('; ');
        throw new TuojiangError(
          'THRESHOLD_BELOW_STANDARD',
          `${targetPath(target)} → ${formatExplicit(to, unit)} is looser than the national standard for the target class (${list})`,
          { effects: cls.belowStandard },
        );
      }
      if (cls.direction === 'tighten' && cls.belowFloor.length === 0) {
        const v = this.nextVersion(head, {
          kind: 'tighten',
          by: actor.operator,
          city: actor.city,
          why,
          target,
          from,
          to,
          unit,
          effects: cls.effects,
          approvals: [],
          exceptions: this.carryExceptions(head.exceptions, target, to, cls),
          config: after,
        });
        const [code] = await this.commit(String(head.version), v);
        if (code !== 1) continue;
        await this.flushChanges();
        return { outcome: 'applied', version: strip(v) };
      }
      id ??= `p${await this.redis.incr(this.keys.seq)}`;
      const kind = exception ? 'exception' : cls.direction === 'tighten' ? 'floor' : 'loosen';
      const p: Proposal = {
        id,
        status: 'pending',
        kind,
        target,
        from,
        to,
        unit,
        why,
        by: actor.operator,
        city: actor.city,
        at: now,
        expiresAt: exception ? Math.min(now + this.ttl, exception.until) : now + this.ttl,
        baseVersion: head.version,
        effects: cls.effects,
        ...(exception ? { exception } : {}),
        needs: missingApprovals(kind, this.cities, { by: actor.operator, city: actor.city }, []),
        approvals: [],
        summary: summarize(this.registry, {
          kind: `pending-${kind}`,
          target,
          from,
          to,
          unit,
          by: actor.operator,
          city: actor.city,
          ...(exception ? { until: exception.until } : {}),
        }),
      };
      const r = await this.putProposal(id, '', p, String(head.version), p.needs);
      if (r === -1) continue;
      if (r !== 1) throw new TuojiangError('THRESHOLD_CONFLICT', `proposal id ${id} already taken`);
      return { outcome: 'pending', proposal: p };
    }
    throw new TuojiangError('THRESHOLD_CONFLICT', `the thresholds kept changing while proposing (${MAX_ATTEMPTS} attempts)`);
  }

  private async close(id: string, raw: string, p: Proposal, status: ProposalStatus, why: string, by: Actor | null): Promise<void> {
    const next: Proposal = { ...p, status, closed: { at: this.now(), by: by?.operator ?? 'system', city: by?.city ?? null, why } };
    await this.putProposal(id, raw, next);
  }

  /** Approve a pending proposal; the approval that completes the consent applies it. */
  async approve(actor: Actor, id: string, comment?: string): Promise<ApproveResult> {
    this.checkActor(actor);
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const { raw, p } = await this.readProposal(id);
      if (p.status !== 'pending')
        throw new TuojiangError(
          'THRESHOLD_PROPOSAL_CLOSED',
          `${id} is ${p.status}${p.appliedVersion ? ` (version ${p.appliedVersion})` : ''}${p.closed ? `: ${p.closed.why}` : ''}`,
        );
      const now = this.now();
      if (p.expiresAt <= now) {
        await this.close(id, raw, p, 'expired', 'expired unapproved', null);
        throw new TuojiangError(
          'THRESHOLD_PROPOSAL_EXPIRED',
          `${id} expired at ${new Date(p.expiresAt).toISOString()} without the consent it needed (${p.needs.join(', ')})`,
        );
      }
      const refusal = approvalRefusal(p.kind, this.cities, p, p.approvals, actor);
      if (refusal) throw new TuojiangError('THRESHOLD_APPROVAL_REFUSED', `${id}: ${refusal}`);
      const approvals = [
        ...p.approvals,
        { by: actor.operator, city: actor.city, at: now, ...(comment ? { comment: comment.slice(0, 500) } : {}) },
      ];
      const needs = missingApprovals(p.kind, this.cities, p, approvals);
      if (needs.length > 0) {
        const next: Proposal = { ...p, approvals, needs };
        if ((await this.putProposal(id, raw, next)) !== 1) continue;
        return { outcome: 'recorded', proposal: next };
      }
      const head = await this.current();
      const cur = explicitAt(head.config, p.target);
      if (!sameExplicit(cur, p.from)) {
        const why = `${targetPath(p.target)} was ${formatExplicit(p.from, p.unit)} when proposed and is ${formatExplicit(cur, p.unit)} now (version ${head.version})`;
        await this.close(id, raw, p, 'stale', why, actor);
        throw new TuojiangError('THRESHOLD_PROPOSAL_STALE', `${id}: ${why}`);
      }
      const after = this.validated(withExplicit(head.config, p.target, p.to), head.version + 1);
      const cls = classify(this.registry, head.config, after, p.target, now);
      const staleWhy =
        cls.direction === 'none'
          ? 'it no longer changes any limit in force'
          : p.kind !== 'exception' && cls.belowStandard.length > 0
            ? 'it would now be looser than the national standard (an exception is needed)'
            : undefined;
      if (staleWhy) {
        await this.close(id, raw, p, 'stale', staleWhy, actor);
        throw new TuojiangError('THRESHOLD_PROPOSAL_STALE', `${id}: ${staleWhy}`);
      }
      let exceptions: ActiveException[];
      if (p.kind === 'exception' && p.exception) {
        if (p.exception.until <= now) {
          await this.close(id, raw, p, 'expired', "the exception's end date passed before it was approved", null);
          throw new TuojiangError('THRESHOLD_PROPOSAL_EXPIRED', `${id}: the exception's end date passed before it was approved`);
        }
        const previous = head.exceptions.find((e) => sameTarget(e.target, p.target));
        exceptions = [
          ...head.exceptions.filter((e) => !sameTarget(e.target, p.target)),
          {
            id,
            target: p.target,
            value: p.to as ExplicitLimit,
            restore: previous ? previous.restore : p.from,
            until: p.exception.until,
            reason: p.exception.reason,
            approvals,
          },
        ];
      } else {
        exceptions = this.carryExceptions(head.exceptions, p.target, p.to, cls);
      }
      // The version names the proposer as its author (the approvals are on it too), and is
      // announced to every city but the proposer's.
      const v = this.nextVersion(head, {
        kind: p.kind,
        by: p.by,
        city: p.city,
        why: p.why,
        target: p.target,
        from: p.from,
        to: p.to,
        unit: p.unit,
        effects: cls.effects,
        proposal: { id, by: p.by, city: p.city, at: p.at },
        approvals,
        exceptions,
        config: after,
        ...(p.exception ? { until: p.exception.until } : {}),
      });
      const next: Proposal = {
        ...p,
        status: 'applied',
        approvals,
        needs: [],
        appliedVersion: v.version,
        closed: { at: v.at, by: actor.operator, city: actor.city, why: 'approved' },
      };
      const [code] = await this.commit(String(head.version), v, { id, raw, next });
      if (code !== 1) continue;
      await this.flushChanges();
      return { outcome: 'applied', version: strip(v), proposal: next };
    }
    throw new TuojiangError('THRESHOLD_CONFLICT', `${id}: the thresholds kept changing while approving (${MAX_ATTEMPTS} attempts)`);
  }

  /**
   * Restore, on the actor's own stations, a limit in force before the other city's changes there
   * (./restore.ts): applied at once, without the other city's consent, recorded as a `restore`
   * and announced to the other city. Anything that is not such a restore is refused, never turned
   * into a proposal: the operator asked for an undo and must know it was not one.
   */
  async restore(actor: Actor, input: RestoreInput): Promise<{ outcome: 'applied'; version: VersionEntry }> {
    this.checkActor(actor);
    const why = text('why', input.why);
    const has = (v: unknown) => v !== undefined && v !== null && v !== '' && v !== false;
    const byVersion = has(input.toVersion);
    if (byVersion && (has(input.value) || has(input.min) || has(input.max) || has(input.clear))) {
      throw new TuojiangError(
        'THRESHOLD_INVALID_VALUE',
        `give either ${field('toVersion')} or the limit (${field('value')}, ${field('min')}/${field('max')}, ${field('clear')}), not both`,
      );
    }
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const head = await this.current();
      const target = resolveTarget(input, this.registry, head.config);
      let to: ExplicitLimit | null;
      let unit: string;
      if (byVersion) {
        const n = typeof input.toVersion === 'number' ? input.toVersion : Number(String(input.toVersion).replace(/^v/, ''));
        if (!Number.isInteger(n) || n < 1)
          throw new TuojiangError(
            'THRESHOLD_VERSION_NOT_FOUND',
            `${field('toVersion')}: a version number such as 3 or v3, got ${JSON.stringify(input.toVersion)}`,
          );
        to = explicitAt((await this.version(n)).config, target);
        unit = PARAMETER_BY_KEY.get(target.param)?.unit ?? '';
      } else {
        ({ explicit: to, unit } = parseBound(target.param, input));
      }
      const from = explicitAt(head.config, target);
      if (sameExplicit(from, to)) {
        throw new TuojiangError(
          'THRESHOLD_NO_CHANGE',
          `${targetPath(target)} is already ${formatExplicit(to, unit)} (version ${head.version}): nothing to restore`,
        );
      }
      const now = this.now();
      const after = this.validated(withExplicit(head.config, target, to), head.version + 1);
      const cls = classify(this.registry, head.config, after, target, now);
      if (cls.direction === 'none')
        throw new TuojiangError(
          'THRESHOLD_NO_CHANGE',
          `${targetPath(target)} → ${formatExplicit(to, unit)} changes no limit in force: nothing to restore`,
        );
      if (cls.belowStandard.length > 0 || cls.belowFloor.length > 0) {
        const what = cls.belowStandard.length > 0 ? 'looser than the national standard' : 'stricter than the sanity floor';
        throw new TuojiangError(
          'THRESHOLD_NOT_A_RESTORE',
          `${targetPath(target)} → ${formatExplicit(to, unit)} would be ${what}: that needs the other city's consent (tuojiang thresholds propose)`,
        );
      }
      const versions = await Promise.all(Array.from({ length: head.version }, (_, i) => this.version(i + 1)));
      const judged = judgeRestore(this.registry, versions, head.config, after, target, actor.city, now);
      if (!judged.ok)
        throw new TuojiangError('THRESHOLD_NOT_A_RESTORE', `${targetPath(target)} → ${formatExplicit(to, unit)}: ${judged.why}`);
      const v = this.nextVersion(head, {
        kind: 'restore',
        by: actor.operator,
        city: actor.city,
        why,
        target,
        from,
        to,
        unit,
        effects: cls.effects,
        restores: judged.undoes,
        approvals: [],
        exceptions: this.carryExceptions(head.exceptions, target, to, cls),
        config: after,
      });
      const [code] = await this.commit(String(head.version), v);
      if (code !== 1) continue;
      await this.flushChanges();
      return { outcome: 'applied', version: strip(v) };
    }
    throw new TuojiangError('THRESHOLD_CONFLICT', `the thresholds kept changing while restoring (${MAX_ATTEMPTS} attempts)`);
  }

  /** Reject a pending proposal (the proposer's own city rejecting it withdraws it). */
  async reject(actor: Actor, id: string, why: unknown): Promise<Proposal> {
    this.checkActor(actor);
    const reason = text('why', why);
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const { raw, p } = await this.readProposal(id);
      const shown = this.view(p);
      if (shown.status !== 'pending') throw new TuojiangError('THRESHOLD_PROPOSAL_CLOSED', `${id} is ${shown.status}: nothing to reject`);
      const next: Proposal = { ...p, status: 'rejected', closed: { at: this.now(), by: actor.operator, city: actor.city, why: reason } };
      if ((await this.putProposal(id, raw, next)) === 1) return next;
    }
    throw new TuojiangError('THRESHOLD_CONFLICT', `${id}: the proposal kept changing while rejecting`);
  }

  /**
   * Housekeeping any process may run at any time (it is idempotent and safe to race): records
   * pending proposals past their expiry as expired, and ends exceptions whose end date has come,
   * putting back the limit they replaced (one version per exception).
   */
  async sweep(): Promise<{ ended: VersionEntry[]; expired: string[] }> {
    const now = this.now();
    const expired: string[] = [];
    for (const id of await this.redis.zrangebyscore(this.keys.pending, '-inf', now)) {
      const raw = await this.redis.hget(this.keys.proposals, id);
      if (raw === null) continue;
      const p = JSON.parse(raw) as Proposal;
      if (p.status === 'pending' && p.expiresAt <= now) {
        await this.close(id, raw, p, 'expired', 'expired unapproved', null);
        expired.push(id);
      }
    }
    const ended: VersionEntry[] = [];
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      if ((await this.headVersion()) === null) break;
      const head = await this.current();
      const due = head.exceptions.find((e) => e.until <= this.now());
      if (!due) break;
      const cur = explicitAt(head.config, due.target);
      // Someone changed the limit since (and the exception no longer follows it): nothing to restore.
      const restore = sameExplicit(cur, due.value) ? due.restore : cur;
      const after = this.validated(withExplicit(head.config, due.target, restore), head.version + 1);
      const cls = classify(this.registry, head.config, after, due.target, now);
      const v = this.nextVersion(head, {
        kind: 'exception-end',
        by: 'system',
        city: null,
        why: `exception ${due.id} ended (${due.reason})`,
        target: due.target,
        from: cur,
        to: restore,
        unit: PARAMETER_BY_KEY.get(due.target.param)?.unit ?? '',
        effects: cls.effects,
        approvals: [],
        exceptions: head.exceptions.filter((e) => e.id !== due.id),
        config: after,
      });
      const [code] = await this.commit(String(head.version), v);
      if (code === 1) ended.push(strip(v));
    }
    if (ended.length > 0) await this.flushChanges();
    return { ended, expired };
  }
}
