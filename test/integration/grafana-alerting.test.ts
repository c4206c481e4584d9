/**
 * The provisioned Grafana alert rules (dashboards/provisioning/alerting/), checked as far as that
 * is possible without Grafana: the file's structure (Grafana's file-provisioning format for
 * contact points, notification policies and rule groups), that every reference resolves (the data
 * source uid, the folder of the dashboards, expression refIds, the contact point, the environment
 * Grafana gets in docker-compose.yml), that every field a query reads is one the services write,
 * and that every query runs on a real InfluxDB: written a healthy minute, no rule's condition
 * holds; written a sick one, every rule's does (its reduce and threshold evaluated here as
 * Grafana's server-side expressions define them).
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ALERTS_MEASUREMENT } from '../../alerts/outbox-relay.js';
import { HEALTH_FIELDS, PIPELINE_HEALTH_MEASUREMENT } from '../../lib/health-reporter.js';
import { InfluxClient } from '../../lib/influx/client.js';
import { encodePoint } from '../../lib/influx/line-protocol.js';
import { startInfluxdb, type InfluxdbHandle } from '../../devtools/local-services/index.js';
import { ROOT } from '../helpers/compose-services.js';

interface Query {
  refId: string;
  datasourceUid: string;
  relativeTimeRange?: { from: number; to: number };
  model: Record<string, unknown>;
}
interface Rule {
  uid: string;
  title: string;
  condition: string;
  for: string;
  noDataState: string;
  execErrState: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  data: Query[];
}
interface AlertingFile {
  apiVersion: number;
  contactPoints: Array<{ orgId: number; name: string; receivers: Array<{ uid: string; type: string; settings: Record<string, unknown> }> }>;
  policies: Array<{ orgId: number; receiver: string; group_by: string[] }>;
  groups: Array<{ orgId: number; name: string; folder: string; interval: string; rules: Rule[] }>;
}

const DIR = join(ROOT, 'dashboards/provisioning/alerting');
const files = readdirSync(DIR).filter((f) => f.endsWith('.yaml'));
const alerting = parse(readFileSync(join(DIR, files[0] as string), 'utf8')) as AlertingFile;
const rules = alerting.groups.flatMap((g) => g.rules);
const DURATION = /^\d+[smh]$/;

describe('provisioned alert rules: structure', () => {
  it("is one file in Grafana's provisioning format, sending to a contact point that the default policy uses", () => {
    expect(files).toEqual(['tuojiang-platform.yaml']);
    expect(alerting.apiVersion).toBe(1);
    const [cp] = alerting.contactPoints;
    expect(cp?.receivers.map((r) => r.type)).toEqual(['email']);
    expect(alerting.policies.map((p) => p.receiver)).toEqual([cp?.name]);
    // The addresses come from Grafana's environment, which docker-compose.yml sets (required).
    const addresses = String(cp?.receivers[0]?.settings.addresses);
    const variable = /^\$\{([A-Z_]+)\}$/.exec(addresses)?.[1];
    expect(variable).toBeDefined();
    const compose = parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
      services: Record<string, { environment: Record<string, string>; volumes: string[] }>;
    };
    expect(compose.services.grafana?.environment[variable as string]).toMatch(new RegExp(`^\\$\\{${variable}:\\?`));
    expect(compose.services.grafana?.environment.GF_SMTP_ENABLED).toBe('true');
    expect(compose.services.grafana?.volumes).toContain('./dashboards/provisioning/alerting:/etc/grafana/provisioning/alerting:ro');
  });

  it("puts the rules in the dashboards' folder and names each one uniquely", () => {
    const provider = parse(readFileSync(join(ROOT, 'dashboards/provisioning/dashboards/tuojiang.yaml'), 'utf8')) as {
      providers: Array<{ folder: string }>;
    };
    for (const g of alerting.groups) {
      expect(g.folder).toBe(provider.providers[0]?.folder);
      expect(g.interval).toMatch(DURATION);
    }
    const uids = rules.map((r) => r.uid);
    expect(new Set(uids).size).toBe(uids.length);
    for (const uid of uids) expect(uid).toMatch(/^[A-Za-z0-9_-]{1,40}$/);
    // What the issue asks the platform to watch.
    expect(uids.sort()).toEqual([
      'tj-checks-stuck',
      'tj-dead-letter-rate',
      'tj-disk-free',
      'tj-email-failing',
      'tj-ingest-not-ready',
      'tj-ingest-partition-missing',
      'tj-journal-backlog',
      'tj-redis-memory',
      'tj-silent-stations',
    ]);
  });

  it('gives every rule a resolvable condition, states Grafana knows, a summary and what to do', () => {
    const datasource = parse(readFileSync(join(ROOT, 'dashboards/provisioning/datasources/tuojiang-influxdb.yaml'), 'utf8')) as {
      datasources: Array<{ uid: string }>;
    };
    const dsUid = datasource.datasources[0]?.uid;
    for (const r of rules) {
      expect(r.for, r.uid).toMatch(DURATION);
      expect(['Alerting', 'NoData', 'OK'], r.uid).toContain(r.noDataState);
      expect(['Alerting', 'Error', 'OK'], r.uid).toContain(r.execErrState);
      expect(r.annotations?.summary, r.uid).toBeTruthy();
      expect(r.annotations?.description, r.uid).toBeTruthy();
      expect(['critical', 'warning'], r.uid).toContain(r.labels?.severity);
      const refIds = r.data.map((d) => d.refId);
      expect(new Set(refIds).size, r.uid).toBe(refIds.length);
      expect(refIds, r.uid).toContain(r.condition);
      const seen = new Set<string>();
      for (const d of r.data) {
        expect(d.model.refId, `${r.uid} ${d.refId}`).toBe(d.refId);
        if (d.datasourceUid === '__expr__') {
          expect(['reduce', 'threshold', 'math'], `${r.uid} ${d.refId}`).toContain(d.model.type);
          expect(seen.has(String(d.model.expression)), `${r.uid} ${d.refId} refers to an earlier query`).toBe(true);
          if (d.model.type === 'reduce') {
            expect(['last', 'sum', 'max', 'min', 'mean', 'count']).toContain(d.model.reducer);
            // InfluxDB answers null for an empty minute (the current one, often): in Grafana's strict
            // mode that makes the reduction NaN and the rule never fires.
            expect(d.model.settings, `${r.uid} ${d.refId} drops non-numbers`).toEqual({ mode: 'dropNN' });
          }
          if (d.model.type === 'threshold') {
            const conds = d.model.conditions as Array<{ evaluator: { type: string; params: number[] } }>;
            expect(conds.length).toBe(1);
            expect(['gt', 'lt']).toContain(conds[0]?.evaluator.type);
            expect(conds[0]?.evaluator.params.every(Number.isFinite)).toBe(true);
          }
        } else {
          expect(d.datasourceUid, r.uid).toBe(dsUid);
          expect(d.relativeTimeRange?.from, r.uid).toBeGreaterThan(0);
          const q = String(d.model.query);
          // Grafana expands $NAME from its environment in provisioning files: no `$` in a query.
          expect(q, r.uid).not.toContain('$');
          expect(d.model.rawQuery, r.uid).toBe(true);
        }
        seen.add(d.refId);
      }
    }
  });

  it('reads only fields and tags the services write', () => {
    const health = new Set(Object.keys(HEALTH_FIELDS));
    for (const r of rules) {
      for (const d of r.data.filter((x) => x.datasourceUid !== '__expr__')) {
        const q = String(d.model.query);
        const measurements = [...q.matchAll(/FROM "([a-z_]+)"/g)].map((m) => m[1]);
        for (const m of measurements) expect([PIPELINE_HEALTH_MEASUREMENT, ALERTS_MEASUREMENT], r.uid).toContain(m);
        for (const f of [...q.matchAll(/\b(?:max|min|last|count|sum|distinct)\("([a-z_]+)"\)/g)].map((m) => m[1] as string)) {
          if (measurements.includes(ALERTS_MEASUREMENT)) expect(['event_id'], r.uid).toContain(f);
          else if (!['rejected', 'failed'].includes(f)) expect(health.has(f), `${r.uid}: ${f} is a pipeline_health field`).toBe(true);
        }
      }
    }
  });
});

/** The health fields of a partitioned ingest's point (ingest/ingest-service.ts). */
const partitioned = (index: number, count: number) => ({ partition_index: index, partition_count: count });

