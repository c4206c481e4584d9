import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { readEnv } from '../../config/env.js';
import { SettingsSchema } from '../../config/schema.js';
import {
  assignPartitions,
  idsInPartition,
  ingestPartition,
  parsePartition,
  partitionOf,
  partitionProblem,
  partitionTag,
  partitionTopics,
} from '../../config/partition.js';
import { TuojiangError } from '../../lib/errors.js';

const ids = Array.from({ length: 200 }, (_, i) => `s${String(i + 1).padStart(3, '0')}`);
const mqtt = { partition: '', share_group: '', topic_prefix: 'tuojiang', subscriptions: ['tuojiang/water/+', 'tuojiang/air/+'] };

function refusal(fn: () => unknown): TuojiangError {
  try {
    fn();
  } catch (e) {
    if (e instanceof TuojiangError) return e;
    throw e;
  }
  throw new Error('expected a refusal');
}

describe('partitionOf: the station → partition hash', () => {
  it('is the first 4 bytes of the SHA-256 of the id, mod N, plus 1 (what docs/operations.md tells an engineer to compute)', () => {
    for (const id of ['zhaozhen', 'hongyuan', 'ziyang-air', 's001']) {
      const first = parseInt(createHash('sha256').update(id).digest('hex').slice(0, 8), 16);
      for (const n of [1, 2, 3, 4, 7]) expect(partitionOf(id, n)).toBe((first % n) + 1);
    }
  });

  it('pins known values, so that a change of the hash cannot pass unnoticed (it would move every station)', () => {
    expect(['zhaozhen', 'hongyuan', 'linjiangsi', 'gongchengpu', 'jianyang-air', 'ziyang-air'].map((id) => partitionOf(id, 2))).toEqual([
      1, 1, 1, 2, 1, 2,
    ]);
    expect(partitionOf('s001', 4)).toBe(partitionOf('s001', 4));
  });

  it('is deterministic and depends on nothing but the id and N: adding stations moves none of the others', () => {
    for (let n = 2; n <= 8; n++) {
      const before = ids.map((id) => partitionOf(id, n));
      const grown = assignPartitions([...ids, 'new-a', 'new-b', 'zz-late'], n);
      expect(ids.map((id) => grown.findIndex((p) => p.includes(id)) + 1)).toEqual(before);
    }
  });

  it('spreads 200 stations over 2 to 8 partitions roughly evenly (each within half to one and a half times the mean)', () => {
    for (let n = 2; n <= 8; n++) {
      const sizes = assignPartitions(ids, n).map((p) => p.length);
      expect(sizes.reduce((a, b) => a + b, 0)).toBe(200);
      const mean = 200 / n;
      for (const size of sizes) {
        expect(size, `${n} partitions: ${sizes.join(' ')}`).toBeGreaterThanOrEqual(mean * 0.5);
        expect(size, `${n} partitions: ${sizes.join(' ')}`).toBeLessThanOrEqual(mean * 1.5);
      }
    }
  });

  it('gives every station exactly one partition, 1..N', () => {
    for (let n = 1; n <= 8; n++) {
      const all = Array.from({ length: n }, (_, k) => idsInPartition(ids, { index: k + 1, count: n })).flat();
      expect(all.sort()).toEqual([...ids].sort());
      for (const id of ids) expect(partitionOf(id, n)).toBeGreaterThanOrEqual(1);
      for (const id of ids) expect(partitionOf(id, n)).toBeLessThanOrEqual(n);
    }
  });

  it('refuses a count outside 1..256', () => {
    expect(refusal(() => partitionOf('s001', 0)).code).toBe('TJ_CONFIG_INVALID');
    expect(refusal(() => partitionOf('s001', 257)).code).toBe('TJ_CONFIG_INVALID');
  });
});

