/**
 * The shipped stack run as docker-compose.yml runs it, on loopback (no container engine here):
 * `docker-compose config` resolves the file with an .env written by scripts/init-env.sh; Redis
 * starts through the service's entrypoint script with its arguments (ACL users from the template,
 * maxmemory, noeviction, AOF); the broker from the production config with the password files
 * mosquitto-init builds; each tuojiang service is the CLI with its compose command and
 * environment (host names mapped to loopback ports); its health check is the compose command.
 *
 * What is asserted: every service works with its own Redis user and is refused outside its key
 * patterns and the admin commands; the health checks go red when MQTT, Redis or InfluxDB is down
 * and green again; Redis at maxmemory refuses the journal and the pipeline reports it (readiness,
 * metric, log) while the readings wait at the broker, then stores every one; the backup script's
 * backup restores into a fresh Redis and InfluxDB to the same counts; notify and api refuse to
 * start in production without SMTP_URL, PUBLIC_URL or GRAFANA_URL, naming it.
 * Differences from the containers: InfluxDB is Debian's 1.6 without authentication (the launcher's
 * config), Redis is Debian's 7.0; the services run from source with tsx.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InfluxClient } from '../../lib/influx/client.js';
import { startInfluxdb, startMosquitto, type InfluxdbHandle, type MosquittoHandle } from '../../devtools/local-services/index.js';
import { ensureBinaries, ensureTool } from '../../devtools/local-services/packages.js';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.js';
import { jsonPayload } from '../helpers/fixtures.js';
import {
  ROOT,
  composeConfig,
  healthcheck,
  readEnvFile,
  run,
  startComposeRedis,
  startComposeService,
  until,
  type ComposeFile,
  type Endpoints,
  type RunningService,
} from '../helpers/compose-services.js';

let tmp: string;
let compose: ComposeFile;
let env: Record<string, string>;
let envFile: string;
let dockerCompose: string;
let redis: Awaited<ReturnType<typeof startComposeRedis>>;
let broker: MosquittoHandle;
let influx: InfluxdbHandle;
let smtp: SmtpSink;
let endpoints: Endpoints;
const running: RunningService[] = [];

const STATION = 'zhaozhen';
const STATION_PASSWORD = 'station-secret-zhaozhen-01';

/** A Redis client logged in as one of the ACL users. */
function redisAs(user: string, port = redis.port): Redis {
  const password = env[`REDIS_${user.toUpperCase()}_PASSWORD`] ?? '';
  return new Redis({
    host: '127.0.0.1',
    port,
    username: user,
    password,
    maxRetriesPerRequest: 1,
    lazyConnect: true,
    retryStrategy: () => null,
  });
}

async function readyz(s: RunningService, inside: number): Promise<{ status: number; body: { checks?: Record<string, boolean> } }> {
  const res = await fetch(`http://127.0.0.1:${s.ports.get(inside)}/readyz`);
  return { status: res.status, body: (await res.json()) as { checks?: Record<string, boolean> } };
}

async function healthy(name: string): Promise<boolean> {
  const s = running.find((r) => r.name === name);
  if (!s) throw new Error(name);
  const r = await healthcheck(compose.services[name] as never, s);
  lastHealth.set(name, `${r.stdout}${r.stderr}`.trim());
  return r.code === 0;
}
/** The last health-check answer per service, for the message when a wait gives up. */
const lastHealth = new Map<string, string>();
const why = (name: string): string =>
  `${name}: ${lastHealth.get(name) ?? '?'}\n${running
    .find((r) => r.name === name)
    ?.log()
    .split('\n')
    .filter((l) => /"level":(40|50)/.test(l))
    .slice(-8)
    .join('\n')}`;

