/**
 * The InfluxDB client's write path over node:http with a keep-alive agent (decision 0018, round 2):
 * against a real InfluxDB, the points arrive, a refused point is a permanent InfluxHttpError with
 * InfluxDB's reason, an unreachable InfluxDB is TJ_INFLUX_UNAVAILABLE without the URL's credentials.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startServices } from '../../devtools/local-services/index.js';
import { InfluxClient, InfluxHttpError } from '../../lib/influx/client.js';

let services: Awaited<ReturnType<typeof startServices<{ influxdb: true }>>>;

beforeAll(async () => {
  services = await startServices({ influxdb: true });
}, 120_000);

afterAll(async () => {
  await services?.stopAll();
});

describe('InfluxClient.writeLines', () => {
  it('writes batch after batch on the kept-alive agent', async () => {
    const influx = new InfluxClient({ url: services.influxdb.url, database: `w_${randomBytes(3).toString('hex')}` });
    await influx.ensureDatabase();
    for (let i = 0; i < 5; i++) {
      await influx.writeLines(Array.from({ length: 10 }, (_, k) => `m,station=s${k} v=${i}.5 ${1_800_000_000_000 + i * 1000 + k}`));
    }
    const res = await influx.query('SELECT count("v") FROM "m"');
    expect(res[0]?.values[0]?.[1]).toBe(50);
  });

  it('a refused point is a permanent InfluxHttpError carrying InfluxDB’s reason', async () => {
    const influx = new InfluxClient({ url: services.influxdb.url, database: `w_${randomBytes(3).toString('hex')}` });
    await influx.ensureDatabase();
    await influx.writeLines(['m v=1 1800000000000']);
    const err = await influx.writeLines(['m v="text" 1800000001000']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InfluxHttpError);
    expect((err as InfluxHttpError).permanent).toBe(true);
    expect((err as InfluxHttpError).body).toMatch(/field type conflict/);
  });

  it('an unreachable InfluxDB is TJ_INFLUX_UNAVAILABLE, and the message carries no credentials', async () => {
    const port = await freePort();
    const influx = new InfluxClient({ url: `http://writer:s3cret@127.0.0.1:${port}`, database: 'x' });
    const err = await influx.writeLines(['m v=1 1800000000000']).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'TJ_INFLUX_UNAVAILABLE' });
    expect((err as Error).message).toContain(`127.0.0.1:${port}`);
    expect((err as Error).message).not.toContain('s3cret');
  });
});
