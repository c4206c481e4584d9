/**
 * Issue 11, item 5: one city must not be able to lock the other into an alert storm. Against a real
 * Redis and a real SMTP server with the notify worker's threshold-notice relay: a tightening past the
 * sanity floor waits for the other city; a tightening above it applies at once, but the other city
 * is e-mailed at once and may restore its own station's earlier limit without anyone's consent;
 * anything that is not such a restore is refused with the reason.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNotifyService, type NotifyService } from '../../alerts/notify/service.js';
import { ThresholdStore } from '../../alerts/threshold-store/store.js';
import type { Actor } from '../../alerts/threshold-store/types.js';
import { limitFor, stationProfile } from '../../alerts/thresholds.js';
import { startServices } from '../../devtools/local-services/index.js';
import { StationRegistry } from '../../config/station-registry.js';
import {
  ADDR,
  ACK_SECRET,
  GRAFANA_URL,
  MAIL_FROM,
  PUBLIC_URL,
  shipped,
  shippedThresholds,
  testNotifyConfig,
} from '../helpers/notify-stack.js';
import { startSmtpSink, type ReceivedMail, type SmtpSink } from '../helpers/smtp-sink.js';
import { codeOfAsync } from '../helpers/fixtures.js';

const registry = shipped.registry;
const CD: Actor = { operator: 'cd-wang', city: 'chengdu' };
const ZY: Actor = { operator: 'zy-zhang', city: 'ziyang' };

let services: Awaited<ReturnType<typeof startServices<{ redis: { appendonly: false } }>>>;
let sink: SmtpSink;
const connections: Redis[] = [];
const notifiers: NotifyService[] = [];

beforeAll(async () => {
  services = await startServices({ redis: { appendonly: false } });
  sink = await startSmtpSink();
}, 120_000);
afterAll(async () => {
  await Promise.all(notifiers.map((n) => n.close()));
  await Promise.all(connections.map((r) => r.quit()));
  await sink?.close();
  await services?.stopAll();
});

/** A seeded store on its own prefix, and (optionally) a notify worker mailing its changes. */
async function setup(withNotify = false) {
  const prefix = `rst${randomBytes(3).toString('hex')}`;
  const redis = new Redis(services.redis.url, { maxRetriesPerRequest: null });
  connections.push(redis);
  const store = new ThresholdStore({ redis, registry, prefix });
  await store.seed(shippedThresholds);
  if (withNotify) {
    notifiers.push(
      await startNotifyService({
        redisUrl: services.redis.url,
        prefix,
        registry: new StationRegistry(registry),
        config: testNotifyConfig(),
        smtpUrl: sink.url,
        mailFrom: MAIL_FROM,
        ackSecret: ACK_SECRET,
        publicUrl: PUBLIC_URL,
        grafanaUrl: GRAFANA_URL,
        roles: ['thresholds'],
        thresholdPollMs: 100,
      }),
    );
  }
  return { store, prefix };
}

/** The e-mail to `to` about `ref` (v3, p1 …): one notify worker in this file, so the reference is unique. */
async function mailFor(to: string, ref: string): Promise<ReceivedMail> {
  const about = (msgs: ReceivedMail[]) =>
    msgs.filter((m) => m.envelope.to.includes(to) && m.parsed.headers.get('x-tuojiang-threshold') === ref);
  return about(await sink.waitFor((msgs) => about(msgs).length > 0, 20_000, `threshold notice ${ref} to ${to}`))[0] as ReceivedMail;
}

async function inForce(store: ThresholdStore, station: string, param: string): Promise<unknown> {
  const v = await store.current();
  const s = registry.stations.find((x) => x.id === station);
  if (!s) throw new Error(station);
  return limitFor(stationProfile(ThresholdStore.toThresholdSet(v), s), s, param, Date.now(), 'hour')?.limit;
}

