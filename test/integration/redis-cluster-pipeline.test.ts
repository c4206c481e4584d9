/**
 * The whole pipeline on a real Redis Cluster (3 masters, a replica each): readings over MQTT (real
 * Mosquitto) → ingest → journal → InfluxDB, an exceedance → alerts worker → an e-mail at the SMTP
 * sink. Mid-run the master serving the pipeline's slot is SIGKILLed and its replica takes over:
 * nothing acknowledged is lost, nothing is stored twice, the e-mail goes out once.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedisCluster, startServices, type RedisClusterHandle } from '../../devtools/local-services/index.js';
import { influxFromEnv } from '../../config/connections.js';
import { countPoints, waitFor } from '../helpers/ingest-stack.js';
import { ADDR, startNotifyStack, type NotifyServices } from '../helpers/notify-stack.js';

const HOUR = 3_600_000;
const T0 = Math.floor(Date.now() / HOUR) * HOUR - 48 * HOUR;
/** Sections that stay clean (class II) the whole run: only Hongyuan's NH3-N exceeds. */
const CLEAN = ['shiqiao', 'linjiangsi', 'ziyang-city', 'gongchengpu'];

let cluster: RedisClusterHandle;
let services: NotifyServices;
let stopOthers: () => Promise<void>;

beforeAll(async () => {
  const users = [
    { username: 'ingest', password: randomBytes(12).toString('hex') },
    { username: 'simulator', password: randomBytes(12).toString('hex') },
  ];
  const [c, others] = await Promise.all([
    startRedisCluster({ masters: 3, replicasPerMaster: 1 }),
    startServices({ mosquitto: { users }, influxdb: true }),
  ]);
  cluster = c;
  stopOthers = () => others.stopAll();
  services = { ...others, redis: { url: cluster.url }, users } as unknown as NotifyServices;
}, 90_000);
afterAll(async () => {
  await stopOthers?.();
  await cluster?.stop();
});

describe('the pipeline on a Redis Cluster', () => {
  it('stores every reading once and mails the exceedance once, through the failover of the master serving its slot', async () => {
    const prefix = `{tj${randomBytes(3).toString('hex')}}`;
    const stack = await startNotifyStack(services, { pipeline: true, prefix });
    const influx = influxFromEnv({ INFLUX_URL: services.influxdb!.url, INFLUX_DB: `n_${prefix.replace(/[{}]/g, '')}` });
    try {
      let sent = 0;
      const publishHour = async (h: number, hongyuanNh3n: number): Promise<void> => {
        await stack.publish('hongyuan', T0 + h * HOUR, { NH3N: hongyuanNh3n, DO: 7.5 });
        for (const s of CLEAN) await stack.publish(s, T0 + h * HOUR, { NH3N: 0.3, DO: 7.5 });
        sent += 1 + CLEAN.length;
      };
      // Hours 0-11 clean, then Hongyuan's NH3-N above the class III limit (1.0) from hour 12 on.
      for (let h = 0; h < 12; h++) await publishHour(h, 0.4);
      await publishHour(12, 1.5);

      const slot = await cluster.keySlot(`${prefix}:journal`);
      expect(await cluster.keySlot(`${prefix}:as:outbox`)).toBe(slot);
      const { killed, promoted, failoverMs } = await cluster.killMaster(slot);
      expect(promoted.port).not.toBe(killed.port);
      process.stderr.write(`redis-cluster-pipeline: failover of slot ${slot} took ${failoverMs} ms\n`);

      // The exceedance goes on, and so do the clean sections, on the promoted replica.
      for (let h = 13; h < 16; h++) await publishHour(h, 1.6);
      for (let h = 16; h < 20; h++) await publishHour(h, 0.4);

      await waitFor(async () => (await countPoints(influx, 'water_quality', 'NH3N')) >= sent, 40_000, 'every reading in InfluxDB');
      await stack.sink.waitFor(
        () => stack.sink.to(ADDR.chengdu).length >= 1 && stack.sink.to(ADDR.ziyang).length >= 1,
        40_000,
        'the e-mails',
      );
      // A job a worker held when its master died stays active on the promoted replica until BullMQ's
      // stalled check moves it back (30 s interval, found on the second pass: up to a minute); it
      // is then handled again, and its e-mail is still sent once (asserted below).
      await stack.idle({ delayed: true, timeoutMs: 90_000 });

      expect(await countPoints(influx, 'water_quality', 'NH3N')).toBe(sent);
      // Per station, one point per hour published: nothing doubled, nothing missing.
      for (const s of ['hongyuan', ...CLEAN]) expect(await countPoints(influx, 'water_quality', 'NH3N', `"station" = '${s}'`), s).toBe(20);
      // Transitions: the limit and the water class fire (hour 13), and resolve (hour 16 or 17).
      const alerts = await influx.query('SELECT * FROM alerts');
      const rows = alerts[0]?.values.map((r) => Object.fromEntries(alerts[0]!.columns.map((c, i) => [c, r[i]]))) ?? [];
      const firing = rows.filter((r) => r.kind === 'firing' || r.to === 'firing');
      expect(firing.map((r) => `${String(r.station)} ${String(r.key ?? r.rule)}`).sort(), JSON.stringify(rows)).toHaveLength(2);
      // One e-mail per bureau for the firing (both transitions grouped), one for the resolution: never twice.
      const subjects = (to: string) => stack.sink.to(to).map((m) => m.parsed.subject ?? '');
      expect(
        subjects(ADDR.chengdu).filter((s) => /告警/.test(s) && !/恢复|解除/.test(s)),
        JSON.stringify(subjects(ADDR.chengdu)),
      ).toHaveLength(1);
      expect(
        subjects(ADDR.ziyang).filter((s) => /告警/.test(s) && !/恢复|解除/.test(s)),
        JSON.stringify(subjects(ADDR.ziyang)),
      ).toHaveLength(1);
    } finally {
      await stack.close();
    }
  }, 180_000);
});