/** An ingest's health point as ingest/ingest-service.ts writes it: N also as the tag `partitions` when partitioned. */
const ingestPoint = (ts: number, f: Record<string, number>, instance: string) =>
  encodePoint({
    measurement: PIPELINE_HEALTH_MEASUREMENT,
    tags: { service: 'ingest', instance, ...(f.partition_count ? { partitions: String(f.partition_count) } : {}) },
    fields: f,
    ts,
  });

/** Grafana's reduce and threshold expressions over the series a query returned. */
function evaluate(rule: Rule, results: Record<string, Array<Array<number | null>>>): boolean | 'nodata' {
  const values: Record<string, number | undefined> = {};
  for (const d of rule.data) {
    if (d.datasourceUid !== '__expr__') continue;
    const input = String(d.model.expression);
    if (d.model.type === 'reduce') {
      const all = (results[input] ?? []).map((p) => p[1]);
      if (all.length === 0) return 'nodata';
      // Grafana's modes: strict (no mode) gives NaN for a sum with any null and for a last that is
      // null (an empty GROUP BY time bucket, the current minute's included); dropNN drops them first.
      const dropNN = (d.model.settings as { mode?: string } | undefined)?.mode === 'dropNN';
      const points = dropNN ? all.filter((v): v is number => typeof v === 'number') : all.map((v) => (typeof v === 'number' ? v : NaN));
      if (points.length === 0) return 'nodata';
      values[d.refId] = d.model.reducer === 'sum' ? points.reduce((a, b) => a + b, 0) : points.at(-1);
    } else if (d.model.type === 'threshold') {
      const v = values[input] as number;
      const { type, params } = (d.model.conditions as Array<{ evaluator: { type: string; params: number[] } }>)[0]?.evaluator ?? {
        type: '',
        params: [],
      };
      values[d.refId] = (type === 'gt' ? v > (params[0] as number) : v < (params[0] as number)) ? 1 : 0;
    }
  }
  return values[rule.condition] === 1;
}