describe('the storm-lock attack of issue 11, replayed', () => {
  it('a sub-floor tightening waits for Ziyang; an applied one is mailed to Ziyang at once, and Ziyang restores without Chengdu', async () => {
    const { store } = await setup(true);

    // The attack as filed: Chengdu sets a Ziyang section's NH3-N limit to 0.000001.
    const attack = await store.propose(CD, { station: 'linjiangsi', param: 'NH3N', value: '0.000001', why: 'precaution' });
    if (attack.outcome !== 'pending') throw new Error(`the sub-floor tightening was ${attack.outcome}, not held for consent`);
    expect(attack.proposal).toMatchObject({ kind: 'floor', needs: ['ziyang'] });
    expect(attack.proposal.effects[0]).toMatchObject({ station: 'linjiangsi', belowFloor: true, floor: '≤ 0.15 mg/L' });
    expect((await store.current()).version).toBe(1);
    expect(await inForce(store, 'linjiangsi', 'NH3N')).toEqual({ kind: 'max', value: 1 });

    const ask = await mailFor(ADDR.ziyang, attack.proposal.id);
    expect(ask.parsed.subject).toContain('your consent needed');
    expect(ask.parsed.subject).toContain('Chengdu (cd-wang)');
    expect(ask.parsed.subject).toContain('NH3N at Linjiangsi');
    expect(ask.parsed.subject).toContain('approve or reject');
    expect(ask.parsed.text).toContain(`tuojiang thresholds reject ${attack.proposal.id}`);
    expect(ask.parsed.text).toContain('sanity floor');
    await store.reject(ZY, attack.proposal.id, 'no reason for a limit stricter than class I');

    // Above the floor a tightening still applies at once ...
    const tight = await store.propose(CD, { station: 'linjiangsi', param: 'NH3N', value: '0.2', why: 'precaution' });
    if (tight.outcome !== 'applied') throw new Error('a tightening above the floor must apply at once');
    const v = tight.version.version;
    expect(await inForce(store, 'linjiangsi', 'NH3N')).toEqual({ kind: 'max', value: 0.2 });

    // ... and Ziyang's duty office reads, at once, who did what where and what it can do.
    const told = await mailFor(ADDR.ziyang, `v${v}`);
    expect(told.parsed.subject).toContain('Chengdu (cd-wang) tightened NH3N at Linjiangsi: ≤ 1 mg/L → ≤ 0.2 mg/L');
    expect(told.parsed.subject).toContain('you may restore it without consent');
    expect(told.parsed.text).toContain('Linjiangsi (your station): ≤ 1 mg/L → ≤ 0.2 mg/L');
    expect(told.parsed.text).toContain(`tuojiang thresholds restore --station linjiangsi --param NH3N --to-version ${v - 1}`);
    expect(sink.to(ADDR.chengdu).filter((m) => m.parsed.headers.get('x-tuojiang-threshold') === `v${v}`)).toEqual([]);

    // The undo as a proposal is a loosening: it waits for Chengdu, who rejects it (the lock).
    const undo = await store.propose(ZY, { station: 'linjiangsi', param: 'NH3N', clear: true, why: 'undo' });
    if (undo.outcome !== 'pending') throw new Error('expected the undo to wait');
    await store.reject(CD, undo.proposal.id, 'no');

    // The way out: a restore, with nobody's consent, audited as one and told to Chengdu.
    const r = await store.restore(ZY, {
      station: 'linjiangsi',
      param: 'NH3N',
      toVersion: v - 1,
      why: 'Chengdu tightened our section alone',
    });
    expect(r.version).toMatchObject({
      kind: 'restore',
      by: 'zy-zhang',
      city: 'ziyang',
      from: 0.2,
      to: null,
      approvals: [],
      restores: [v],
      announce: ['chengdu'],
    });
    expect(await inForce(store, 'linjiangsi', 'NH3N')).toEqual({ kind: 'max', value: 1 });
    const back = await mailFor(ADDR.chengdu, `v${r.version.version}`);
    expect(back.parsed.subject).toContain('Ziyang (zy-zhang) restored');
    expect(back.parsed.text).toContain(`Undoes: v${v}`);
  });
});

