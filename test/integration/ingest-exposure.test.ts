/**
 * What the running ingest shows to whoever can read its logs or reach its host (issue 11):
 * - credentials inside a service URL (INFLUX_URL, REDIS_URL, MQTT_URL) never appear in its output,
 *   while InfluxDB is up, when it goes down and the writer retries, and when it is unreachable;
 * - its /healthz, /readyz and /metrics listen on loopback unless HTTP_HOST says otherwise.
 */
import type { ChildProcess } from 'node:child_process';
import { networkInterfaces } from 'node:os';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../devtools/local-services/index.js';
import { jsonPayload } from '../helpers/fixtures.js';
import { spawnIngest, startIngestStack, waitFor, type IngestStack } from '../helpers/ingest-stack.js';

let stack: IngestStack;
const children: ChildProcess[] = [];

beforeAll(async () => {
  stack = await startIngestStack();
}, 120_000);

afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  await stack?.stop();
});

/** The ingest as a child process, killed after the tests if still running. */
function ingestProcess(env: NodeJS.ProcessEnv): ReturnType<typeof spawnIngest> {
  const ingest = spawnIngest(env);
  children.push(ingest.child);
  return ingest;
}

const status = (url: string): Promise<number | string> =>
  fetch(url).then(
    (r) => r.status,
    (e: unknown) => String((e as { cause?: { code?: string } }).cause?.code ?? e),
  );

describe('credentials in service URLs', () => {
  it('never prints the userinfo of INFLUX_URL, REDIS_URL or MQTT_URL, and still uses it', async () => {
    const secrets = { influx: 'Influx-S3cret-in-url', redis: 'Redis-S3cret-in-url' };
    const influxUrl = new URL(stack.services.influxdb.url);
    const withUser = (u: URL, user: string, pw: string): string => {
      const c = new URL(u);
      c.username = user;
      c.password = pw;
      return c.toString();
    };
    const httpPort = await freePort();
    const { MQTT_USERNAME: _u, MQTT_PASSWORD: _p, ...base } = stack.childEnv();
    const { child, output, stop } = ingestProcess({
      ...base,
      HTTP_PORT: String(httpPort),
      LOG_LEVEL: 'debug',
      INFLUX_URL: withUser(influxUrl, 'tjuser', secrets.influx),
      // Redis without a password accepts the AUTH with a warning; the URL still carries one.
      REDIS_URL: withUser(new URL(stack.services.redis.url), '', secrets.redis),
      MQTT_URL: withUser(new URL(stack.services.mosquitto.url), 'ingest', stack.users.ingest!),
    });
    // Ready means the credentials from the URLs were used: InfluxDB and the broker accepted them.
    await waitFor(
      async () =>
        (await status(`http://127.0.0.1:${httpPort}/readyz`)) === 200 ||
        child.exitCode !== null ||
        /InfluxDB database not ready/.test(output()),
      60_000,
      'ingest ready',
    );
    expect(await status(`http://127.0.0.1:${httpPort}/readyz`)).toBe(200);

    // InfluxDB goes away while a reading waits to be written: the writer logs its retries.
    await stack.services.influxdb.stop();
    const pub = await mqtt.connectAsync(stack.services.mosquitto.url, {
      username: 'simulator',
      password: stack.users.simulator!,
      protocolVersion: 5,
    });
    await pub.publishAsync('tuojiang/water/zhaozhen', jsonPayload({ ts: Date.parse('2025-08-01T00:00:00Z'), values: { NH3N: 0.3 } }), {
      qos: 1,
    });
    await pub.endAsync();
    await waitFor(() => /InfluxDB write failed; retrying/.test(output()), 60_000, 'a write retry logged');
    await stack.services.influxdb.start();
    await stop();

    // A second start with InfluxDB unreachable at the URL's port: the start-up retry logs.
    const downPort = await freePort();
    const second = ingestProcess({
      ...base,
      HTTP_PORT: String(await freePort()),
      INFLUX_URL: withUser(new URL(`http://127.0.0.1:${downPort}`), 'tjuser', secrets.influx),
    });
    await waitFor(() => /InfluxDB database not ready; retrying/.test(second.output()), 60_000, 'a start-up retry logged');
    await second.stop();

    const all = output() + second.output();
    for (const secret of [secrets.influx, secrets.redis, stack.users.ingest!]) expect(all).not.toContain(secret);
    expect(all).toMatch(/127\.0\.0\.1:\d+/);
  });
});

describe('HTTP_HOST', () => {
  const external = Object.values(networkInterfaces())
    .flat()
    .find((i) => i && !i.internal && i.family === 'IPv4')?.address;

  it('serves /healthz on loopback only by default, and on every interface with HTTP_HOST=0.0.0.0', async () => {
    expect(external, 'a non-loopback IPv4 address to probe from').toBeDefined();
    for (const [host, reachableOutside] of [
      [undefined, false],
      ['0.0.0.0', true],
    ] as const) {
      const port = await freePort();
      const { stop } = ingestProcess({ ...stack.childEnv(), HTTP_PORT: String(port), ...(host ? { HTTP_HOST: host } : {}) });
      await waitFor(async () => (await status(`http://127.0.0.1:${port}/healthz`)) === 200, 60_000, 'healthz on loopback');
      expect(await status(`http://${external}:${port}/healthz`)).toBe(reachableOutside ? 200 : 'ECONNREFUSED');
      await stop();
    }
  });

  it('refuses an HTTP_HOST that is not an IP address or host name, naming the variable', async () => {
    const { child, output } = ingestProcess({ ...stack.childEnv(), HTTP_HOST: 'http://0.0.0.0/' });
    const code = await new Promise((r) => child.once('exit', r));
    expect(code).not.toBe(0);
    expect(output()).toMatch(/TJ_ENV_INVALID/);
    expect(output()).toMatch(/HTTP_HOST/);
  });
});