describe('provisioned alert rules: every query on a real InfluxDB', () => {
  let healthyDb: InfluxdbHandle;
  let sickDb: InfluxdbHandle;
  const client = (h: InfluxdbHandle) => new InfluxClient({ url: h.url, database: 'tuojiang' });

  beforeAll(async () => {
    [healthyDb, sickDb] = await Promise.all([startInfluxdb(), startInfluxdb()]);
    const now = Date.now();
    const ingest = (ts: number, f: Record<string, number>, instance = 'ingest-1') => ingestPoint(ts, f, instance);
    const notify = (ts: number, f: Record<string, number>) =>
      encodePoint({ measurement: PIPELINE_HEALTH_MEASUREMENT, tags: { service: 'notify', instance: 'n1' }, fields: f, ts });
    const alerts = (ts: number, f: Record<string, number>) =>
      encodePoint({ measurement: PIPELINE_HEALTH_MEASUREMENT, tags: { service: 'alerts', instance: 'a1' }, fields: f, ts });
    // Partition 1 of 2 (INGEST_PARTITION=1/2); partition 2/2 is another process, below.
    const good = {
      ready: 1,
      journal_backlog: 12,
      readings_rejected: 3,
      disk_free_ratio: 0.6,
      redis_memory_ratio: 0.1,
      ...partitioned(1, 2),
    };
    const bad = {
      ready: 0,
      journal_backlog: 50_000,
      readings_rejected: 900,
      disk_free_ratio: 0.05,
      redis_memory_ratio: 0.97,
      ...partitioned(1, 2),
    };
    const silence = encodePoint({
      measurement: ALERTS_MEASUREMENT,
      tags: { station: 'zhaozhen', city: 'chengdu', parameter: 'silence', rule: 'silence', state: 'firing', period: 'station' },
      fields: { event_id: 'e1', kind: 'transition' },
      ts: now - 5 * 60_000,
    });
    const resolved = encodePoint({
      measurement: ALERTS_MEASUREMENT,
      tags: { station: 'zhaozhen', city: 'chengdu', parameter: 'silence', rule: 'silence', state: 'resolved', period: 'station' },
      fields: { event_id: 'e0', kind: 'transition' },
      ts: now - 5 * 60_000,
    });
    for (const [db, lines] of [
      [
        healthyDb,
        [
          ingest(now - 8 * 60_000, { ...good, readings_rejected: 0 }),
          ingest(now - 30_000, good),
          ingest(now - 40_000, { ready: 1, ...partitioned(2, 2) }, 'ingest-2'),
          notify(now - 8 * 60_000, { emails_sent: 1, emails_failed: 2 }),
          notify(now - 30_000, { emails_sent: 5, emails_failed: 2 }),
          // Late checks the sweep has just given jobs are not (yet) stuck.
          alerts(now - 30_000, { check_jobs_waiting: 0, check_series_overdue: 3, check_series_stuck: 0 }),
          resolved,
        ],
      ],
      [
        sickDb,
        [
          ingest(now - 8 * 60_000, { ...bad, readings_rejected: 0 }),
          ingest(now - 30_000, bad),
          // Partition 2/2 wrote its last point 8 minutes ago: its process is gone.
          ingest(now - 8 * 60_000, { ready: 1, ...partitioned(2, 2) }, 'ingest-2'),
          notify(now - 8 * 60_000, { emails_sent: 1, emails_failed: 2 }),
          notify(now - 30_000, { emails_sent: 1, emails_failed: 7 }),
          alerts(now - 30_000, { check_jobs_waiting: 0, check_series_overdue: 3, check_series_stuck: 1 }),
          silence,
        ],
      ],
    ] as const) {
      await client(db).ensureDatabase();
      await client(db).writeLines([...lines]);
    }
  }, 60_000);

  afterAll(async () => {
    await Promise.all([healthyDb?.destroy(), sickDb?.destroy()]);
  });

  /**
   * As Grafana evaluates a rule: each series of its query (a GROUP BY by tag gives several) is an
   * alert instance of its own; the rule fires when any does, and has no data when none has.
   */
  const run = async (db: InfluxdbHandle, rule: Rule) => {
    const queries = rule.data.filter((x) => x.datasourceUid !== '__expr__');
    expect(queries, `${rule.uid}: one query`).toHaveLength(1);
    const [query] = queries as [Query];
    const series = await client(db).query(String(query.model.query));
    const verdicts = series.map((s) => evaluate(rule, { [query.refId]: s.values as Array<Array<number | null>> }));
    if (verdicts.includes(true)) return true;
    return verdicts.includes(false) ? false : 'nodata';
  };

  it('no rule fires on a healthy platform (quiet rules may see no data, which they treat as OK)', async () => {
    for (const r of rules) {
      const verdict = await run(healthyDb, r);
      if (verdict === 'nodata') expect(r.noDataState, `${r.uid}: no data on a healthy platform`).toBe('OK');
      else expect(verdict, r.uid).toBe(false);
    }
  });

  it('every rule fires on a sick one', async () => {
    for (const r of rules) expect(await run(sickDb, r), r.uid).toBe(true);
  });

  it('the partition rule: quiet unpartitioned and while N changes, firing for each partition missing', async () => {
    const r = rules.find((x) => x.uid === 'tj-ingest-partition-missing') as Rule;
    const db = await startInfluxdb();
    const now = Date.now();
    const at = (ts: number, instance: string, f: Record<string, number>) => ingestPoint(ts, { ready: 1, ...f }, instance);
    // A running process writes a point every 10 s: several in the rule's five minutes.
    const live = (instance: string, f: Record<string, number>) => [20_000, 90_000, 160_000].map((ago) => at(now - ago, instance, f));
    const write = async (lines: string[]) => {
      await client(db).query('DROP SERIES FROM "pipeline_health"');
      await client(db).writeLines(lines);
    };
    /** How many are missing, per N. */
    const missing = async (): Promise<Record<string, unknown>> =>
      Object.fromEntries(
        (await client(db).query(String(r.data.find((d) => d.refId === 'A')?.model.query))).map((s) => [
          s.tags?.partitions,
          s.values[0]?.[1],
        ]),
      );
    try {
      await client(db).ensureDatabase();
      // One ingest, unpartitioned: no point has the fields, no data, which the rule takes as OK.
      await write(live('ingest-1', {}));
      expect(await run(db, r)).toBe('nodata');
      expect(r.noDataState).toBe('OK');
      // From 2 to 3 partitions, the documented way: for a while all five report; then the old two stop.
      await write([
        ...live('old-1', partitioned(1, 2)),
        ...live('old-2', partitioned(2, 2)),
        ...live('new-1', partitioned(1, 3)),
        ...live('new-2', partitioned(2, 3)),
        ...live('new-3', partitioned(3, 3)),
      ]);
      expect(await run(db, r)).toBe(false);
      await write([
        at(now - 6 * 60_000, 'old-1', partitioned(1, 2)),
        at(now - 6 * 60_000, 'old-2', partitioned(2, 2)),
        ...live('new-1', partitioned(1, 3)),
        ...live('new-2', partitioned(2, 3)),
        ...live('new-3', partitioned(3, 3)),
      ]);
      expect(await run(db, r)).toBe(false);
      // A new process missing while the old set still runs: old 2/2 does not stand in for new 2/3.
      await write([
        ...live('old-1', partitioned(1, 2)),
        ...live('old-2', partitioned(2, 2)),
        ...live('new-1', partitioned(1, 3)),
        ...live('new-3', partitioned(3, 3)),
      ]);
      expect(await missing()).toEqual({ '2': 0, '3': 1 });
      expect(await run(db, r)).toBe(true);
      // From 3 to 2: the new pair alone, the old three stopped together 6 minutes ago; and while they
      // all still run, neither set is short.
      await write([
        ...live('new-1', partitioned(1, 2)),
        ...live('new-2', partitioned(2, 2)),
        at(now - 6 * 60_000, 'old-3', partitioned(3, 3)),
      ]);
      expect(await run(db, r)).toBe(false);
      await write([
        ...live('old-1', partitioned(1, 3)),
        ...live('old-2', partitioned(2, 3)),
        ...live('old-3', partitioned(3, 3)),
        ...live('new-1', partitioned(1, 2)),
        ...live('new-2', partitioned(2, 2)),
      ]);
      expect(await missing()).toEqual({ '2': 0, '3': 0 });
      // Two of four gone (2 and 4 of 4): the value says how many.
      await write([
        ...live('p1', partitioned(1, 4)),
        at(now - 7 * 60_000, 'p2', partitioned(2, 4)),
        ...live('p3', partitioned(3, 4)),
        at(now - 7 * 60_000, 'p4', partitioned(4, 4)),
      ]);
      expect(await missing()).toEqual({ '4': 2 });
      expect(await run(db, r)).toBe(true);
    } finally {
      await db.destroy();
    }
  });

  it('the readiness rule fires when the ingest writes nothing at all', async () => {
    const r = rules.find((x) => x.uid === 'tj-ingest-not-ready') as Rule;
    const empty = await startInfluxdb();
    try {
      await client(empty).ensureDatabase();
      expect(await run(empty, r)).toBe('nodata');
      expect(r.noDataState).toBe('Alerting');
    } finally {
      await empty.destroy();
    }
  });
});