describe('what a restore is, and is not', () => {
  it("back to any limit the station had before the other city's run of changes, in one or more steps", async () => {
    const { store } = await setup();
    await store.propose(CD, { station: 'linjiangsi', param: 'NH3N', value: 0.5, why: 'a' });
    const second = await store.propose(CD, { station: 'linjiangsi', param: 'NH3N', value: 0.3, why: 'b' });
    if (second.outcome !== 'applied') throw new Error('expected applied');
    const half = await store.restore(ZY, { station: 'linjiangsi', param: 'NH3N', value: 0.5, why: 'partly' });
    expect(half.version.restores).toEqual([second.version.version]);
    const all = await store.restore(ZY, { station: 'linjiangsi', param: 'NH3N', clear: true, why: 'fully' });
    expect(all.version.restores).toEqual([2, 3]);
    expect(await inForce(store, 'linjiangsi', 'NH3N')).toEqual({ kind: 'max', value: 1 });
  });

  it("refused: a limit the station never had, the other city's station, nothing to undo, an undo of what the city approved", async () => {
    const { store } = await setup();
    await store.propose(CD, { station: 'linjiangsi', param: 'NH3N', value: 0.5, why: 'a' });
    const neverHad = await codeOfAsync(store.restore(ZY, { station: 'linjiangsi', param: 'NH3N', value: 0.9, why: 'x' }));
    expect(neverHad).toBe('TJ_THRESHOLD_NOT_A_RESTORE');
    const looser = await codeOfAsync(store.restore(ZY, { station: 'linjiangsi', param: 'NH3N', value: 1.5, why: 'x' }));
    expect(looser).toBe('TJ_THRESHOLD_NOT_A_RESTORE');

    await store.propose(ZY, { station: 'shiqiao', param: 'NH3N', value: 0.6, why: 'ziyang tightens a chengdu intake' });
    expect(await codeOfAsync(store.restore(ZY, { station: 'shiqiao', param: 'NH3N', value: 0.8, why: 'x' }))).toBe(
      'TJ_THRESHOLD_NOT_A_RESTORE',
    );
    // Chengdu, whose station it is, may restore it.
    expect((await store.restore(CD, { station: 'shiqiao', param: 'NH3N', value: 0.8, why: 'ours' })).version.kind).toBe('restore');

    await store.propose(ZY, { station: 'ziyang-city', param: 'NH3N', value: 0.7, why: 'own choice' });
    expect(await codeOfAsync(store.restore(ZY, { station: 'ziyang-city', param: 'NH3N', clear: true, why: 'x' }))).toBe(
      'TJ_THRESHOLD_NOT_A_RESTORE',
    );

    const p = await store.propose(CD, { station: 'ziyang-city', param: 'NH3N', value: 0.9, why: 'loosen back' });
    if (p.outcome !== 'pending') throw new Error('expected a pending loosening');
    await store.approve(ZY, p.proposal.id);
    expect(await codeOfAsync(store.restore(ZY, { station: 'ziyang-city', param: 'NH3N', value: 0.7, why: 'changed my mind' }))).toBe(
      'TJ_THRESHOLD_NOT_A_RESTORE',
    );
  });

  it('a change that reached both cities: each restores only its own stations', async () => {
    const { store } = await setup();
    const all = await store.propose(CD, { defaults: true, param: 'NH3N', value: 0.4, why: 'the whole river' });
    if (all.outcome !== 'applied') throw new Error('expected applied');
    // Undoing the defaults would move Chengdu's stations too.
    expect(await codeOfAsync(store.restore(ZY, { defaults: true, param: 'NH3N', toVersion: 1, why: 'x' }))).toBe(
      'TJ_THRESHOLD_NOT_A_RESTORE',
    );
    const r = await store.restore(ZY, { station: 'ziyang-city', param: 'NH3N', value: 1, why: 'ours' });
    expect(r.version.restores).toEqual([all.version.version]);
    expect(await inForce(store, 'ziyang-city', 'NH3N')).toEqual({ kind: 'max', value: 1 });
    expect(await inForce(store, 'linjiangsi', 'NH3N')).toEqual({ kind: 'max', value: 0.4 });
    expect(await inForce(store, 'zhaozhen', 'NH3N')).toEqual({ kind: 'max', value: 0.4 });
  });

  it("a section change that moved only Ziyang's stations is undone at the section itself", async () => {
    const { store } = await setup();
    // Section 0 also holds shiqiao (Chengdu), but its own 0.8 override wins, so it does not move.
    const sec = await store.propose(CD, { section: 0, param: 'NH3N', value: 0.4, why: 'the reach' });
    if (sec.outcome !== 'applied') throw new Error('expected applied');
    const r = await store.restore(ZY, { section: 0, param: 'NH3N', toVersion: 1, why: 'ours' });
    expect(r.version).toMatchObject({ kind: 'restore', restores: [sec.version.version], to: null });
    expect(await inForce(store, 'linjiangsi', 'NH3N')).toEqual({ kind: 'max', value: 1 });
  });
});
