/**
 * The operators' interfaces with a real Redis: the HTTP API (a token per operator and city; a token
 * of one city can never act as the other) and `tuojiang thresholds …` run in-process.
 */
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOperatorToken, OperatorDirectory } from '../../alerts/threshold-store/operators.js';
import { ThresholdStore } from '../../alerts/threshold-store/store.js';
import { loadThresholdsFile } from '../../alerts/thresholds.js';
import { handleThresholdsRequest, startThresholdsApi, type ThresholdsApi } from '../../api/thresholds-routes.js';
import { registerThresholdsCommands } from '../../cli/commands/thresholds.js';
import { loadConfig } from '../../config/load.js';
import { isTuojiangError } from '../../lib/errors.js';
import { startServices } from '../../devtools/local-services/index.js';

const { dir, registry } = loadConfig();
const seedSet = loadThresholdsFile(join(dir, 'thresholds.yaml'), registry);

let services: Awaited<ReturnType<typeof startServices<{ redis: { appendonly: false } }>>>;
let redis: Redis;
let operatorsFile: string;
const tokens: Record<string, string> = {};
const savedEnv = { ...process.env };

beforeAll(async () => {
  services = await startServices({ redis: { appendonly: false } });
  redis = new Redis(services.redis.url, { maxRetriesPerRequest: null });
  operatorsFile = join(mkdtempSync(join(tmpdir(), 'tj-ops-')), 'operators.yaml');
  copyFileSync(join(dir, 'operators.yaml'), operatorsFile);
  for (const id of ['cd-wang', 'cd-li', 'zy-zhang']) tokens[id] = createOperatorToken(operatorsFile, registry, id).token;
  process.env.REDIS_URL = services.redis.url;
  process.env.INFLUX_URL = 'http://127.0.0.1:9'; // nothing listens: versions wait in the outbox for the workers
  process.env.TUOJIANG_OPERATORS = operatorsFile;
}, 120_000);

afterAll(async () => {
  process.env = savedEnv;
  await redis?.quit();
  await services?.stopAll();
});

async function seededStore(): Promise<{ store: ThresholdStore; prefix: string }> {
  const prefix = `thr${randomBytes(3).toString('hex')}`;
  const store = new ThresholdStore({ redis, registry, prefix });
  await store.seed(seedSet);
  return { store, prefix };
}

interface Answer {
  status: number;
  body: Record<string, unknown> & { error?: { code: string; message: string } };
  text: string;
  headers: Headers;
}

