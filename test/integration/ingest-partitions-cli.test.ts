/**
 * `tuojiang ingest partitions`: which partition of N each station belongs to, as the ingest itself
 * computes it (config/partition.ts), from --count or the deployment's INGEST_PARTITION; clear
 * refusals; and it needs nothing but the configuration (no broker, Redis or InfluxDB settings, so a
 * malformed one of those does not stop it).
 */
import { describe, expect, it } from 'vitest';
import { partitionOf } from '../../config/partition.js';
import { shippedRegistry } from '../helpers/fixtures.js';
import { runCli } from '../helpers/cli.js';

const ids = shippedRegistry().stations.map((s) => s.id);

describe('tuojiang ingest partitions', () => {
  it('--count 3 --json: every station of stations.yaml with the partition the ingest gives it, and the sizes', async () => {
    const r = await runCli(['ingest', 'partitions', '--count', '3', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { count: number; stations: Record<string, number>; sizes: number[] };
    expect(out.count).toBe(3);
    expect(Object.keys(out.stations).sort()).toEqual([...ids].sort());
    for (const id of ids) expect(out.stations[id], id).toBe(partitionOf(id, 3));
    expect(out.sizes).toHaveLength(3);
    expect(out.sizes.reduce((a, b) => a + b, 0)).toBe(ids.length);
  });

  it("takes N from INGEST_PARTITION, and does not read the services' settings it does not use", async () => {
    const r = await runCli(['ingest', 'partitions', '--station', 'hongyuan'], {
      INGEST_PARTITION: '2/4',
      REDIS_CLUSTER_NODES: 'not a node list',
      MQTT_URL: 'nonsense',
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`hongyuan  ${partitionOf('hongyuan', 4)}/4`);
    expect(r.stdout).toContain('1 station(s) over 4 partition(s)');
  });

  it('refuses what cannot be a partition count, and says how to give one', async () => {
    const none = await runCli(['ingest', 'partitions']);
    expect(none.code).not.toBe(0);
    expect(none.stderr).toContain('--count N');
    const zero = await runCli(['ingest', 'partitions', '--count', '0']);
    expect(zero.code).not.toBe(0);
    expect(zero.stderr).toMatch(/TJ_CONFIG_INVALID/);
    const bad = await runCli(['ingest', 'partitions'], { INGEST_PARTITION: '5/4' });
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('INGEST_PARTITION');
  });
});