async function publish(
  count: number,
  startTs: number,
  values: Record<string, number> = { NH3N: 0.2, DO: 7.5 },
  stepMs = 60_000,
): Promise<void> {
  const c = await mqtt.connectAsync(broker.stationUrl, {
    username: STATION,
    password: STATION_PASSWORD,
    protocolVersion: 4,
    reconnectPeriod: 0,
  });
  try {
    for (let i = 0; i < count; i++) {
      await c.publishAsync(`tuojiang/water/${STATION}`, jsonPayload({ ts: startTs + i * stepMs, values }), { qos: 1 });
    }
  } finally {
    await c.endAsync();
  }
}

async function storedBetween(from: number, to: number, url = influx.url): Promise<number> {
  const client = new InfluxClient({ url, database: env.INFLUX_DB ?? 'tuojiang' });
  const rows = await client
    .query(`SELECT count("NH3N") FROM "water_quality" WHERE "station" = '${STATION}' AND time >= ${from}ms AND time < ${to}ms`)
    .catch(() => []);
  return Number(rows[0]?.values?.[0]?.[1] ?? 0);
}

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'tuojiang-compose-stack-'));
  await ensureBinaries(['redis', 'mosquitto', 'influxdb']);
  dockerCompose = await ensureTool('docker-compose');
  // The operator's path: init-env.sh --site, then the addresses the bureaus reach.
  envFile = join(tmp, 'env');
  const init = await run('sh', [join(ROOT, 'scripts/init-env.sh'), '--site', join(tmp, 'site'), envFile], {
    env: { PATH: process.env.PATH ?? '', HOME: tmp },
  });
  expect(init.code, init.stderr).toBe(0);
  writeFileSync(
    envFile,
    readFileSync(envFile, 'utf8')
      .replace(/^PUBLIC_URL=$/m, 'PUBLIC_URL=https://tuojiang.example.gov.cn')
      .replace(/^GRAFANA_URL=$/m, 'GRAFANA_URL=https://grafana.tuojiang.example.gov.cn')
      .replace(/^SMTP_URL=$/m, 'SMTP_URL=smtp://relay.example.gov.cn:587')
      .replace(/^GRAFANA_SMTP_HOST=$/m, 'GRAFANA_SMTP_HOST=relay.example.gov.cn:587')
      .replace(/^GRAFANA_ALERT_EMAILS=$/m, 'GRAFANA_ALERT_EMAILS=ops@example.gov.cn'),
  );
  env = await readEnvFile(envFile);
  const resolved = await composeConfig(dockerCompose, envFile, tmp);
  expect(resolved.run.code, resolved.run.stderr).toBe(0);
  compose = resolved.file as ComposeFile;

  // mosquitto-init's sync and a station account, then the broker from the production config.
  const init2 = compose.services['mosquitto-init']?.environment ?? {};
  const passwd = join(tmp, 'passwd');
  const passwdServices = join(tmp, 'passwd-services');
  const passwdEnv = {
    PATH: process.env.PATH ?? '',
    ...init2,
    MOSQUITTO_PASSWD_FILE: passwd,
    MOSQUITTO_SERVICES_PASSWD_FILE: passwdServices,
    MOSQUITTO_PASSWD_OWNER: process.getuid?.() === 0 ? '1883:1883' : '',
  };
  expect((await run('sh', [join(ROOT, 'scripts/mosquitto-passwd.sh'), 'sync'], { env: passwdEnv })).code).toBe(0);
  const add = await run('sh', [join(ROOT, 'scripts/mosquitto-passwd.sh'), 'add', STATION], {
    env: passwdEnv,
    stdin: `${STATION_PASSWORD}\n`,
  });
  expect(add.code, add.stderr).toBe(0);

  [redis, broker, influx, smtp] = await Promise.all([
    startComposeRedis(compose.services.redis as never, join(tmp, 'redis')),
    startMosquitto({ users: [], passwordFiles: { stations: passwd, services: passwdServices } }),
    startInfluxdb(),
    startSmtpSink(),
  ]);
  endpoints = { redis: redis.port, mosquitto: broker.port, influxdbUrl: influx.url, smtp: smtp.url };
  for (const name of ['ingest', 'alerts', 'notify', 'api'])
    running.push(await startComposeService(name, compose.services[name] as never, endpoints));
  for (const name of ['ingest', 'alerts', 'notify', 'api'])
    await until(
      `${name} healthy by its compose health check\n${running
        .find((r) => r.name === name)
        ?.log()
        .slice(-3000)}`,
      () => healthy(name),
      90_000,
    );
}, 240_000);

