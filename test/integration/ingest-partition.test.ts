import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG_DIR } from '../../config/load.js';
import { idsInPartition } from '../../config/partition.js';
import { freePort } from '../../devtools/local-services/index.js';
import { dropSessions } from '../../ingest/drop-session.js';
import { SUBSCRIBE_BATCH } from '../../ingest/sources/mqtt.js';
import { compareBurst, storedValues, type BurstReading } from '../helpers/burst.js';
import { countPoints, publishAll, startIngestStack, waitFor, type IngestStack } from '../helpers/ingest-stack.js';

/*
 * Partitioned ingest (issue 16, decision 0017) as deployed: each partition a `tuojiang ingest` child
 * process with INGEST_PARTITION, on real Mosquitto (persistence on, as in production), Redis and
 * InfluxDB. 40 water stations: the shipped 7 and 33 more, so that each partition holds a fair share.
 */
const ROOT = join(import.meta.dirname, '..', '..');

let stack: IngestStack;
let configDir: string;
let water: string[];
let registryStations: number;
const children: ChildProcess[] = [];

beforeAll(async () => {
  configDir = mkdtempSync(join(tmpdir(), 'tj-partition-'));
  const registry = parse(readFileSync(join(DEFAULT_CONFIG_DIR, 'stations.yaml'), 'utf8')) as { stations: Array<Record<string, unknown>> };
  // Water sections that send NH3N in mg/L (one shipped section sends another unit, converted on ingest).
  const plain = (s: Record<string, unknown>) => s.kind === 'water' && !(s.units as Record<string, string> | undefined)?.NH3N;
  const extra = Array.from({ length: 40 - registry.stations.filter(plain).length }, (_, i) => `pt-${String(i + 1).padStart(2, '0')}`);
  extra.forEach((id, i) =>
    registry.stations.push({
      id,
      name: { zh: `测试${i + 1}`, en: `Test ${i + 1}` },
      city: i % 2 ? 'ziyang' : 'chengdu',
      kind: 'water',
      river: 'tuojiang',
      river_km: 3 + i * 3,
      coordinates: { lat: 30.4 - i * 0.01, lon: 104.5 + i * 0.01 },
      mn: `PT${String(i + 1).padStart(22, '0')}`,
      target_class: 'III',
      waterbody: 'river',
    }),
  );
  // And 250 air stations that never publish: each connection then holds more topics than one
  // SUBSCRIBE packet carries (SUBSCRIBE_BATCH), as a partition of a few hundred stations does.
  for (let i = 0; i < 250; i++)
    registry.stations.push({
      id: `pa-${String(i + 1).padStart(3, '0')}`,
      name: { zh: `空气${i + 1}`, en: `Air ${i + 1}` },
      city: i % 2 ? 'ziyang' : 'chengdu',
      kind: 'air',
      coordinates: { lat: 30.1 + i * 0.001, lon: 104.6 + i * 0.001 },
      mn: `PA${String(i + 1).padStart(22, '0')}`,
    });
  writeFileSync(join(configDir, 'stations.yaml'), stringify(registry));
  writeFileSync(join(configDir, 'tuojiang.yaml'), readFileSync(join(DEFAULT_CONFIG_DIR, 'tuojiang.yaml')));
  water = registry.stations.filter(plain).map((s) => String(s.id));
  registryStations = registry.stations.length;
  expect(water).toHaveLength(40);
  stack = await startIngestStack();
}, 120_000);

afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

afterAll(async () => {
  await stack?.stop();
  rmSync(configDir, { recursive: true, force: true });
});

interface IngestChild {
  child: ChildProcess;
  port: number;
  exited: Promise<{ code: number | null; stderr: string }>;
  /** The last of what it wrote to stderr (its log). */
  stderr: () => string;
}

function spawnCli(args: string[], env: NodeJS.ProcessEnv): IngestChild & { stdout: () => string } {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'cli', 'main.ts'), ...args], {
    cwd: ROOT,
    env: { ...stack.childEnv(), TUOJIANG_CONFIG: configDir, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  let stdout = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-20_000);
  });
  child.stdout?.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  const exited = new Promise<{ code: number | null; stderr: string }>((resolve) => child.on('exit', (code) => resolve({ code, stderr })));
  children.push(child);
  return { child, port: Number(env.INGEST_HTTP_PORT ?? 0), exited, stdout: () => stdout, stderr: () => stderr };
}

