/**
 * The threshold store against a real Redis: the rules of consent (same-city approval refused,
 * expiry, exceptions signed by both cities and ended at their date), a complete history and diff,
 * and concurrent operators: no proposal and no version is ever lost.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ThresholdStore } from '../../alerts/threshold-store/store.js';
import type { Actor, ProposeResult } from '../../alerts/threshold-store/types.js';
import { loadThresholdsFile } from '../../alerts/thresholds.js';
import { loadConfig } from '../../config/load.js';
import { isTuojiangError } from '../../lib/errors.js';
import { startServices } from '../../devtools/local-services/index.js';
import { codeOfAsync } from '../helpers/fixtures.js';

const { dir, registry } = loadConfig();
const seedSet = loadThresholdsFile(join(dir, 'thresholds.yaml'), registry);
const T0 = Date.parse('2026-05-01T08:00:00+08:00');
const HOUR = 3_600_000;

const CD: Actor = { operator: 'cd-wang', city: 'chengdu' };
const CD2: Actor = { operator: 'cd-li', city: 'chengdu' };
const ZY: Actor = { operator: 'zy-zhang', city: 'ziyang' };
const ZY2: Actor = { operator: 'zy-chen', city: 'ziyang' };

let services: Awaited<ReturnType<typeof startServices<{ redis: { appendonly: false } }>>>;
const connections: Redis[] = [];
beforeAll(async () => {
  services = await startServices({ redis: { appendonly: false } });
}, 120_000);
afterAll(async () => {
  await Promise.all(connections.map((r) => r.quit()));
  await services?.stopAll();
});

/** A seeded store on its own prefix, with a clock the test moves. */
async function freshStore(prefix = `thr${randomBytes(3).toString('hex')}`) {
  const clock = { now: T0 };
  const open = () => {
    const redis = new Redis(services.redis.url, { maxRetriesPerRequest: null });
    connections.push(redis);
    return new ThresholdStore({ redis, registry, prefix, now: () => clock.now });
  };
  const store = open();
  await store.seed(seedSet);
  return { store, clock, open, prefix };
}

const NH3N_SHIQIAO = { station: 'shiqiao', param: 'NH3N' };