function client(api: { url: string }) {
  return async (method: string, path: string, token?: string, body?: unknown): Promise<Answer> => {
    const res = await fetch(`${api.url}${path}`, {
      method,
      headers: {
        ...(token ? { Authorization: `Bearer ${token}` } : {}),
        ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    let parsed: Answer['body'] = {};
    try {
      parsed = JSON.parse(text) as Answer['body'];
    } catch {
      // YAML export
    }
    return { status: res.status, body: parsed, text, headers: res.headers };
  };
}

describe('HTTP API', () => {
  let api: ThresholdsApi;
  let store: ThresholdStore;
  let call: ReturnType<typeof client>;

  beforeAll(async () => {
    ({ store } = await seededStore());
    api = await startThresholdsApi({ store, operators: new OperatorDirectory(operatorsFile, registry, { checkEveryMs: 0 }) });
    call = client(api);
  });
  afterAll(async () => api?.close());

  it('refuses requests without a valid token', async () => {
    const none = await call('GET', '/thresholds');
    expect(none.status).toBe(401);
    expect(none.body.error?.code).toBe('TJ_OPERATOR_UNAUTHENTICATED');
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect((await call('GET', '/thresholds', 'tjop_not-a-token')).status).toBe(401);
    expect(
      (await call('POST', '/thresholds/proposals', undefined, { station: 'shiqiao', param: 'NH3N', value: 0.7, why: 'w' })).status,
    ).toBe(401);
    expect((await store.current()).version).toBe(1);
  });

  it('a token says who acts: the overview names the operator and city', async () => {
    const r = await call('GET', '/thresholds', tokens['cd-wang']);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ you: { operator: 'cd-wang', city: 'chengdu' }, current: { version: 1, kind: 'seed' }, pending: [] });
    expect(r.body.explicit).toEqual([expect.objectContaining({ path: 'stations.shiqiao.limits.NH3N', limit: 0.8 })]);
  });

  it('tokens of one city cannot act as the other', async () => {
    const claimCity = await call('POST', '/thresholds/proposals', tokens['cd-wang'], {
      city: 'ziyang',
      station: 'shiqiao',
      param: 'NH3N',
      value: 0.9,
      why: 'w',
    });
    expect(claimCity.status).toBe(403);
    expect(claimCity.body.error?.code).toBe('TJ_OPERATOR_FORBIDDEN');
    expect((await call('GET', '/thresholds?operator=zy-zhang', tokens['cd-wang'])).status).toBe(403);
    expect(await store.proposals('all')).toEqual([]);

    const p = await call('POST', '/thresholds/proposals', tokens['cd-wang'], {
      city: 'chengdu',
      station: 'shiqiao',
      param: 'NH3N',
      value: '0.9',
      why: 'stripping stage added',
    });
    expect(p.status).toBe(201);
    expect(p.body).toMatchObject({ outcome: 'pending', proposal: { id: 'p1', by: 'cd-wang', city: 'chengdu', needs: ['ziyang'] } });
    // another Chengdu operator's token cannot give Ziyang's consent, nor can a body claiming Ziyang
    const sameCity = await call('POST', '/thresholds/proposals/p1/approve', tokens['cd-li'], {});
    expect(sameCity.status).toBe(403);
    expect(sameCity.body.error?.code).toBe('TJ_THRESHOLD_APPROVAL_REFUSED');
    const claim = await call('POST', '/thresholds/proposals/p1/approve', tokens['cd-li'], { city: 'ziyang', operator: 'zy-zhang' });
    expect(claim.status).toBe(403);
    expect(claim.body.error?.code).toBe('TJ_OPERATOR_FORBIDDEN');
    expect((await store.current()).version).toBe(1);
    const ok = await call('POST', '/thresholds/proposals/p1/approve', tokens['zy-zhang'], { comment: 'agreed at the joint meeting' });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({
      outcome: 'applied',
      version: { version: 2, kind: 'loosen', approvals: [{ by: 'zy-zhang', city: 'ziyang', comment: 'agreed at the joint meeting' }] },
    });
    const again = await call('POST', '/thresholds/proposals/p1/approve', tokens['zy-zhang'], {});
    expect([again.status, again.body.error?.code]).toEqual([409, 'TJ_THRESHOLD_PROPOSAL_CLOSED']);
  });

  it('validates input with clear errors and fitting status codes', async () => {
    const cases: Array<[Record<string, unknown>, number, string]> = [
      [{ station: 'shiqiao', param: 'NH4', value: 1, why: 'w' }, 400, 'TJ_THRESHOLD_UNKNOWN_PARAMETER'],
      [{ station: 'shiqao', param: 'NH3N', value: 1, why: 'w' }, 400, 'TJ_THRESHOLD_UNKNOWN_STATION'],
      [{ station: 'shiqiao', param: 'NH3N', value: 0.5, unit: 'mg/m³', why: 'w' }, 400, 'TJ_THRESHOLD_WRONG_UNIT'],
      [{ station: 'shiqiao', param: 'DO', max: 6, why: 'w' }, 400, 'TJ_THRESHOLD_WRONG_BOUND'],
      [{ station: 'shiqiao', param: 'NH3N', value: 'high', why: 'w' }, 400, 'TJ_THRESHOLD_INVALID_VALUE'],
      [{ station: 'shiqiao', param: 'NH3N', value: 0.9, why: 'w' }, 422, 'TJ_THRESHOLD_NO_CHANGE'],
      [{ station: 'shiqiao', param: 'NH3N', value: 2, why: 'w' }, 422, 'TJ_THRESHOLD_BELOW_STANDARD'],
    ];
    for (const [body, status, code] of cases) {
      const r = await call('POST', '/thresholds/proposals', tokens['zy-zhang'], body);
      expect([r.status, r.body.error?.code], JSON.stringify(body)).toEqual([status, code]);
      expect(r.body.error?.message).toBeTruthy();
    }
    expect((await call('POST', '/thresholds/proposals', tokens['zy-zhang'], '{not json')).status).toBe(400);
    expect((await call('POST', '/thresholds/proposals', tokens['zy-zhang'], '[1]')).status).toBe(400);
    // The API names its JSON fields, not the CLI's flags.
    const noWhy = await call('POST', '/thresholds/proposals', tokens['zy-zhang'], { station: 'shiqiao', param: 'NH3N', value: 0.8 });
    expect(noWhy.body.error?.message).toMatch(/^`why` is required: say why/);
    const notNumber = await call('POST', '/thresholds/proposals', tokens['zy-zhang'], {
      station: 'shiqiao',
      param: 'NH3N',
      value: 'high',
      why: 'w',
    });
    expect(notNumber.body.error?.message).toBe('`value` for NH3N must be a number, got "high"');
    const badUntil = await call('POST', '/thresholds/proposals', tokens['zy-zhang'], {
      station: 'shiqiao',
      param: 'NH3N',
      value: 2,
      why: 'w',
      exception: { reason: 'r', until: 'tomorrow' },
    });
    expect(badUntil.body.error?.message).toMatch(/^`exception\.until` must be an ISO 8601 date-time/);
    for (const r of [noWhy, notNumber, badUntil]) expect(r.body.error?.message).not.toContain('--');
  });

  it('reads: version, limits at a station, history, diff, export, proposals', async () => {
    const t = await call('POST', '/thresholds/proposals', tokens['zy-zhang'], {
      station: 'linjiangsi',
      param: 'DO',
      value: 6,
      why: 'fish spawning',
    });
    expect(t.body).toMatchObject({
      outcome: 'applied',
      version: { version: 3, kind: 'tighten', by: 'zy-zhang', city: 'ziyang', announce: ['chengdu'] },
    });
    const v = await call('GET', '/thresholds/versions/current', tokens['cd-li']);
    expect(v.body).toMatchObject({ version: 3, config: { stations: { linjiangsi: { limits: { DO: { min: 6 } } } } } });
    const at = await call('GET', '/thresholds/versions/3?station=linjiangsi', tokens['cd-li']);
    expect((at.body.limits as Array<Record<string, unknown>>).find((l) => l.param === 'DO')).toEqual({
      param: 'DO',
      period: 'hour',
      limit: '≥ 6 mg/L',
      basis: 'thresholds',
      national: '≥ 5 mg/L',
    });
    const h = await call('GET', '/thresholds/history?limit=2', tokens['cd-li']);
    expect((h.body as unknown as Array<{ version: number }>).map((x) => x.version)).toEqual([2, 3]);
    const d = await call('GET', '/thresholds/diff?from=1&to=3', tokens['cd-li']);
    expect(d.body.changes).toEqual([
      { path: 'stations.linjiangsi', to: { limits: { DO: { min: 6 } } } },
      { path: 'stations.shiqiao.limits.NH3N', from: 0.8, to: 0.9 },
    ]);
    const y = await call('GET', '/thresholds/export?version=2', tokens['cd-li']);
    expect(y.headers.get('content-type')).toMatch(/^text\/yaml/);
    expect(y.text).toMatch(/^# Unified thresholds, version 2/);
    expect(((await call('GET', '/thresholds/proposals?status=all', tokens['cd-li'])).body as unknown as unknown[]).length).toBe(1);
    expect((await call('GET', '/thresholds/proposals/p1', tokens['cd-li'])).body).toMatchObject({ status: 'applied', appliedVersion: 2 });
    expect((await call('GET', '/thresholds/proposals/p9', tokens['cd-li'])).status).toBe(404);
    expect((await call('GET', '/thresholds/versions/99', tokens['cd-li'])).status).toBe(404);
    expect((await call('GET', '/thresholds/nothing', tokens['cd-li'])).status).toBe(404);
    expect((await call('DELETE', '/thresholds/proposals/p1', tokens['cd-li'])).status).toBe(405);
  });

  it('a token created later works without a restart; a new token of Ziyang acts for Ziyang only', async () => {
    const { token } = createOperatorToken(operatorsFile, registry, 'zy-chen');
    const r = await call('POST', '/thresholds/proposals', token, { station: 'ziyang-city', param: 'NH3N', value: 0.95, why: 'w' });
    expect(r.body).toMatchObject({ outcome: 'applied', version: { by: 'zy-chen', city: 'ziyang' } });
  });

  it('mounts in another server: other paths are left to it', async () => {
    const operators = new OperatorDirectory(operatorsFile, registry);
    const server = createServer((req, res) => {
      void handleThresholdsRequest(req, res, { store, operators }).then((handled) => {
        if (!handled) res.end('the rest of tuojiang api');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      expect(await (await fetch(`${url}/healthz`)).text()).toBe('the rest of tuojiang api');
      expect(await (await fetch(`${url}/thresholdsX`)).text()).toBe('the rest of tuojiang api');
      expect((await fetch(`${url}/thresholds`)).status).toBe(401);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

/** Runs one `tuojiang thresholds …` command in-process and returns what it printed. */
async function run(args: string[], env: Record<string, string | undefined> = {}): Promise<string> {
  const program = new Command('tuojiang').exitOverride();
  registerThresholdsCommands(program);
  let out = '';
  const write = process.stdout.write.bind(process.stdout);
  const saved = { TUOJIANG_OPERATOR: process.env.TUOJIANG_OPERATOR, TUOJIANG_CITY: process.env.TUOJIANG_CITY };
  Object.assign(process.env, env);
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete process.env[k];
  process.stdout.write = ((chunk: string | Uint8Array) => {
    out += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString();
    return true;
  }) as typeof process.stdout.write;
  try {
    await program.parseAsync(['node', 'tuojiang', 'thresholds', ...args]);
  } finally {
    process.stdout.write = write;
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
  return out;
}

async function cliError(args: string[], env: Record<string, string | undefined> = {}): Promise<string> {
  try {
    await run(args, env);
  } catch (e) {
    if (isTuojiangError(e)) return `${e.code}: ${e.message}`;
    throw e;
  }
  throw new Error('expected an error');
}

const AS_CD = { TUOJIANG_OPERATOR: 'cd-wang', TUOJIANG_CITY: 'chengdu' };
const AS_ZY = { TUOJIANG_OPERATOR: 'zy-zhang', TUOJIANG_CITY: 'ziyang' };

describe('tuojiang thresholds', () => {
  it('seed, propose, approve, reject, list, show, history, diff and export', async () => {
    const prefix = `cli${randomBytes(3).toString('hex')}`;
    const P = ['--prefix', prefix];
    expect(await run(['seed', ...P])).toBe('seeded version 1 from thresholds.yaml\n');
    expect(await run(['seed', ...P])).toContain('already has versions (head v1)');

    const t = JSON.parse(
      await run(
        [
          'propose',
          '--station',
          'shiqiao',
          '--param',
          'NH3N',
          '--value',
          '700',
          '--unit',
          'µg/L',
          '--why',
          'intake protection',
          '--json',
          ...P,
        ],
        AS_CD,
      ),
    );
    expect(t).toMatchObject({ outcome: 'applied', version: { version: 2, from: 0.8, to: 0.7, by: 'cd-wang', city: 'chengdu' } });

    const loosen = await run(
      ['propose', '--station', 'shiqiao', '--param', 'NH3N', '--value', '0.9', '--why', 'works upgraded', ...P],
      AS_ZY,
    );
    expect(loosen).toMatch(
      /^proposal p1 waits for chengdu \(expires .*\); nothing changes until then\n {2}待批准放宽：石桥水厂取水口 氨氮 ≤ 0\.7 mg\/L → ≤ 0\.9 mg\/L/,
    );
    expect(await cliError(['approve', 'p1', ...P], { TUOJIANG_OPERATOR: 'zy-chen', TUOJIANG_CITY: 'ziyang' })).toMatch(
      /^TJ_THRESHOLD_APPROVAL_REFUSED: p1: a loosening proposed in ziyang needs an operator of chengdu/,
    );

    const list = await run(['list', ...P], { TUOJIANG_CITY: 'ziyang', TUOJIANG_OPERATOR: undefined });
    expect(list).toContain('v2    ');
    expect(list).toContain('stations.shiqiao.limits.NH3N         ≤ 0.7 mg/L');
    expect(list).toMatch(/pending proposals:\n {2}p1 {4}loosen/);
    expect(list).toMatch(/changes announced to ziyang \(7 days\):\n {2}v2 /);

    expect(await run(['approve', 'p1', '--comment', 'fine', ...P], { TUOJIANG_OPERATOR: 'cd-li', TUOJIANG_CITY: 'chengdu' })).toMatch(
      /^approved: applied as version 3\n/,
    );
    expect(JSON.parse(await run(['show', 'p1', '--json', ...P]))).toMatchObject({
      status: 'applied',
      appliedVersion: 3,
      approvals: [{ by: 'cd-li', comment: 'fine' }],
    });
    expect(await run(['show', '--station', 'shiqiao', ...P])).toMatch(/\n {2}NH3N +hour +≤ 0\.9 mg\/L +thresholds +national ≤ 1 mg\/L\n/);

    // Narrower than pH 6–9 (GB 3838 class I) is past the sanity floor: it waits for Chengdu.
    expect(
      await run(
        ['propose', '--section', '0', '--param', 'pH', '--min', '6.5', '--max', '8.5', '--why', 'drinking-water reach', ...P],
        AS_ZY,
      ),
    ).toMatch(/^proposal p2 waits for chengdu/);
    expect(await run(['approve', 'p2', ...P], AS_CD)).toMatch(/^approved: applied as version 4\n/); // v4
    const r = await run(['propose', '--defaults', '--param', 'TP', '--clear', '--why', 'n/a', ...P], AS_CD).catch((e: unknown) => e);
    expect(isTuojiangError(r) && r.code).toBe('TJ_THRESHOLD_NO_CHANGE');
    await run(['propose', '--station', 'hongyuan', '--param', 'NH3N', '--value', '0.95', '--why', 'maybe', ...P], AS_CD); // v5: 1.0 → 0.95 tightens
    await run(['propose', '--station', 'hongyuan', '--param', 'NH3N', '--value', '1', '--why', 'back', ...P], AS_CD); // p3: loosens, waits
    expect(await run(['reject', 'p3', '--why', 'not now', ...P], AS_ZY)).toBe('rejected p3\n');

    const history = (await run(['history', '--json', ...P]))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { version: number; kind: string; by: string });
    expect(history.map((v) => [v.version, v.kind, v.by])).toEqual([
      [1, 'seed', 'system'],
      [2, 'tighten', 'cd-wang'],
      [3, 'loosen', 'zy-zhang'],
      [4, 'floor', 'zy-zhang'],
      [5, 'tighten', 'cd-wang'],
    ]);
    expect(await run(['history', '--station', 'hongyuan', ...P])).toMatch(/^v1[\s\S]*v5 /);

    const diff = await run(['diff', '2', '3', ...P]);
    expect(diff).toMatch(/^v2 → v3: 1 key\(s\) differ\n {2}stations\.shiqiao\.limits\.NH3N: 0\.7 → 0\.9\nversions between:\n {2}v3 /);
    expect(JSON.parse(await run(['diff', 'v1', '--json', ...P])).versions).toHaveLength(4);

    const yaml = await run(['export', ...P]);
    expect(yaml).toMatch(/^# Unified thresholds, version 5/);
    const file = join(mkdtempSync(join(tmpdir(), 'tj-export-')), 'thresholds.yaml');
    await run(['export', '--version', '3', '--out', file, ...P]);
    expect(loadThresholdsFile(file, registry).config.stations.shiqiao?.limits?.NH3N).toBe(0.9);
  });

  it("refuses a missing or mismatched operator, a city claimed by the other city's operator, and bad input", async () => {
    const prefix = `cli${randomBytes(3).toString('hex')}`;
    const P = ['--prefix', prefix];
    const args = ['propose', '--station', 'shiqiao', '--param', 'NH3N', '--value', '0.7', '--why', 'w', ...P];
    expect(await cliError(args, { TUOJIANG_OPERATOR: undefined, TUOJIANG_CITY: undefined })).toMatch(
      /^TJ_OPERATOR_UNKNOWN: who is acting\?/,
    );
    expect(await cliError(args, { TUOJIANG_OPERATOR: 'cd-zhao', TUOJIANG_CITY: 'chengdu' })).toMatch(
      /^TJ_OPERATOR_UNKNOWN: operator "cd-zhao" is not listed/,
    );
    expect(await cliError([...args, '--operator', 'cd-wang', '--city', 'ziyang'])).toBe(
      'TJ_OPERATOR_FORBIDDEN: operator "cd-wang" belongs to chengdu, not ziyang',
    );
    expect(await cliError(['propose', '--station', 'shiqiao', '--param', 'NH3N', '--value', 'abc', '--why', 'w', ...P], AS_CD)).toBe(
      'TJ_THRESHOLD_INVALID_VALUE: --value for NH3N must be a number, got "abc"',
    );
    expect(
      await cliError(['propose', '--station', 'shiqiao', '--param', 'NH3N', '--value', '1.2', '--why', 'w', '--reason', 'r', ...P], AS_CD),
    ).toMatch(/^TJ_THRESHOLD_EXCEPTION_INVALID: --reason and --until belong to an exception/);
    expect(await cliError(['propose', '--station', 'shiqiao', '--param', 'DO', '--max', '6', '--why', 'w', ...P], AS_CD)).toMatch(
      /^TJ_THRESHOLD_WRONG_BOUND: DO is a lower bound \(GB 3838: a value at or above the limit meets it\); give --value or --min, not --max/,
    );
    // The store names fields; the CLI shows them as its flags.
    expect(await cliError(['propose', '--station', 'shiqiao', '--param', 'NH3N', '--value', '0.8', ...P], AS_CD)).toMatch(
      /^TJ_THRESHOLD_INVALID_VALUE: --why is required: say why/,
    );
    expect(await cliError(['diff', 'three', ...P])).toMatch(/^TJ_THRESHOLD_VERSION_NOT_FOUND/);
    expect(await cliError(['show', ...P.map((p) => (p === prefix ? `${prefix}-empty` : p))])).toMatch(/^TJ_THRESHOLD_STORE_EMPTY/);
  });

  it('token create prints the token once and records only its hash', async () => {
    const out = JSON.parse(await run(['token', 'create', '--operator', 'cd-li', '--label', 'duty phone', '--json']));
    expect(out).toMatchObject({ operator: 'cd-li', city: 'chengdu', file: operatorsFile });
    expect(readFileSync(operatorsFile, 'utf8')).not.toContain(out.token);
    expect(new OperatorDirectory(operatorsFile, registry).authenticate(out.token)).toMatchObject({ id: 'cd-li', city: 'chengdu' });
  });
});
