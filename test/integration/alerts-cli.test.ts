/**
 * The operator commands: `tuojiang alerts worker` as a real child process (SIGTERM stops it
 * cleanly), `tuojiang alerts list`, `tuojiang alerts overdue`, and `tuojiang maintenance add|list|remove`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Queue } from 'bullmq';
import { Command } from 'commander';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AlertStore } from '../../alerts/alert-store.js';
import { CheckEnqueuer, type AnyCheckJobData } from '../../alerts/check-enqueuer.js';
import { InboxSweeper } from '../../alerts/inbox-sweep.js';
import { QUEUE_CHECKS } from '../../alerts/keys.js';
import { redisNow } from '../../alerts/silence.js';
import { InfluxClient } from '../../lib/influx/client.js';
import { registerAlertsCommands } from '../../cli/commands/alerts.js';
import { registerMaintenanceCommands } from '../../cli/commands/maintenance.js';
import { HOUR, T0, failCheckJobs, reading, registry, startAlertServices, waitFor, type Services } from '../helpers/alerts-stack.js';

let services: Services;
const savedEnv = { ...process.env };
beforeAll(async () => {
  services = await startAlertServices();
  process.env.REDIS_URL = services.redis.url;
  process.env.INFLUX_URL = services.influxdb.url;
}, 120_000);
afterAll(async () => {
  process.env = savedEnv;
  await services?.stopAll();
});

/** Runs one command in-process and returns what it printed. */
async function run(args: string[]): Promise<string> {
  const program = new Command('tuojiang').exitOverride();
  registerAlertsCommands(program);
  registerMaintenanceCommands(program);
  let out = '';
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string | Uint8Array) => {
    out += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString();
    return true;
  }) as typeof process.stdout.write;
  try {
    await program.parseAsync(['node', 'tuojiang', ...args]);
  } finally {
    process.stdout.write = write;
  }
  return out;
}

const jsonLines = (s: string) =>
  s
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe('tuojiang maintenance', () => {
  it('add, list and remove a window', async () => {
    const prefix = `m${randomBytes(3).toString('hex')}`;
    const added = JSON.parse(
      await run([
        'maintenance',
        'add',
        '--station',
        'hongyuan',
        '--from',
        '2026-05-01T08:00+08:00',
        '--hours',
        '4',
        '--reason',
        'pump swap',
        '--json',
        '--prefix',
        prefix,
      ]),
    );
    expect(added).toMatchObject({
      station: 'hongyuan',
      from: Date.parse('2026-05-01T08:00+08:00'),
      to: Date.parse('2026-05-01T12:00+08:00'),
      reason: 'pump swap',
      source: 'cli',
    });
    const listed = jsonLines(await run(['maintenance', 'list', '--json', '--prefix', prefix]));
    expect(listed.map((w) => w.id)).toEqual([added.id]);
    expect(await run(['maintenance', 'list', '--prefix', prefix])).toMatch(
      /hongyuan\s+2026-05-01 08:00 \(UTC\+8\) → 2026-05-01 12:00 \(UTC\+8\)\s+cli\s+pump swap/,
    );
    expect(await run(['maintenance', 'remove', added.id, '--prefix', prefix])).toBe(`removed ${added.id}\n`);
    expect(jsonLines(await run(['maintenance', 'list', '--json', '--prefix', prefix]))).toEqual([]);
  });

  it('refuses unknown stations, zone-less times and empty windows', async () => {
    await expect(run(['maintenance', 'add', '--station', 'nowhere', '--from', 'now', '--hours', '1'])).rejects.toThrow(
      /no station "nowhere"/,
    );
    await expect(run(['maintenance', 'add', '--station', 'hongyuan', '--from', '2026-05-01T08:00', '--hours', '1'])).rejects.toThrow(
      /with a zone/,
    );
    await expect(run(['maintenance', 'add', '--station', 'hongyuan', '--from', 'now'])).rejects.toThrow(/--to <when> or --hours/);
    await expect(run(['maintenance', 'remove', 'mw-none', '--prefix', 'nothing'])).rejects.toThrow(/no stored maintenance window/);
  });
});