describe('parsePartition and its refusals', () => {
  it('reads "k/N", 1-based', () => {
    expect(parsePartition('2/4')).toEqual({ index: 2, count: 4 });
    expect(parsePartition(' 1/1 ')).toEqual({ index: 1, count: 1 });
    expect(partitionTag({ index: 2, count: 4 })).toBe('p2of4');
  });

  it.each([
    ['0/4', 'k between 1 and 4'],
    ['5/4', 'k between 1 and 4'],
    ['x', 'a partition "k/N"'],
    ['2/0', 'N between 1 and 256'],
    ['1/300', 'N between 1 and 256'],
    ['2of4', 'a partition "k/N"'],
    ['-1/4', 'a partition "k/N"'],
  ])('%s is refused: %s', (text, why) => {
    expect(partitionProblem(text)).toContain(why);
    const e = refusal(() => parsePartition(text));
    expect(e.code).toBe('TJ_CONFIG_INVALID');
    expect(e.message).toContain(why);
  });

  it('INGEST_PARTITION is checked with the rest of the environment', () => {
    expect(readEnv({ INGEST_PARTITION: '2/4' }).INGEST_PARTITION).toBe('2/4');
    expect(readEnv({ INGEST_PARTITION: '' }).INGEST_PARTITION).toBe('');
    for (const bad of ['0/4', '5/4', 'x']) {
      const e = refusal(() => readEnv({ INGEST_PARTITION: bad }));
      expect(e.code).toBe('TJ_ENV_INVALID');
      expect(e.message).toContain(`INGEST_PARTITION: expected`);
      expect(e.message).toContain(JSON.stringify(bad));
    }
  });

  it('tuojiang.yaml mqtt.partition is checked by the schema, and refused with a share group or a foreign filter', () => {
    expect(SettingsSchema.parse({ mqtt: { partition: '3/3' } }).mqtt.partition).toBe('3/3');
    const issues = (mqttSettings: object) =>
      SettingsSchema.safeParse({ mqtt: mqttSettings }).error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`) ?? [];
    expect(issues({ partition: '5/4' })).toEqual(['mqtt.partition: a partition "k/N" with 1 <= k <= N <= 256, or empty']);
    expect(issues({ partition: '1/2', share_group: 'ingest' })[0]).toContain(
      'mqtt.partition: a partitioned ingest uses plain subscriptions',
    );
    expect(issues({ partition: '1/2', subscriptions: ['tuojiang/water/+', 'gateways/#'] })[0]).toContain(
      "mqtt.subscriptions: with a partition only tuojiang/water/+ and tuojiang/air/+ may be listed (each becomes its stations' exact topics); gateways/# could carry",
    );
    // Unpartitioned, more connections than filters is still refused; partitioned, the topics are many.
    expect(issues({ connections: 3 })[0]).toContain('mqtt.connections');
    expect(issues({ connections: 3, partition: '1/2' })).toEqual([]);
  });
});

describe('ingestPartition: this process', () => {
  it('is unpartitioned when neither the config nor INGEST_PARTITION names one', () => {
    expect(ingestPartition(mqtt, {})).toBeUndefined();
    expect(ingestPartition(mqtt, { INGEST_PARTITION: '' })).toBeUndefined();
  });

  it('takes INGEST_PARTITION over tuojiang.yaml', () => {
    expect(ingestPartition({ ...mqtt, partition: '1/2' }, {})).toEqual({ index: 1, count: 2 });
    expect(ingestPartition({ ...mqtt, partition: '1/2' }, { INGEST_PARTITION: '3/3' })).toEqual({ index: 3, count: 3 });
  });

  it('refuses a partition with a share group, naming where each came from', () => {
    const e = refusal(() => ingestPartition({ ...mqtt, share_group: 'ingest' }, { INGEST_PARTITION: '2/4' }));
    expect(e.code).toBe('TJ_CONFIG_INVALID');
    expect(e.message).toContain('INGEST_PARTITION=2/4 and mqtt.share_group "ingest" exclude each other');
  });

  it('refuses a filter that could carry any partition’s stations', () => {
    const e = refusal(() => ingestPartition({ ...mqtt, subscriptions: ['tuojiang/+/+'] }, { INGEST_PARTITION: '1/2' }));
    expect(e.message).toContain('tuojiang/+/+ could carry');
  });

  it("subscribes to each of its stations' exact topics, both media, no wildcard", () => {
    const mine = idsInPartition(ids.slice(0, 10), { index: 2, count: 3 });
    const topics = partitionTopics(ids.slice(0, 10), { index: 2, count: 3 }, mqtt);
    expect(topics).toEqual(mine.flatMap((id) => [`tuojiang/water/${id}`, `tuojiang/air/${id}`]));
    expect(topics.some((t) => /[+#]/.test(t))).toBe(false);
    // Only the media the subscriptions name.
    expect(partitionTopics(['s001'], { index: 1, count: 1 }, { topic_prefix: 'tj', subscriptions: ['tj/air/+'] })).toEqual(['tj/air/s001']);
  });
});