async function spawnIngest(partition: string): Promise<IngestChild> {
  const port = await freePort();
  const tag = partition.replace('/', 'of');
  return spawnCli(['ingest', '--no-checks'], {
    INGEST_PARTITION: partition,
    // The journal's consumer name: one per process (the MQTT client ids name the partition instead).
    TUOJIANG_INSTANCE: `test-${tag}`,
    INGEST_HTTP_PORT: String(port),
    LOG_LEVEL: 'info',
  });
}

/** The query of the provisioned Grafana rule that counts the partitions missing. */
function partitionRuleQuery(): string {
  const file = parse(readFileSync(join(ROOT, 'dashboards/provisioning/alerting/tuojiang-platform.yaml'), 'utf8')) as {
    groups: Array<{ rules: Array<{ uid: string; data: Array<{ refId: string; model: { query?: string } }> }> }>;
  };
  const rule = file.groups.flatMap((g) => g.rules).find((r) => r.uid === 'tj-ingest-partition-missing');
  const query = rule?.data.find((d) => d.refId === 'A')?.model.query;
  if (!query) throw new Error('rule tj-ingest-partition-missing has no query A');
  return query;
}

interface Readyz {
  status: string;
  checks: Record<string, boolean>;
  info?: { partition?: string; partition_stations?: number; registry_stations?: number };
}

const readyz = async (c: IngestChild): Promise<Readyz> => (await fetch(`http://127.0.0.1:${c.port}/readyz`)).json() as Promise<Readyz>;
/** Until /readyz answers 200; when it never does, the last answer and the process's log say why. */
async function ready(c: IngestChild): Promise<void> {
  let last: Readyz | undefined;
  try {
    await waitFor(async () => (last = await readyz(c)).status === 'ready', 60_000, `ingest on ${c.port} ready`, 200);
  } catch (e) {
    throw new Error(`${(e as Error).message}\n/readyz: ${JSON.stringify(last)}\nlog: ${c.stderr().slice(-3000)}`, { cause: e });
  }
}

/** The value of a metric on the child's /metrics (summed over label sets). */
async function metric(c: IngestChild, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${c.port}/metrics`)).text();
  return text
    .split('\n')
    .filter((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`))
    .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
}

/** One reading per station per second from `start`, `seconds` long, each with a value of its own. */
function readings(stations: readonly string[], start: number, seconds: number, offset = 0): BurstReading[] {
  const out: BurstReading[] = [];
  for (let t = 0; t < seconds; t++)
    for (const [k, station] of stations.entries()) {
      const ts = start + t * 1000;
      const NH3N = (((offset + t) * 7919 + k * 104729) % 100000) / 1000;
      out.push({ topic: `tuojiang/water/${station}`, station, ts, NH3N, payload: JSON.stringify({ ts, values: { NH3N, pH: 7.5 } }) });
    }
  return out;
}

async function expectExactlyOnce(burst: BurstReading[]): Promise<void> {
  const from = Math.min(...burst.map((r) => r.ts));
  const to = Math.max(...burst.map((r) => r.ts));
  const where = `time >= ${from}ms AND time <= ${to}ms`;
  await waitFor(
    async () => (await countPoints(stack.influx, 'water_quality', 'NH3N', where)) >= burst.length,
    60_000,
    `all ${burst.length} readings in InfluxDB`,
    250,
  );
  expect(compareBurst(burst, await storedValues(stack.influx, from, to))).toEqual({ missing: 0, doubled: 0, wrong: 0, extra: 0 });
  expect(await countPoints(stack.influx, 'water_quality', 'NH3N', where)).toBe(burst.length);
}