describe('rules of consent', () => {
  it('a tightening applies at once as a new version, announced to the other city; nothing is overwritten', async () => {
    const { store } = await freshStore();
    const r = await store.propose(CD, { ...NH3N_SHIQIAO, value: '0.7', why: 'intake protection' });
    expect(r.outcome).toBe('applied');
    const v2 = await store.current();
    expect(v2).toMatchObject({
      version: 2,
      parent: 1,
      kind: 'tighten',
      by: 'cd-wang',
      city: 'chengdu',
      why: 'intake protection',
      from: 0.8,
      to: 0.7,
      announce: ['ziyang'],
    });
    expect(v2.config.stations.shiqiao?.limits?.NH3N).toBe(0.7);
    expect((await store.version(1)).config.stations.shiqiao?.limits?.NH3N).toBe(0.8);
    expect((await store.announcements('ziyang')).map((v) => v.version)).toEqual([2]);
    expect(await store.announcements('chengdu')).toEqual([]);
  });

  it('a loosening waits for the other city; a same-city approval is refused', async () => {
    const { store } = await freshStore();
    const r = await store.propose(CD, { ...NH3N_SHIQIAO, value: 0.95, why: 'the works added a stripping stage' });
    if (r.outcome !== 'pending') throw new Error('expected a pending proposal');
    expect(r.proposal).toMatchObject({
      id: 'p1',
      kind: 'loosen',
      needs: ['ziyang'],
      from: 0.8,
      to: 0.95,
      baseVersion: 1,
      expiresAt: T0 + 72 * HOUR,
    });
    expect((await store.current()).version).toBe(1);
    const refused = store.approve(CD2, 'p1');
    await expect(refused).rejects.toThrow(/same-city approval does not count/);
    expect(await codeOfAsync(store.approve(CD2, 'p1'))).toBe('TJ_THRESHOLD_APPROVAL_REFUSED');
    expect(await codeOfAsync(store.approve(CD, 'p1'))).toBe('TJ_THRESHOLD_APPROVAL_REFUSED');
    expect((await store.current()).version).toBe(1);
    const a = await store.approve(ZY, 'p1', 'checked with the works');
    expect(a.outcome).toBe('applied');
    const v2 = await store.current();
    expect(v2).toMatchObject({
      version: 2,
      kind: 'loosen',
      by: 'cd-wang',
      city: 'chengdu',
      proposal: { id: 'p1', by: 'cd-wang' },
      approvals: [{ by: 'zy-zhang', city: 'ziyang', comment: 'checked with the works' }],
    });
    expect(v2.config.stations.shiqiao?.limits?.NH3N).toBe(0.95);
    expect(await store.proposal('p1')).toMatchObject({ status: 'applied', appliedVersion: 2 });
    expect(await codeOfAsync(store.approve(ZY2, 'p1'))).toBe('TJ_THRESHOLD_PROPOSAL_CLOSED');
  });

  it('an expired proposal cannot be approved', async () => {
    const { store, clock } = await freshStore();
    await store.propose(ZY, { station: 'linjiangsi', param: 'NH3N', clear: true, why: 'x' }).catch(() => undefined); // nothing to clear: refused
    const r = await store
      .propose(ZY, { station: 'ziyang-city', param: 'DO', value: 4.5, why: 'low-flow season', unit: 'mg/L' })
      .catch((e: unknown) => e);
    expect(isTuojiangError(r) && r.code).toBe('TJ_THRESHOLD_BELOW_STANDARD'); // DO 4.5 < class III 5
    const p = await store.propose(ZY, { station: 'ziyang-city', param: 'NH3N', value: 0.9, why: 'a' });
    expect(p.outcome).toBe('applied'); // 1.0 → 0.9 tightens
    const l = await store.propose(ZY, { station: 'ziyang-city', param: 'NH3N', value: 1.0, why: 'back to the standard' });
    if (l.outcome !== 'pending') throw new Error('expected pending');
    clock.now += 72 * HOUR; // exactly at expiry: expired
    expect(await codeOfAsync(store.approve(CD, l.proposal.id))).toBe('TJ_THRESHOLD_PROPOSAL_EXPIRED');
    expect(await store.proposal(l.proposal.id)).toMatchObject({ status: 'expired', closed: { by: 'system' } });
    expect(await codeOfAsync(store.approve(CD, l.proposal.id))).toBe('TJ_THRESHOLD_PROPOSAL_CLOSED');
    expect((await store.current()).config.stations['ziyang-city']?.limits?.NH3N).toBe(0.9);
  });

  it('expiry is also recorded by the sweep, and shown before it', async () => {
    const { store, clock } = await freshStore();
    const l = await store.propose(CD, { ...NH3N_SHIQIAO, value: 0.9, why: 'w' });
    if (l.outcome !== 'pending') throw new Error('expected pending');
    clock.now += 73 * HOUR;
    expect((await store.proposals('all'))[0]?.status).toBe('expired');
    expect(await store.proposals('pending')).toEqual([]);
    expect((await store.sweep()).expired).toEqual([l.proposal.id]);
    expect((await store.sweep()).expired).toEqual([]);
  });

  it('a limit looser than the national standard needs an exception with reason and end date, signed by both cities; it ends at its date', async () => {
    const { store, clock } = await freshStore();
    const until = new Date(T0 + 48 * HOUR).toISOString();
    expect(await codeOfAsync(store.propose(CD, { ...NH3N_SHIQIAO, value: 1.2, why: 'w' }))).toBe('TJ_THRESHOLD_BELOW_STANDARD');
    expect(await codeOfAsync(store.propose(CD, { ...NH3N_SHIQIAO, value: 1.2, why: 'w', exception: { until } }))).toBe(
      'TJ_THRESHOLD_EXCEPTION_INVALID',
    );
    expect(
      await codeOfAsync(
        store.propose(CD, { ...NH3N_SHIQIAO, value: 1.2, why: 'w', exception: { reason: 'r', until: '2026-05-03 08:00' } }),
      ),
    ).toBe('TJ_THRESHOLD_EXCEPTION_INVALID');
    expect(
      await codeOfAsync(
        store.propose(CD, { ...NH3N_SHIQIAO, value: 1.2, why: 'w', exception: { reason: 'r', until: new Date(T0 - 1).toISOString() } }),
      ),
    ).toBe('TJ_THRESHOLD_EXCEPTION_INVALID');
    expect(await codeOfAsync(store.propose(CD, { ...NH3N_SHIQIAO, value: 0.9, why: 'w', exception: { reason: 'r', until } }))).toBe(
      'TJ_THRESHOLD_EXCEPTION_INVALID',
    ); // within the standard: no exception

    const r = await store.propose(CD, {
      ...NH3N_SHIQIAO,
      value: 1.2,
      why: 'sensor swap at the works',
      exception: { reason: 'upstream dredging for two days', until },
    });
    if (r.outcome !== 'pending') throw new Error('expected pending');
    expect(r.proposal).toMatchObject({ kind: 'exception', needs: ['chengdu', 'ziyang'], expiresAt: T0 + 48 * HOUR });
    expect((await store.approve(ZY, r.proposal.id)).outcome).toBe('recorded'); // the other city alone is not enough
    expect((await store.current()).version).toBe(1);
    expect(await codeOfAsync(store.approve(CD, r.proposal.id))).toBe('TJ_THRESHOLD_APPROVAL_REFUSED'); // the proposer's own approval does not count
    expect(await codeOfAsync(store.approve(ZY2, r.proposal.id))).toBe('TJ_THRESHOLD_APPROVAL_REFUSED'); // ziyang has signed
    const a = await store.approve(CD2, r.proposal.id);
    expect(a.outcome).toBe('applied');
    const v2 = await store.current();
    expect(v2).toMatchObject({ version: 2, kind: 'exception', to: 1.2 });
    expect(v2.approvals.map((x) => x.by)).toEqual(['zy-zhang', 'cd-li']);
    expect(v2.exceptions).toEqual([
      expect.objectContaining({
        id: r.proposal.id,
        value: 1.2,
        restore: 0.8,
        until: T0 + 48 * HOUR,
        reason: 'upstream dredging for two days',
      }),
    ]);

    // Tightening while the exception lasts keeps it (still looser than the standard) ...
    expect((await store.propose(ZY, { ...NH3N_SHIQIAO, value: 1.1, why: 'dredging went well' })).outcome).toBe('applied');
    expect((await store.current()).exceptions[0]).toMatchObject({ value: 1.1, restore: 0.8 });
    expect((await store.sweep()).ended).toEqual([]);
    // ... and at its end date the limit it replaced comes back.
    clock.now = T0 + 48 * HOUR;
    const { ended } = await store.sweep();
    expect(ended).toHaveLength(1);
    const v4 = await store.current();
    expect(v4).toMatchObject({
      version: 4,
      kind: 'exception-end',
      by: 'system',
      city: null,
      from: 1.1,
      to: 0.8,
      exceptions: [],
      announce: ['chengdu', 'ziyang'],
    });
    expect(v4.config.stations.shiqiao?.limits?.NH3N).toBe(0.8);
    expect((await store.sweep()).ended).toEqual([]);
  });

  it('a rejected proposal cannot be approved; a proposal overtaken by another change is stale', async () => {
    const { store } = await freshStore();
    const a = await store.propose(CD, { ...NH3N_SHIQIAO, value: 0.9, why: 'a' });
    const b = await store.propose(CD2, { ...NH3N_SHIQIAO, value: 0.95, why: 'b' });
    const c = await store.propose(CD, { station: 'hongyuan', param: 'DO', value: 5, why: 'no-op?' }).catch((e: unknown) => e);
    expect(isTuojiangError(c) && c.code).toBe('TJ_THRESHOLD_NO_CHANGE'); // class III DO is 5 already
    if (a.outcome !== 'pending' || b.outcome !== 'pending') throw new Error('expected two pending proposals');
    expect((await store.proposals()).map((p) => p.id)).toEqual([a.proposal.id, b.proposal.id]);
    expect((await store.approve(ZY, a.proposal.id)).outcome).toBe('applied');
    expect(await codeOfAsync(store.approve(ZY, b.proposal.id))).toBe('TJ_THRESHOLD_PROPOSAL_STALE');
    expect(await store.proposal(b.proposal.id)).toMatchObject({
      status: 'stale',
      closed: { why: expect.stringContaining('was ≤ 0.8 mg/L when proposed and is ≤ 0.9 mg/L now') },
    });
    const d = await store.propose(CD, { ...NH3N_SHIQIAO, value: 1.0, why: 'd' });
    if (d.outcome !== 'pending') throw new Error('expected pending');
    expect((await store.reject(ZY, d.proposal.id, 'not this season')).status).toBe('rejected');
    expect(await codeOfAsync(store.approve(ZY2, d.proposal.id))).toBe('TJ_THRESHOLD_PROPOSAL_CLOSED');
    expect(await codeOfAsync(store.reject(ZY2, d.proposal.id, 'again'))).toBe('TJ_THRESHOLD_PROPOSAL_CLOSED');
    expect(await codeOfAsync(store.approve(ZY, 'p999'))).toBe('TJ_THRESHOLD_PROPOSAL_NOT_FOUND');
  });

  it('input is validated with clear errors before anything is stored', async () => {
    const { store } = await freshStore();
    const cases: Array<[Record<string, unknown>, string, RegExp]> = [
      [{ station: 'shiqiao', param: 'NH4', value: 1 }, 'TJ_THRESHOLD_UNKNOWN_PARAMETER', /unknown parameter \("NH4"\)/],
      [{ station: 'nowhere', param: 'NH3N', value: 1 }, 'TJ_THRESHOLD_UNKNOWN_STATION', /unknown station "nowhere"/],
      [{ station: 'shiqiao', param: 'NH3N', value: 0.7, unit: 'µg/m³' }, 'TJ_THRESHOLD_WRONG_UNIT', /measured in mg\/L/],
      [{ station: 'shiqiao', param: 'DO', max: 6 }, 'TJ_THRESHOLD_WRONG_BOUND', /DO is a lower bound/],
      [{ station: 'shiqiao', param: 'NH3N', value: 'zero point seven' }, 'TJ_THRESHOLD_INVALID_VALUE', /must be a number/],
      [{ station: 'shiqiao', param: 'NH3N', value: 0.8 }, 'TJ_THRESHOLD_NO_CHANGE', /already ≤ 0\.8 mg\/L/],
      [{ station: 'shiqiao', param: 'NH3N', value: '800', unit: 'µg/L' }, 'TJ_THRESHOLD_NO_CHANGE', /changes nothing/],
      [{ station: 'shiqiao', param: 'NH3N', value: 0.7, why: '' }, 'TJ_THRESHOLD_INVALID_VALUE', /^`why` is required/],
    ];
    for (const [input, code, message] of cases) {
      const e = await store.propose(CD, { why: 'w', ...input }).catch((x: unknown) => x);
      expect(isTuojiangError(e) && e.code, JSON.stringify(input)).toBe(code);
      expect((e as Error).message).toMatch(message);
    }
    expect(await codeOfAsync(store.propose({ operator: 'cd-wang', city: 'neijiang' }, { ...NH3N_SHIQIAO, value: 0.7, why: 'w' }))).toBe(
      'TJ_OPERATOR_UNKNOWN',
    );
    expect((await store.current()).version).toBe(1);
    expect(await store.proposals('all')).toEqual([]);
  });
});