afterAll(async () => {
  await Promise.all(running.map((s) => s.stop()));
  await Promise.all([redis?.destroy(), broker?.destroy(), influx?.destroy(), smtp?.close()]);
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('the services with their own Redis users', () => {
  it("ingest, alerts, notify and api are healthy; a station's readings are stored and checked", async () => {
    const t0 = Date.UTC(2026, 10, 1);
    await publish(5, t0);
    await until('5 readings stored', async () => (await storedBetween(t0, t0 + 5 * 60_000)) === 5);
    // The alerts worker (its own user) processed the checks: it keeps per-series state under tuojiang:as:.
    const ops = redisAs('ops');
    await ops.connect();
    await until('alert state of the station', async () => (await ops.smembers('tuojiang:as:series')).some((m) => m.startsWith(STATION)));
    ops.disconnect();
    const [notify, api] = [
      running.find((r) => r.name === 'notify') as RunningService,
      running.find((r) => r.name === 'api') as RunningService,
    ];
    const n = await readyz(notify, 9465);
    expect(n.body.checks).toEqual({ redis: true, smtp: true });
    const a = await readyz(api, 9466);
    expect(a.status).toBe(200);
    expect(a.body.checks).toEqual({ redis: true });
  });

  it('a pollution goes through alerts (its user) to notify (its user), which e-mails the bureau; the API (its user) records the acknowledgement', async () => {
    // Ammonia at 6 mg/L (class III: 1 mg/L) for 40 minutes, recent enough to open an incident.
    const start = Date.now() - 45 * 60_000;
    await publish(5, start, { NH3N: 6, DO: 7.5 }, 10 * 60_000);
    const mails = await smtp.waitFor((m) => m.some((x) => /初报/.test(x.parsed.subject ?? '')), 120_000, 'an initial report (初报)');
    const report = mails.find((x) => /初报/.test(x.parsed.subject ?? '')) as (typeof mails)[number];
    // The links are built on PUBLIC_URL; the API is reached here on its mapped public port.
    const link = /https:\/\/tuojiang\.example\.gov\.cn(\/ack\/[^\s"<>]+)/.exec(report.parsed.text ?? '')?.[1];
    expect(link, report.parsed.text?.slice(0, 2000)).toBeDefined();
    const api = running.find((r) => r.name === 'api') as RunningService;
    const u = new URL(`http://127.0.0.1:${api.ports.get(8080)}${link}`);
    const post = await fetch(`${u.origin}${u.pathname}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams({ exp: u.searchParams.get('exp') ?? '', sig: u.searchParams.get('sig') ?? '', by: '值班员' }).toString(),
    });
    expect(post.status, await post.clone().text()).toBeLessThan(400);
    expect(await post.text()).toContain('值班员');
  }, 180_000);

  it('the API serves /readyz and /metrics on its ops port only, not on the published one', async () => {
    const api = running.find((r) => r.name === 'api') as RunningService;
    const pub = api.ports.get(8080);
    const [healthz, ready, metrics, opsMetrics] = await Promise.all([
      fetch(`http://127.0.0.1:${pub}/healthz`),
      fetch(`http://127.0.0.1:${pub}/readyz`),
      fetch(`http://127.0.0.1:${pub}/metrics`),
      fetch(`http://127.0.0.1:${api.ports.get(9466)}/metrics`),
    ]);
    expect([healthz.status, ready.status, metrics.status, opsMetrics.status]).toEqual([200, 404, 404, 200]);
    expect(await opsMetrics.text()).toContain('tuojiang_api_');
  });

  it('refuses every service outside its own key namespaces and the admin commands; the health check and backup users may do nothing else', async () => {
    // Each service's own namespace, and one of another service it has no business in.
    const own: Record<string, { mine: string; theirs: string[] }> = {
      ingest: { mine: 'tuojiang:journal:acl-probe', theirs: ['tuojiang:nt:acl-probe', 'tuojiang:thr:acl-probe', 'tuojiang:inc:acl-probe'] },
      alerts: { mine: 'tuojiang:as:acl-probe', theirs: ['tuojiang:journal', 'tuojiang:nt:acl-probe', 'tuojiang:deadletters'] },
      notify: { mine: 'tuojiang:nt:acl-probe', theirs: ['tuojiang:journal', 'tuojiang:as:acl-probe', 'tuojiang:deadletters'] },
      api: { mine: 'tuojiang:inc:acl-probe', theirs: ['tuojiang:journal', 'tuojiang:as:acl-probe', 'tuojiang:checks:meta'] },
      ops: { mine: 'tuojiang:anything:acl-probe', theirs: [] },
    };
    for (const [user, keys] of Object.entries(own)) {
      const c = redisAs(user);
      await c.connect();
      await expect(c.set(keys.mine, '1'), user).resolves.toBe('OK');
      for (const k of [...keys.theirs, 'other:key', 'bull:checks:meta'])
        await expect(c.get(k), `${user} GET ${k}`).rejects.toThrow(/NOPERM/);
      for (const cmd of [
        ['flushall'],
        ['config', 'get', 'maxmemory'],
        ['keys', '*'],
        ['debug', 'sleep', '0'],
        ['acl', 'list'],
        ['shutdown', 'nosave'],
      ]) {
        // DEBUG is also refused before the ACL by enable-debug-command; refused either way.
        await expect(c.call(cmd[0] as string, ...cmd.slice(1)), `${user} ${cmd.join(' ')}`).rejects.toThrow(
          /NOPERM|DEBUG command not allowed/,
        );
      }
      c.disconnect();
    }
    for (const user of ['healthcheck', 'backup']) {
      const c = redisAs(user);
      await c.connect();
      await expect(c.ping()).resolves.toBe('PONG');
      await expect(c.get('tuojiang:journal:acl-probe'), `${user} GET`).rejects.toThrow(/NOPERM/);
      await expect(c.set('tuojiang:x', '1'), `${user} SET`).rejects.toThrow(/NOPERM/);
      c.disconnect();
    }
    // The default user is off: a client without a user name gets nowhere.
    const anon = new Redis({ host: '127.0.0.1', port: redis.port, lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
    await anon.connect().catch(() => undefined);
    await expect(anon.get('tuojiang:journal:acl-probe')).rejects.toThrow(/NOAUTH|NOPERM|closed/i);
    anon.disconnect();
  });
});

describe('health checks that mean something', () => {
  it('turn red when the broker is down and green when it is back', async () => {
    await broker.stop();
    await until('ingest unhealthy without MQTT', async () => !(await healthy('ingest')));
    const ingest = running.find((r) => r.name === 'ingest') as RunningService;
    expect((await readyz(ingest, 9464)).body.checks?.mqtt).toBe(false);
    await broker.start();
    await until('ingest healthy again', () => healthy('ingest')).catch((e: Error) => {
      throw new Error(`${e.message}\n${why('ingest')}`);
    });
  }, 120_000);

  it('turn red when InfluxDB is down, even with no reading to write, and green when it is back', async () => {
    await influx.stop();
    await until('ingest and alerts unhealthy without InfluxDB', async () => !(await healthy('ingest')) && !(await healthy('alerts')));
    const ingest = running.find((r) => r.name === 'ingest') as RunningService;
    expect((await readyz(ingest, 9464)).body.checks?.influxdb).toBe(false);
    expect(await healthy('notify')).toBe(true);
    await influx.start();
    await until('ingest and alerts healthy again', async () => (await healthy('ingest')) && (await healthy('alerts')));
  }, 120_000);

  it('turn red for every service when Redis is down, and green when it is back', async () => {
    await redis.stop();
    for (const name of ['ingest', 'alerts', 'notify', 'api'])
      await until(`${name} unhealthy without Redis`, async () => !(await healthy(name)));
    await redis.start();
    for (const name of ['ingest', 'alerts', 'notify', 'api']) await until(`${name} healthy again`, () => healthy(name), 90_000);
  }, 180_000);
});

describe('backups', () => {
  it('backup.sh once: a Redis snapshot, an InfluxDB portable backup and the site config, that a fresh Redis and InfluxDB restore to the same counts', async () => {
    const t0 = Date.UTC(2026, 10, 2);
    await publish(12, t0);
    await until('12 readings stored', async () => (await storedBetween(t0, t0 + 12 * 60_000)) === 12);
    const ops = redisAs('ops');
    await ops.connect();
    // What the idle pipeline does not change (the silence scheduler's jobs come and go meanwhile).
    const snapshot = async (c: Redis) => ({
      journal: await c.xlen('tuojiang:journal'),
      deadletters: await c.xlen('tuojiang:deadletters'),
      series: (await c.smembers('tuojiang:as:series')).sort(),
      thresholdKeys: (await c.scan('0', 'MATCH', 'tuojiang:thresholds*', 'COUNT', 10_000))[1].length,
    });
    // The ops user may not DBSIZE (nor may any service): count through INFO as the backup user does.
    // Keys without an expiry (a lock or a lease may lapse between backup and restore).
    const keyspace = async (port: number) => {
      const c = redisAs('backup', port);
      await c.connect();
      const info = await c.info('keyspace');
      c.disconnect();
      const m = /db0:keys=(\d+),expires=(\d+)/.exec(info);
      return Number(m?.[1] ?? 0) - Number(m?.[2] ?? 0);
    };
    const before = await snapshot(ops);
    ops.disconnect();
    expect(before.series.length).toBeGreaterThan(0);
    const influxBefore = await storedBetween(0, Date.UTC(2030, 0, 1));

    const backups = join(tmp, 'backups');
    const backupEnv = {
      PATH: process.env.PATH ?? '',
      ...(compose.services.backup?.environment ?? {}),
      REDIS_HOST: '127.0.0.1',
      REDIS_PORT: String(redis.port),
      INFLUX_RPC: `127.0.0.1:${influx.rpcPort}`,
      SITE_CONFIG_DIR: env.TUOJIANG_SITE_CONFIG ?? '',
      BACKUP_DIR: backups,
      BACKUP_KEEP: '2',
    };
    const script = join(ROOT, 'scripts/backup.sh');
    for (let i = 0; i < 3; i++) {
      const once = await run('sh', [script, 'once'], { env: backupEnv });
      expect(once.code, once.stderr).toBe(0);
      if (i < 2) await new Promise((r) => setTimeout(r, 1100)); // one backup per second by name
    }
    const list = (await run('sh', [script, 'list'], { env: backupEnv })).stdout.trim().split('\n');
    expect(list.length, 'BACKUP_KEEP=2 keeps the newest two').toBe(2);
    const latest = list.at(-1) as string;
    const manifest = readFileSync(join(latest, 'MANIFEST'), 'utf8');
    expect(manifest).toMatch(/^file redis\/dump\.rdb \d+ [0-9a-f]{64}$/m);
    expect(manifest).toMatch(/^file site-config\.tar\.gz \d+ [0-9a-f]{64}$/m);
    // Keys without an expiry, just before and just after the snapshot: the snapshot's count lies between.
    const persistent = (which: string) => {
      const m = new RegExp(`^redis_keyspace_${which} db0:keys=(\\d+),expires=(\\d+)`, 'm').exec(manifest);
      return Number(m?.[1]) - Number(m?.[2]);
    };
    const [lo, hi] = [Math.min(persistent('before'), persistent('after')), Math.max(persistent('before'), persistent('after'))];
    expect(lo).toBeGreaterThan(0);
    expect((await run('sh', [script, 'status'], { env: backupEnv })).code).toBe(0);

    // A fresh Redis (the compose service's arguments) from the backup, before it starts.
    const freshDir = join(tmp, 'redis-restored');
    const restore = await run('sh', [script, 'restore-redis', latest, join(freshDir, 'data')], { env: { ...backupEnv } });
    expect(restore.code, restore.stderr).not.toBe(0); // the data folder does not exist yet: refused, named
    expect(restore.stderr).toContain('is not a folder');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(join(freshDir, 'data'), { recursive: true });
    const restored = await run('sh', [script, 'restore-redis', latest, join(freshDir, 'data')], { env: backupEnv });
    expect(restored.code, restored.stderr).toBe(0);
    const fresh = await startComposeRedis(compose.services.redis as never, freshDir);
    try {
      const c = redisAs('ops', fresh.port);
      await c.connect();
      const after = await snapshot(c);
      c.disconnect();
      // The backup was taken after `before`; no reading was published since.
      expect(after).toEqual(before);
      const restoredKeys = await keyspace(fresh.port);
      expect(restoredKeys).toBeGreaterThanOrEqual(lo);
      expect(restoredKeys).toBeLessThanOrEqual(hi);
      // It came back through the AOF (appendonly yes): a restart keeps it.
      await fresh.restart();
      expect(await keyspace(fresh.port)).toBe(restoredKeys);
      const again = redisAs('ops', fresh.port);
      await again.connect();
      expect(await snapshot(again)).toEqual(before);
      again.disconnect();
    } finally {
      await fresh.destroy();
    }

    // A fresh InfluxDB.
    const freshInflux = await startInfluxdb();
    try {
      const r = await run('sh', [script, 'restore-influxdb', latest], {
        env: { ...backupEnv, INFLUX_RPC: `127.0.0.1:${freshInflux.rpcPort}` },
      });
      expect(r.code, r.stderr).toBe(0);
      // influxd restore returns before the restored shards answer queries: wait for them.
      let restoredCount = -1;
      await until(
        'the restored readings answer',
        async () => (restoredCount = await storedBetween(0, Date.UTC(2030, 0, 1), freshInflux.url)) >= influxBefore,
        30_000,
      ).catch(() => undefined);
      expect(restoredCount).toBe(influxBefore);
      // Into a database that exists: refused, with what to do.
      const again = await run('sh', [script, 'restore-influxdb', latest], {
        env: { ...backupEnv, INFLUX_RPC: `127.0.0.1:${freshInflux.rpcPort}` },
      });
      expect(again.code).not.toBe(0);
      expect(again.stderr).toContain('must not exist yet');
    } finally {
      await freshInflux.destroy();
    }

    // The site config, file for file.
    const unpacked = join(tmp, 'config-restored');
    expect((await run('sh', [script, 'restore-config', latest, unpacked], { env: backupEnv })).code).toBe(0);
    const site = env.TUOJIANG_SITE_CONFIG as string;
    for (const f of readdirSync(site).filter((f) => f.endsWith('.yaml')))
      expect(readFileSync(join(unpacked, f), 'utf8'), f).toBe(readFileSync(join(site, f), 'utf8'));
  }, 180_000);

  it('status fails when the last backup failed, naming when', async () => {
    const dir = join(tmp, 'backups-failing');
    const failing = {
      PATH: process.env.PATH ?? '',
      ...(compose.services.backup?.environment ?? {}),
      REDIS_HOST: '127.0.0.1',
      REDIS_PORT: String(redis.port),
      REDIS_BACKUP_PASSWORD: 'wrong-password-000000',
      INFLUX_RPC: `127.0.0.1:${influx.rpcPort}`,
      SITE_CONFIG_DIR: env.TUOJIANG_SITE_CONFIG ?? '',
      BACKUP_DIR: dir,
    };
    const once = await run('sh', [join(ROOT, 'scripts/backup.sh'), 'once'], { env: failing });
    expect(once.code).not.toBe(0);
    expect(once.stderr).toContain('Redis snapshot failed');
    // No complete backup folder was left behind.
    expect(readdirSync(dir).filter((f) => /Z$/.test(f))).toEqual([]);
    const status = await run('sh', [join(ROOT, 'scripts/backup.sh'), 'status'], { env: failing });
    expect(status.code).not.toBe(0);
    expect(status.stderr).toMatch(/no backup yet and the schedule is not running/);
  });
});

describe('production refuses the demo defaults', () => {
  for (const variable of ['SMTP_URL', 'PUBLIC_URL', 'GRAFANA_URL']) {
    it(`docker-compose and the notify worker refuse to start without ${variable}, naming it`, async () => {
      const file = join(tmp, `env-without-${variable}`);
      writeFileSync(file, readFileSync(envFile, 'utf8').replace(new RegExp(`^${variable}=.*$`, 'm'), `${variable}=`));
      const c = await composeConfig(dockerCompose, file, tmp);
      expect(c.run.code).not.toBe(0);
      expect(c.run.stderr).toContain(`set ${variable} in .env`);
      // Started outside compose with the same environment but the variable unset: the service itself refuses.
      const serviceEnv = { ...(compose.services.notify?.environment ?? {}) };
      delete serviceEnv[variable];
      const notify = await startComposeService('notify', { ...compose.services.notify, environment: serviceEnv } as never, endpoints);
      const code = await new Promise<number | null>((r) => notify.child.once('exit', (c2) => r(c2)));
      expect(code).not.toBe(0);
      expect(notify.log()).toContain(`${variable}: expected`);
      expect(notify.log()).toContain('required in production');
    }, 60_000);
  }

  it("refuses links to localhost and the demo's Mailpit in production", async () => {
    const serviceEnv = { ...(compose.services.api?.environment ?? {}), PUBLIC_URL: 'http://localhost:8080' };
    const api = await startComposeService('api', { ...compose.services.api, environment: serviceEnv } as never, endpoints);
    const code = await new Promise<number | null>((r) => api.child.once('exit', (c) => r(c)));
    expect(code).not.toBe(0);
    expect(api.log()).toContain('PUBLIC_URL: expected');
    expect(api.log()).toContain('not the local host or the demo sink');
  }, 60_000);
});

describe('Redis at maxmemory', () => {
  it('refuses the journal, the ingest reports it (readiness, metric, TJ_REDIS_OOM) and holds the readings at the broker; once memory is freed every reading is stored once', async () => {
    const dir = join(tmp, 'redis-small');
    const small = await startComposeRedis(compose.services.redis as never, dir, { maxmemory: '3mb' });
    // The stack's ingest would take the readings (and the same client ids): this ingest alone.
    await running.find((r) => r.name === 'ingest')?.stop();
    const ingest = await startComposeService(
      'ingest-oom',
      compose.services.ingest as never,
      { ...endpoints, redis: small.port },
      { TUOJIANG_INSTANCE: 'ingest-oom' },
    );
    try {
      await until(
        `the ingest on the small Redis is healthy\n${ingest.log().slice(-2000)}`,
        async () => (await healthcheck(compose.services.ingest as never, ingest)).code === 0,
        90_000,
      );
      // Fill Redis to its bound with one key of the pipeline's own prefix (as a backlog would).
      const ops = redisAs('ops', small.port);
      await ops.connect();
      // Large pieces first, then small ones: a refused 64 KiB APPEND's own query buffer is freed
      // after the refusal, which would leave room for the journal's small writes.
      for (const size of [64 * 1024, 1024, 64]) {
        for (let i = 0; ; i++) {
          try {
            await ops.append('tuojiang:filler', 'x'.repeat(size));
          } catch (e) {
            expect((e as Error).message).toMatch(/OOM/);
            break;
          }
          if (i > 5000) throw new Error('Redis never reached maxmemory');
        }
      }
      await expect(ops.set('tuojiang:probe', '1')).rejects.toThrow(/OOM/);
      const t0 = Date.UTC(2026, 10, 3);
      await publish(20, t0);
      const diag = async () =>
        `stored ${await storedBetween(t0, t0 + 20 * 60_000)}; ${(await ops.info('memory'))
          .split('\n')
          .filter((l) => /^(used_memory|maxmemory):/.test(l))
          .join(' ')}\n${ingest.log().slice(-3000)}`;
      await until(
        'the ingest reports Redis full',
        async () => {
          const r = await fetch(`http://127.0.0.1:${ingest.ports.get(9464)}/readyz`);
          const body = (await r.json()) as { checks: Record<string, boolean> };
          return r.status === 503 && body.checks.redis_memory === false;
        },
        60_000,
      ).catch(async (e: Error) => {
        throw new Error(`${e.message}: ${await diag()}`);
      });
      expect((await healthcheck(compose.services.ingest as never, ingest)).code).not.toBe(0);
      const metrics = await (await fetch(`http://127.0.0.1:${ingest.ports.get(9464)}/metrics`)).text();
      expect(Number(/^tuojiang_redis_oom_refusals_total (\d+)/m.exec(metrics)?.[1] ?? 0)).toBeGreaterThan(0);
      expect(ingest.log()).toMatch(/"code":"TJ_REDIS_OOM"/);
      // The refused batch was held, not dropped: its PUBACKs wait and the append is retried.
      expect(ingest.log()).toMatch(
        /"err":"[^"]*OOM[^"]*","items":\d+,"retryInMs":\d+,"msg":"journal append failed; holding PUBACKs and retrying"/,
      );
      // (How many readings slip in while Redis hovers at its bound depends on freed buffers, so the
      // test does not count them; what it counts is the end: every reading stored, none twice.)
      await ops.del('tuojiang:filler');
      ops.disconnect();
      await until(
        '20 readings stored after Redis has memory again',
        async () => (await storedBetween(t0, t0 + 20 * 60_000)) === 20,
        90_000,
      );
      const written = async () =>
        Number(
          /^tuojiang_readings_written_total (\d+)/m.exec(
            await (await fetch(`http://127.0.0.1:${ingest.ports.get(9464)}/metrics`)).text(),
          )?.[1] ?? -1,
        );
      await until('the ingest counted 20 readings written', async () => (await written()) >= 20);
      expect(await written()).toBe(20);
      await until('ingest healthy again', async () => (await healthcheck(compose.services.ingest as never, ingest)).code === 0);
      expect(ingest.log()).toContain("Redis accepts the journal's writes again");
    } finally {
      await ingest.stop();
      await small.destroy();
    }
  }, 240_000);
});

describe('host prerequisites', () => {
  it('the ingest warns at start, naming vm.overcommit_memory, exactly when the host does not set it to 1', async () => {
    const ingest = running.find((r) => r.name === 'ingest') as RunningService;
    const value = readFileSync('/proc/sys/vm/overcommit_memory', 'utf8').trim();
    const warned = /"code":"TJ_HOST_OVERCOMMIT"[^\n]*vm\.overcommit_memory is/.test(ingest.log());
    expect(warned, `vm.overcommit_memory is ${value}`).toBe(value !== '1');
  });
});