/** Publishes one reading per station every `everyMs` (its own second of sensor time) until stopped. */
function paced(stations: readonly string[], start: number, everyMs: number) {
  const sent: BurstReading[] = [];
  let stop = false;
  const done = (async () => {
    const pub = await stack.publisher(`partition-paced-${start}`);
    const acks: Promise<unknown>[] = [];
    for (let t = 0; !stop; t++) {
      for (const r of readings(stations, start + t * 1000, 1, t)) {
        sent.push(r);
        acks.push(pub.publishAsync(r.topic, r.payload, { qos: 1 }).catch((e: unknown) => (stop ? undefined : Promise.reject(e))));
      }
      await new Promise((r) => setTimeout(r, everyMs));
    }
    await Promise.all(acks);
  })();
  return {
    sent,
    stop: async () => {
      stop = true;
      await done;
    },
  };
}

describe('partitioned ingest', () => {
  it('2 partitions: each process takes only its stations, and a broker restart mid-run loses and doubles nothing', async () => {
    const [p1, p2] = [await spawnIngest('1/2'), await spawnIngest('2/2')];
    await Promise.all([ready(p1), ready(p2)]);
    const mine = [idsInPartition(water, { index: 1, count: 2 }), idsInPartition(water, { index: 2, count: 2 })];
    expect(mine[0]!.length + mine[1]!.length).toBe(40);
    expect(Math.min(mine[0]!.length, mine[1]!.length)).toBeGreaterThan(10);
    // /readyz says which partition and how many stations of stations.yaml (the 4 air stations too).
    const total = registryStations;
    expect((await readyz(p1)).info).toMatchObject({ partition: '1/2', registry_stations: total });
    expect((await readyz(p2)).info).toMatchObject({ partition: '2/2', registry_stations: total });
    const [s1, s2] = [(await readyz(p1)).info!.partition_stations!, (await readyz(p2)).info!.partition_stations!];
    expect(s1 + s2).toBe(total);
    expect(await metric(p1, 'tuojiang_ingest_partition_stations')).toBe(s1);
    // Two media per station over 2 connections: more than SUBSCRIBE_BATCH topics on each, so every
    // connection sent several SUBSCRIBE packets, and /readyz waited for all their SUBACKs.
    expect(Math.min(s1, s2)).toBeGreaterThan(SUBSCRIBE_BATCH);

    // Phase 1, no fault: each process receives exactly its own stations' readings.
    const start = Date.parse('2026-04-01T00:00:00Z');
    const first = readings(water, start, 5);
    await publishAll(await stack.publisher('partition-first'), first, 500);
    await expectExactlyOnce(first);
    expect(await metric(p1, 'tuojiang_readings_in_total')).toBe(mine[0]!.length * 5);
    expect(await metric(p2, 'tuojiang_readings_in_total')).toBe(mine[1]!.length * 5);

    // Phase 2: the broker restarts (same port, same persistence file) while readings keep coming.
    const second = readings(water, start + 3_600_000, 100, 1000);
    const pub = await stack.publisher('partition-second');
    let restarted: Promise<void> | undefined;
    await publishAll(pub, second, 200, (sent) => {
      if (!restarted && sent === second.length / 2) restarted = stack.services.mosquitto.restart();
    });
    await restarted;
    await expectExactlyOnce(second);
    await Promise.all([ready(p1), ready(p2)]);
    // Still only their own stations: nothing of the other partition arrived after the restart either.
    const in1 = await metric(p1, 'tuojiang_readings_in_total');
    const in2 = await metric(p2, 'tuojiang_readings_in_total');
    expect(in1).toBeGreaterThanOrEqual(mine[0]!.length * 105);
    expect(in2).toBeGreaterThanOrEqual(mine[1]!.length * 105);
    const third = readings(mine[0]!, start + 7_200_000, 2);
    await publishAll(pub, third, 200);
    await expectExactlyOnce(third);
    expect(await metric(p1, 'tuojiang_readings_in_total')).toBe(in1 + third.length);
    expect(await metric(p2, 'tuojiang_readings_in_total')).toBe(in2);
    // Both media of each station are subscribed: a water section's reading on its air topic is still
    // received, by its own partition, and refused as it is unpartitioned.
    await pub.publishAsync(`tuojiang/air/${mine[0]![0]}`, third[0]!.payload, { qos: 1 });
    await waitFor(async () => (await metric(p1, 'tuojiang_readings_rejected_total')) === 1, 30_000, 'the wrong-medium reading refused');
    expect(await metric(p2, 'tuojiang_readings_rejected_total')).toBe(0);
    expect(await (await fetch(`http://127.0.0.1:${p1.port}/metrics`)).text()).toContain(
      'tuojiang_readings_rejected_total{reason="TJ_KIND_MISMATCH"} 1',
    );

    p1.child.kill('SIGTERM');
    p2.child.kill('SIGTERM');
    expect((await p1.exited).code).toBe(0);
    expect((await p2.exited).code).toBe(0);

    // Each process's health points say its partition (a stopping process writes one last point), so
    // the Grafana rule "ingest partition not reporting" finds both of the two reporting: of N = 2, 0 missing.
    const health = await stack.influx.query(
      `SELECT last("partition_index"), last("partition_count") FROM "pipeline_health" WHERE "service" = 'ingest' GROUP BY "instance"`,
    );
    const byInstance = Object.fromEntries(health.map((h) => [h.tags?.instance, h.values[0]?.slice(1)]));
    expect(byInstance).toMatchObject({ 'test-1of2': [1, 2], 'test-2of2': [2, 2] });
    const perN = (await stack.influx.query(partitionRuleQuery())).map((h) => [h.tags?.partitions, h.values[0]?.[1]]);
    expect(perN).toEqual([['2', 0]]);
  }, 180_000);

  it('2 → 3 partitions by the documented procedure while publishing: nothing lost, re-deliveries stored once', async () => {
    const old = [await spawnIngest('1/2'), await spawnIngest('2/2')];
    await Promise.all(old.map(ready));
    const feed = paced(water, Date.parse('2026-04-02T00:00:00Z'), 100);
    await waitFor(() => feed.sent.length > 400, 30_000, 'readings flowing');

    // 1. Start the new processes; 2. wait until every one reports ready (subscribed).
    const next = [await spawnIngest('1/3'), await spawnIngest('2/3'), await spawnIngest('3/3')];
    await Promise.all(next.map(ready));
    const overlapFrom = feed.sent.length;
    await waitFor(() => feed.sent.length > overlapFrom + 400, 30_000, 'readings flowing to both sets');
    // 3. SIGTERM the old ones: they drain, acknowledge what they journaled, and exit 0.
    const oldIn = (await Promise.all(old.map((c) => metric(c, 'tuojiang_readings_in_total')))).reduce((a, b) => a + b, 0);
    for (const c of old) c.child.kill('SIGTERM');
    for (const c of old) expect((await c.exited).code).toBe(0);
    // 4. End their sessions, or the broker would queue the old partitions' readings for a week.
    const drops = ['1/2', '2/2'].map((p) => ({
      tag: p.replace('/', 'of'),
      drop: spawnCli(['ingest', 'drop-session', '--partition', p], {}),
    }));
    for (const { tag, drop } of drops) {
      const { code, stderr } = await drop.exited;
      expect(code, stderr).toBe(0);
      expect(drop.stdout()).toBe(`tuojiang-ingest-p${tag}-0: session ended\ntuojiang-ingest-p${tag}-1: session ended\n`);
    }
    const afterFrom = feed.sent.length;
    await waitFor(() => feed.sent.length > afterFrom + 200, 30_000, 'readings flowing to the new set alone');
    await feed.stop();

    await expectExactlyOnce(feed.sent);
    // The overlap was real: while both sets ran, every reading reached two processes, and the
    // second copy overwrote the same point (one per station and time, with its value).
    const newIn = (await Promise.all(next.map((c) => metric(c, 'tuojiang_readings_in_total')))).reduce((a, b) => a + b, 0);
    expect(oldIn + newIn).toBeGreaterThan(feed.sent.length + 300);
    // The old sessions are gone: dropping them again finds none.
    const again = await dropSessions({
      url: stack.env.MQTT_URL,
      username: stack.env.MQTT_USERNAME,
      password: stack.env.MQTT_PASSWORD,
      clientIds: ['tuojiang-ingest-p1of2-0', 'tuojiang-ingest-p2of2-1'],
    });
    expect(again.map((d) => d.sessionPresent)).toEqual([false, false]);
    for (const c of next) c.child.kill('SIGTERM');
    for (const c of next) expect((await c.exited).code).toBe(0);
  }, 180_000);

  it('the loss it avoids is real: readings published after a broker restart, while the ingest is away, survive in a partition and are lost with $share', async () => {
    // The shipped registry's water sections that send NH3N in mg/L (the in-process ingest reads it).
    const plainWater = stack.config.registry.stations.filter((st) => st.kind === 'water' && !st.units.NH3N).map((st) => st.id);
    const outcome = async (mode: { env?: { INGEST_PARTITION: string }; shareGroup?: string }, day: string) => {
      const first = await stack.startIngest({ ...mode, instance: `away-${day}` });
      await waitFor(async () => (await fetch(`http://127.0.0.1:${first.httpPort}/readyz`)).status === 200, 30_000, 'ingest ready');
      await first.stop();
      // Its sessions persist; the broker restarts from its persistence file while the ingest is away.
      await stack.services.mosquitto.restart();
      const away = readings(plainWater, Date.parse(`2026-04-${day}T00:00:00Z`), 30);
      await publishAll(await stack.publisher(`away-publisher-${day}`), away, 200);
      const back = await stack.startIngest({ ...mode, instance: `away-${day}` });
      await waitFor(async () => (await fetch(`http://127.0.0.1:${back.httpPort}/readyz`)).status === 200, 30_000, 'ingest ready again');
      // A marker published once it is subscribed again: what the session kept arrives before it.
      const marker = readings(plainWater.slice(0, 1), Date.parse(`2026-04-${day}T12:00:00Z`), 1);
      await publishAll(await stack.publisher(`marker-${day}`), marker, 10);
      await expectExactlyOnce(marker);
      const where = `time >= ${away[0]!.ts}ms AND time <= ${away.at(-1)!.ts}ms`;
      const stored = await countPoints(stack.influx, 'water_quality', 'NH3N', where);
      await back.stop();
      return { published: away.length, stored };
    };
    const partitioned = await outcome({ env: { INGEST_PARTITION: '1/1' } }, '10');
    const shared = await outcome({ shareGroup: 'tj-away' }, '11');
    expect(partitioned).toEqual({ published: 30 * plainWater.length, stored: 30 * plainWater.length });
    // Mosquitto 2.0 kept the $share session but not its shared subscription (decision 0001).
    expect(shared).toEqual({ published: 30 * plainWater.length, stored: 0 });
  }, 120_000);

  it.each([
    [{ INGEST_PARTITION: '0/4' }, 'TJ_ENV_INVALID', 'INGEST_PARTITION: expected k between 1 and 4'],
    [{ INGEST_PARTITION: '5/4' }, 'TJ_ENV_INVALID', 'INGEST_PARTITION: expected k between 1 and 4'],
    [{ INGEST_PARTITION: 'x' }, 'TJ_ENV_INVALID', 'INGEST_PARTITION: expected a partition "k/N"'],
  ])('refuses to start with %o: %s', async (env, code, message) => {
    const c = spawnCli(['ingest', '--no-checks'], { ...env, INGEST_HTTP_PORT: String(await freePort()) });
    const { code: exit, stderr } = await c.exited;
    expect(exit).toBe(2);
    expect(stderr).toContain(code);
    expect(stderr).toContain(message);
  });

  it('refuses a partition together with a $share group, naming both', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tj-partition-share-'));
    try {
      writeFileSync(join(dir, 'stations.yaml'), readFileSync(join(configDir, 'stations.yaml')));
      const settings = readFileSync(join(DEFAULT_CONFIG_DIR, 'tuojiang.yaml'), 'utf8').replace('share_group: ""', 'share_group: "tj"');
      writeFileSync(join(dir, 'tuojiang.yaml'), settings);
      const c = spawnCli(['ingest', '--no-checks'], {
        TUOJIANG_CONFIG: dir,
        INGEST_PARTITION: '1/2',
        INGEST_HTTP_PORT: String(await freePort()),
      });
      const { code, stderr } = await c.exited;
      expect(code).toBe(2);
      expect(stderr).toContain('TJ_CONFIG_INVALID');
      expect(stderr).toContain('INGEST_PARTITION=1/2 and mqtt.share_group "tj" exclude each other');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