describe('tuojiang alerts worker / alerts list', () => {
  let child: ChildProcess | undefined;
  afterAll(() => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
  });

  it('runs as a process, records a sustained exceedance, lists it, and stops cleanly on SIGTERM', async () => {
    const prefix = `w${randomBytes(3).toString('hex')}`;
    const db = `alerts_cli_${prefix}`;
    child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '--input-type=module',
        '-e',
        "import { Command } from 'commander'; import { registerAlertsCommands } from './cli/commands/alerts.ts'; const p = new Command('tuojiang'); registerAlertsCommands(p); await p.parseAsync(process.argv.slice(1), { from: 'user' });",
        '--',
        'alerts',
        'worker',
        '--workers',
        '2',
        '--prefix',
        prefix,
        '--no-silence',
      ],
      { cwd: process.cwd(), env: { ...process.env, INFLUX_DB: db, LOG_LEVEL: 'info' }, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let log = '';
    child.stderr?.on('data', (d: Buffer) => (log += d.toString()));
    await waitFor(() => log.includes('alerts started'), 60_000, `the worker to start; its log:\n${log}`);

    const enqueuer = new CheckEnqueuer({ redisUrl: services.redis.url, prefix });
    await enqueuer.enqueue([0.4, 1.5, 1.6, 1.7].map((v, i) => reading('huaikou', T0 + i * HOUR, { NH3N: v })));
    await enqueuer.close();
    const influx = new InfluxClient({ url: services.influxdb.url, database: db });
    const firing = async () => (await influx.query("SELECT * FROM alerts WHERE rule = 'limit'").catch(() => []))[0]?.values.length ?? 0;
    await waitFor(async () => (await firing()) === 1, 30_000, 'the firing point');

    const rows = jsonLines(await run(['alerts', 'list', '--json', '--prefix', prefix]));
    expect(rows).toContainEqual(
      expect.objectContaining({ station: 'huaikou', period: 'hour', key: 'limit.NH3N', state: 'firing', value: 1.7, limit: 1 }),
    );
    expect(await run(['alerts', 'list', '--station', 'huaikou', '--prefix', prefix])).toMatch(/^firing\s+huaikou\s+hour\s+limit\.NH3N/m);

    const exited = new Promise<number | null>((resolve) => child?.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(log).toMatch(/"msg":"stopping"/);
  }, 90_000);
});

describe('tuojiang alerts overdue', () => {
  it('lists late and stuck series with the last sweep job’s error, and --recheck adds a check job for each', async () => {
    const prefix = `o${randomBytes(3).toString('hex')}`;
    const connection = { host: '127.0.0.1', port: services.redis.port };
    const redis = new Redis(services.redis.url);
    const checks = new Queue<AnyCheckJobData>(QUEUE_CHECKS, { connection, prefix });
    try {
      expect(await run(['alerts', 'overdue', '--prefix', prefix])).toBe('no reading is waiting for its check 5+ min past due\n');
      const store = new AlertStore(redis, prefix);
      await store.enqueue([reading('hongyuan', T0, { NH3N: 9 })]);
      // The reading became due `min` minutes ago (the inbox entry's times, as the enqueue writes them).
      const dueAgo = async (min: number): Promise<void> => {
        const k = store.keys.series('hongyuan', 'hour');
        const raw = (await redis.hget(k.data, String(T0)))!;
        const t = (await redisNow(redis)) - min * 60_000;
        await redis.hset(k.data, String(T0), `${t}|${t}|${raw.split('|').slice(2).join('|')}`);
      };
      await dueAgo(7);
      const late = await run(['alerts', 'overdue', '--prefix', prefix]);
      expect(late).toMatch(/^late\s+hongyuan\s+hour\s+reading 2026-05-01 00:00 \(UTC\+8\) {2}due 7 min ago$/m);
      expect(late).toMatch(/^1 series late: the inbox sweep gives each a check job/m);

      // The sweep's job of round 1 (10+ min) fails; at 21 min (round 2) the series is stuck.
      await dueAgo(12);
      const sweeper = new InboxSweeper({ store, registry, checks });
      expect(await sweeper.sweep()).toHaveLength(1);
      await failCheckJobs(services.redis.port, prefix, 'no limit for NH3N in this threshold set', 1);
      await dueAgo(21);
      const stuck = await run(['alerts', 'overdue', '--prefix', prefix]);
      expect(stuck).toMatch(/^STUCK\s+hongyuan\s+hour\s+reading 2026-05-01 00:00 \(UTC\+8\) {2}due 21 min ago$/m);
      expect(stuck).toContain('failed: no limit for NH3N in this threshold set');
      expect(stuck).toMatch(/^1 series, 1 STUCK: .* fix the cause, then run this with --recheck\.$/m);

      const [row] = jsonLines(await run(['alerts', 'overdue', '--recheck', '--json', '--prefix', prefix]));
      expect(row).toMatchObject({ station: 'hongyuan', period: 'hour', ts: T0, round: 2, stuck: true, rechecked: true });
      const waiting = await checks.getWaiting();
      expect(waiting.map((j) => [j.id?.split('.').slice(0, 4).join('.'), j.data])).toEqual([
        [`chkr.hongyuan.hour.${T0}`, { s: 'hongyuan', p: 'hour', ts: T0 }],
      ]);
    } finally {
      await checks.close();
      redis.disconnect();
    }
  }, 60_000);
});