describe('history and diff', () => {
  it('are complete after a sequence of changes', async () => {
    const { store } = await freshStore();
    await store.propose(CD, { ...NH3N_SHIQIAO, value: 0.7, why: 'one' }); // v2 tighten
    await store.propose(ZY, { station: 'linjiangsi', param: 'DO', value: 6, why: 'two' }); // v3 tighten (DO up)
    const l = await store.propose(ZY, { station: 'linjiangsi', param: 'DO', value: 5.5, why: 'three' });
    if (l.outcome !== 'pending') throw new Error('expected pending');
    await store.approve(CD, l.proposal.id); // v4 loosen
    await store.propose(CD, { defaults: true, param: 'TP', value: 0.15, why: 'four' }); // v5 tighten (defaults)
    const ph = await store.propose(CD, { section: 0, param: 'pH', min: 6.5, max: 8.5, why: 'five' }); // narrower than class I: waits
    if (ph.outcome !== 'pending') throw new Error('expected pending');
    await store.approve(ZY, ph.proposal.id); // v6 floor (section)

    const h = await store.history();
    expect(h.map((v) => [v.version, v.kind, v.by, v.why])).toEqual([
      [1, 'seed', 'system', expect.stringContaining('seeded from')],
      [2, 'tighten', 'cd-wang', 'one'],
      [3, 'tighten', 'zy-zhang', 'two'],
      [4, 'loosen', 'zy-zhang', 'three'],
      [5, 'tighten', 'cd-wang', 'four'],
      [6, 'floor', 'cd-wang', 'five'],
    ]);
    expect(h[3]).toMatchObject({ from: { min: 6 }, to: { min: 5.5 }, approvals: [{ by: 'cd-wang', city: 'chengdu' }] });
    expect(h.every((v, i) => i === 0 || (v.parent === i && v.at > (h[i - 1]?.at ?? 0)))).toBe(true);
    expect(h.every((v) => !('config' in v))).toBe(true);
    expect((await store.history({ station: 'linjiangsi' })).map((v) => v.version)).toEqual([1, 3, 4, 5, 6]);
    expect((await store.history({ param: 'DO' })).map((v) => v.version)).toEqual([1, 3, 4]);
    expect((await store.history({ limit: 2 })).map((v) => v.version)).toEqual([5, 6]);

    const d = await store.diff(1);
    expect(d).toMatchObject({ from: 1, to: 6 });
    expect(d.changes).toEqual([
      { path: 'defaults.limits.TP', to: 0.15 },
      { path: 'sections[0].limits', to: { pH: { min: 6.5, max: 8.5 } } },
      { path: 'stations.linjiangsi', to: { limits: { DO: { min: 5.5 } } } },
      { path: 'stations.shiqiao.limits.NH3N', from: 0.8, to: 0.7 },
    ]);
    expect(d.versions.map((v) => v.version)).toEqual([2, 3, 4, 5, 6]);
    expect((await store.diff(3, 4)).changes).toEqual([{ path: 'stations.linjiangsi.limits.DO.min', from: 6, to: 5.5 }]);
    expect((await store.diff(4, 3)).changes).toEqual([{ path: 'stations.linjiangsi.limits.DO.min', from: 5.5, to: 6 }]);
    expect((await store.diff(5, 5)).changes).toEqual([]);
    expect(await codeOfAsync(store.diff(1, 9))).toBe('TJ_THRESHOLD_VERSION_NOT_FOUND');
    expect(await store.exportYaml()).toMatch(/^# Unified thresholds, version 6[\s\S]*\nversion: "6"\n/);
  });
});

describe('concurrent operators', () => {
  it('concurrent proposals on the same limit: each becomes a version or a pending proposal, none is lost', async () => {
    const { store, open } = await freshStore();
    const stores = Array.from({ length: 8 }, open); // eight operators, eight connections
    const values = [0.75, 0.72, 0.78, 0.73, 0.74, 0.77, 0.76, 0.79]; // mixed, so some land as tightenings and some as loosenings
    const results = await Promise.all(
      stores.map((s, i) => s.propose(i % 2 ? CD : ZY, { ...NH3N_SHIQIAO, value: values[i], why: `op ${i}` })),
    );
    const applied = results.filter((r): r is Extract<ProposeResult, { outcome: 'applied' }> => r.outcome === 'applied');
    const pending = results.filter((r): r is Extract<ProposeResult, { outcome: 'pending' }> => r.outcome === 'pending');
    expect(applied.length + pending.length).toBe(8);
    expect(applied.length).toBeGreaterThanOrEqual(1);
    // Every applied change is its own version, each built on the previous one: no lost update.
    const h = (await store.history()).slice(1);
    expect(h.map((v) => v.version).sort()).toEqual(applied.map((r) => r.version.version).sort());
    let prev: unknown = 0.8;
    for (const v of h) {
      expect(v.from).toBe(prev);
      expect(v.to as number).toBeLessThan(prev as number);
      prev = v.to;
    }
    expect((await store.current()).config.stations.shiqiao?.limits?.NH3N).toBe(prev);
    // A proposal that landed after a tighter one became a loosening: pending, for the other city.
    expect((await store.proposals()).map((p) => p.id).sort()).toEqual(pending.map((r) => r.proposal.id).sort());
    for (const r of pending) expect(r.proposal.to as number).toBeGreaterThan(r.proposal.from as number);
  });

  it('concurrent tightenings of different limits all land', async () => {
    const { store, open } = await freshStore();
    const water = registry.stations.filter((s) => s.kind === 'water').map((s) => s.id);
    const changes = water.flatMap((station) => [
      { station, param: 'CODMn', value: 5 },
      { station, param: 'TP', value: 0.15 },
    ]);
    const results = await Promise.all(changes.map((c, i) => open().propose(i % 2 ? CD : ZY, { ...c, why: `c${i}` })));
    expect(results.every((r) => r.outcome === 'applied')).toBe(true);
    const cur = await store.current();
    expect(cur.version).toBe(1 + changes.length);
    for (const c of changes) expect(cur.config.stations[c.station]?.limits?.[c.param]).toBe(c.value);
  });

  it('concurrent approvals of one proposal apply it once', async () => {
    const { store, open } = await freshStore();
    const p = await store.propose(CD, { ...NH3N_SHIQIAO, value: 0.9, why: 'w' });
    if (p.outcome !== 'pending') throw new Error('expected pending');
    const settled = await Promise.allSettled([open().approve(ZY, p.proposal.id), open().approve(ZY2, p.proposal.id)]);
    expect(settled.filter((s) => s.status === 'fulfilled')).toHaveLength(1);
    const failed = settled.find((s) => s.status === 'rejected') as PromiseRejectedResult;
    expect(isTuojiangError(failed.reason) && failed.reason.code).toBe('TJ_THRESHOLD_PROPOSAL_CLOSED');
    expect((await store.current()).version).toBe(2);
  });
});
