/**
 * deploy/influxdb/initdb.d/10-retention.sh, run as the InfluxDB image runs its first-start
 * scripts ($INFLUX_CMD followed by one InfluxQL statement), against a real InfluxDB.
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InfluxClient } from '../../lib/influx/client.js';
import { startInfluxdb, type InfluxdbHandle } from '../../devtools/local-services/index.js';
import { ROOT, run } from '../helpers/compose-services.js';

let influx: InfluxdbHandle;
let tmp: string;
let shim: string;

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'tuojiang-influx-init-'));
  influx = await startInfluxdb();
  await new InfluxClient({ url: influx.url, database: 'tuojiang' }).ensureDatabase();
  // The image's INFLUX_CMD is `influx … -execute`: one statement as the next argument. Same here, over HTTP.
  shim = join(tmp, 'influx-execute');
  writeFileSync(shim, `#!/bin/sh\ncurl -sf -XPOST '${influx.url}/query' --data-urlencode "q=$1" | grep -v '"error"'\n`);
  chmodSync(shim, 0o755);
}, 60_000);

afterAll(async () => {
  await influx?.destroy();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

const script = join(ROOT, 'deploy/influxdb/initdb.d/10-retention.sh');
const policies = async () =>
  (await new InfluxClient({ url: influx.url, database: 'tuojiang' }).query('SHOW RETENTION POLICIES ON "tuojiang"'))[0]?.values ?? [];

describe('the retention policy set on the first start', () => {
  it("sets the database's default policy to INFLUX_RETENTION in 4-week shards", async () => {
    const r = await run('sh', [script], {
      env: { PATH: process.env.PATH ?? '', INFLUX_CMD: shim, INFLUXDB_DB: 'tuojiang', INFLUX_RETENTION: '520w' },
    });
    expect(r.code, r.stderr).toBe(0);
    const autogen = (await policies()).find((p) => p[0] === 'autogen');
    expect(autogen?.[1]).toBe('87360h0m0s'); // 520 weeks
    expect(autogen?.[2]).toBe('672h0m0s'); // 4 weeks
    expect(autogen?.at(-1)).toBe(true); // default
  });

  it('refuses a retention that is not an InfluxQL duration, naming it, and changes nothing', async () => {
    const before = await policies();
    for (const bad of ['10 years', '5w; DROP DATABASE tuojiang', '1d DEFAULT; DROP DATABASE tuojiang; 1w', '52w\n1w', '']) {
      const r = await run('sh', [script], {
        env: { PATH: process.env.PATH ?? '', INFLUX_CMD: shim, INFLUXDB_DB: 'tuojiang', INFLUX_RETENTION: bad },
      });
      if (bad === '') {
        // Empty means the default (520w), as in compose.
        expect(r.code, r.stderr).toBe(0);
        continue;
      }
      expect(r.code, bad).not.toBe(0);
      expect(r.stderr).toContain('INFLUX_RETENTION must be an InfluxQL duration');
    }
    expect(await policies()).toEqual(before);
  });
});
