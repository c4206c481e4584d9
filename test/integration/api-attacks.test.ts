/**
 * Attacks on `tuojiang api` (issue 11), against the real CLI process with a real Redis: malformed
 * request targets and framing that used to kill the process, slow clients, leaks of operators.yaml
 * errors, Restricted CAP documents, hostile acknowledgements, and guessing of credentials.
 * Every refusal is a 4xx with a stable code, and the process is still alive afterwards.
 */
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ackUrl, capUrl, signAck } from '../../alerts/notify/links.js';
import { NotifyStore } from '../../alerts/notify/store.js';
import { createOperatorToken } from '../../alerts/threshold-store/operators.js';
import { ThresholdStore } from '../../alerts/threshold-store/store.js';
import { loadThresholdsFile } from '../../alerts/thresholds.js';
import { loadConfig } from '../../config/load.js';
import { startServices } from '../../devtools/local-services/index.js';
import { startApiProcess, type ApiProcess } from '../helpers/api-process.js';
import { exchange, rawRequest, type RawResponse } from '../helpers/raw-http.js';

const { dir, registry } = loadConfig();
const SECRET = 'attack-test-ack-secret-0123456789';
const PREFIX = `atk${randomBytes(3).toString('hex')}`;
const ALERT = 'ev.gongchengpu.hour.limit.NH3N.firing.1777564800000';
const EVENT = ALERT;

let services: Awaited<ReturnType<typeof startServices<{ redis: { appendonly: false } }>>>;
let redis: Redis;
let operatorsFile: string;
let token: string;
let api: ApiProcess;

function env(extra: Record<string, string> = {}): Record<string, string> {
  return {
    REDIS_URL: services.redis.url,
    INFLUX_URL: 'http://127.0.0.1:9',
    ACK_SECRET: SECRET,
    PUBLIC_URL: 'http://tuojiang-api.test',
    TUOJIANG_OPERATORS: operatorsFile,
    HTTP_HEADERS_TIMEOUT_MS: '1500',
    HTTP_REQUEST_TIMEOUT_MS: '4000',
    // Ten failures at once, then one per ten minutes: the rate-limit test cannot see a refill.
    API_AUTH_FAILURE_BURST: '10',
    API_AUTH_FAILURES_PER_MIN: '0.1',
    ...extra,
  };
}

beforeAll(async () => {
  services = await startServices({ redis: { appendonly: false } });
  redis = new Redis(services.redis.url, { maxRetriesPerRequest: null });
  operatorsFile = join(mkdtempSync(join(tmpdir(), 'tj-atk-')), 'operators.yaml');
  copyFileSync(join(dir, 'operators.yaml'), operatorsFile);
  token = createOperatorToken(operatorsFile, registry, 'zy-zhang').token;
  await new ThresholdStore({ redis, registry, prefix: PREFIX }).seed(loadThresholdsFile(join(dir, 'thresholds.yaml'), registry));
  // One notified alert with its (Restricted) CAP document, as the notify worker records them.
  const store = new NotifyStore(redis, PREFIX);
  const at = Date.parse('2026-05-01T00:00:00+08:00');
  await store.recordEvent(
    {
      alertId: ALERT,
      station: 'gongchengpu',
      city: 'ziyang',
      period: 'hour',
      key: 'limit.NH3N',
      rule: 'limit',
      parameter: 'NH3N',
      firstAt: at,
      bureaus: ['ziyang'],
      severity: 'warning',
    },
    { id: EVENT, kind: 'firing', at, value: 1.6, limit: 1, catchUp: false, worse: 'max' },
    Date.now(),
  );
  await store.saveCap(
    EVENT,
    '<?xml version="1.0" encoding="UTF-8"?>\n<alert><scope>Restricted</scope><restriction>bureaus</restriction></alert>\n',
  );
  api = await startApiProcess(env(), ['--prefix', PREFIX]);
}, 120_000);

afterAll(async () => {
  await api?.stop();
  redis?.disconnect();
  await services?.stopAll();
});

const codeIn = (r: RawResponse | undefined): string | undefined => {
  if (!r) return undefined;
  try {
    const b = JSON.parse(r.body) as { error?: { code?: string } | string };
    return typeof b.error === 'object' ? b.error.code : undefined;
  } catch {
    return undefined;
  }
};

async function one(data: string, localAddress?: string): Promise<RawResponse> {
  const x = await exchange(api.port, data, { expect: 1, ...(localAddress ? { localAddress } : {}) });
  expect(x.responses, `no answer to ${JSON.stringify(data.slice(0, 80))} (${x.error ?? 'closed'})`).toHaveLength(1);
  return x.responses[0]!;
}

describe('malformed requests never kill tuojiang api', () => {
  it('bad percent-escapes, absolute-form and odd targets: a 4xx with a code, and the process stays up', async () => {
    const cases: Array<[string, number, string]> = [
      ['/ack/%E0%A4%A/x', 400, 'TJ_HTTP_BAD_TARGET'],
      ['/ack/%E0%A4%A/x?exp=1&sig=x', 400, 'TJ_HTTP_BAD_TARGET'],
      ['/thresholds/proposals/%ZZ', 400, 'TJ_HTTP_BAD_TARGET'],
      ['/cap/%C0%AF.xml', 400, 'TJ_HTTP_BAD_TARGET'],
      ['/cap/alert/%FF', 400, 'TJ_HTTP_BAD_TARGET'],
      ['http://[::1', 400, 'TJ_HTTP_BAD_TARGET'],
      ['http://[::1]:80/ack/%E0/x', 400, 'TJ_HTTP_BAD_TARGET'],
      ['//', 404, 'TJ_HTTP_NOT_FOUND'],
      ['//thresholds/x', 404, 'TJ_HTTP_NOT_FOUND'],
      ['*', 400, 'TJ_HTTP_BAD_TARGET'],
      ['/%00', 404, 'TJ_HTTP_NOT_FOUND'],
    ];
    for (const [target, status, code] of cases) {
      const r = await one(rawRequest('GET', target, { Connection: 'close' }));
      expect([target, r.status, codeIn(r)]).toEqual([target, status, code]);
      expect(api.alive(), `the process died on ${target}`).toBe(true);
    }
    // An absolute-form target that parses is served like its path (RFC 9112 §3.2.2).
    expect((await one(rawRequest('GET', 'http://127.0.0.1/healthz', { Connection: 'close' }))).status).toBe(200);
    const connect = await one('CONNECT 127.0.0.1:22 HTTP/1.1\r\nHost: 127.0.0.1:22\r\n\r\n');
    expect([connect.status, codeIn(connect)]).toEqual([405, 'TJ_HTTP_METHOD_NOT_ALLOWED']);
    expect(api.alive()).toBe(true);
  });

  it('broken framing: invalid chunked encoding, bad header bytes, huge headers, garbage; each a 4xx with a code', async () => {
    const cases: Array<[string, string, number, string]> = [
      [
        'invalid chunk size',
        'POST /thresholds/proposals HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\nxx\r\n0\r\n\r\n',
        400,
        'TJ_HTTP_BAD_REQUEST',
      ],
      [
        'chunked and content-length',
        'POST /ack/a/b HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
        400,
        'TJ_HTTP_BAD_REQUEST',
      ],
      [
        'two content-lengths',
        'POST /ack/a/b HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd',
        400,
        'TJ_HTTP_BAD_REQUEST',
      ],
      ['control byte in a header', 'GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\x01b\r\n\r\n', 400, 'TJ_HTTP_BAD_REQUEST'],
      ['space in the target', 'GET /a b HTTP/1.1\r\nHost: x\r\n\r\n', 400, 'TJ_HTTP_BAD_REQUEST'],
      ['unknown method', 'BREW /healthz HTTP/1.1\r\nHost: x\r\n\r\n', 400, 'TJ_HTTP_BAD_REQUEST'],
      ['garbage', '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03', 400, 'TJ_HTTP_BAD_REQUEST'],
      ['huge header', `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`, 431, 'TJ_HTTP_HEADERS_TOO_LARGE'],
    ];
    for (const [what, data, status, code] of cases) {
      const x = await exchange(api.port, data);
      expect([what, x.responses.map((r) => [r.status, codeIn(r)])]).toEqual([what, [[status, code]]]);
      expect(x.closedByServer, what).toBe(true);
      expect(api.alive(), `the process died on: ${what}`).toBe(true);
    }
    // A body shorter than its Content-Length: the server waits, then gives up with 408.
    const short = await exchange(
      api.port,
      `POST /ack/${ALERT}/ziyang HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"by":`,
      { idleMs: 20_000 },
    );
    expect(short.responses.map((r) => [r.status, codeIn(r)])).toEqual([[408, 'TJ_HTTP_TIMEOUT']]);
  });

  it('a slow client trickling its headers (slowloris) is cut off by the headers timeout with a 408', async () => {
    const { connect } = await import('node:net');
    const result = await new Promise<{ text: string; closed: boolean; sent: number }>((resolve) => {
      const sock = connect(api.port, '127.0.0.1');
      let text = '';
      let sent = 0;
      const bytes = 'GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ' + 'a'.repeat(400);
      // One byte every 50 ms for at most 20 s: the server must close long before the bytes run out.
      const timer = setInterval(() => {
        if (sent < bytes.length && !sock.destroyed) sock.write(bytes[sent++]!);
      }, 50);
      sock.on('data', (d: Buffer) => {
        text += d.toString();
      });
      sock.on('error', () => undefined);
      sock.on('close', () => {
        clearInterval(timer);
        resolve({ text, closed: sent < bytes.length, sent });
      });
    });
    expect(result.text).toMatch(/^HTTP\/1\.1 408 /);
    expect(result.text).toContain('TJ_HTTP_TIMEOUT');
    expect(result.closed, `the server let a client trickle all ${result.sent} bytes`).toBe(true);
    expect(api.alive()).toBe(true);
  });
});

describe('operators.yaml errors stay in the server log', () => {
  it('an invalid operators file gives unauthenticated clients a generic 503 with a code; the details go to the log', async () => {
    const broken = join(mkdtempSync(join(tmpdir(), 'tj-atk-ops-')), 'operators.yaml');
    writeFileSync(broken, 'version: 1\noperators:\n  - id: secret-operator-name\n    city: atlantis\n');
    const p = await startApiProcess(env({ TUOJIANG_OPERATORS: broken }), ['--prefix', PREFIX]);
    try {
      const cases: Array<[Record<string, string>, number, string]> = [
        [{}, 401, 'TJ_OPERATOR_UNAUTHENTICATED'],
        [{ Authorization: 'Bearer tjop_guess' }, 503, 'TJ_AUTH_UNAVAILABLE'],
      ];
      for (const [auth, status, code] of cases) {
        const r = await exchange(p.port, rawRequest('GET', '/thresholds', { ...auth, Connection: 'close' }), { expect: 1 });
        const res = r.responses[0]!;
        expect([res.status, codeIn(res)]).toEqual([status, code]);
        for (const leak of ['atlantis', 'secret-operator-name', broken, 'operators.yaml', 'city']) expect(res.body).not.toContain(leak);
      }
      // The log line is written as the server answers; under load it may reach us a moment later.
      let logged = p.logLines().find((l) => l.code === 'TJ_CONFIG_INVALID');
      for (let i = 0; i < 100 && !logged; i++) {
        await new Promise((r) => setTimeout(r, 50));
        logged = p.logLines().find((l) => l.code === 'TJ_CONFIG_INVALID');
      }
      expect(logged?.level).toBe(50);
      expect(String(logged?.err)).toContain('atlantis');
      expect(p.alive()).toBe(true);
    } finally {
      await p.stop();
    }
  });
});

describe('Restricted CAP documents need the signed link or an operator token', () => {
  it('refuses the bare, predictable URL; serves the signed link and an operator token', async () => {
    const bare = await one(rawRequest('GET', `/cap/${EVENT}.xml`, { Connection: 'close' }), '127.0.0.5');
    expect([bare.status, codeIn(bare)]).toEqual([401, 'TJ_CAP_UNAUTHORIZED']);
    expect(bare.body).not.toContain('<alert');
    const index = await one(rawRequest('GET', `/cap/alert/${ALERT}`, { Connection: 'close' }), '127.0.0.5');
    expect([index.status, codeIn(index)]).toEqual([401, 'TJ_CAP_UNAUTHORIZED']);

    const link = new URL(capUrl('http://x', SECRET, EVENT, Date.now() + 3_600_000));
    expect(link.searchParams.get('sig')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const signed = await one(rawRequest('GET', `${link.pathname}${link.search}`, { Connection: 'close' }), '127.0.0.5');
    expect(signed.status).toBe(200);
    expect(signed.body).toContain('<scope>Restricted</scope>');
    const forged = await one(
      rawRequest(
        'GET',
        `${link.pathname}?exp=${link.searchParams.get('exp')}&sig=${signAck(SECRET, EVENT, 'ziyang', Number(link.searchParams.get('exp')))}`,
        { Connection: 'close' },
      ),
      '127.0.0.5',
    );
    expect([forged.status, codeIn(forged)]).toEqual([401, 'TJ_CAP_UNAUTHORIZED']);

    const withToken = await one(
      rawRequest('GET', `/cap/${EVENT}.xml`, { Authorization: `Bearer ${token}`, Connection: 'close' }),
      '127.0.0.5',
    );
    expect(withToken.status).toBe(200);
    const list = await one(
      rawRequest('GET', `/cap/alert/${ALERT}`, { Authorization: `Bearer ${token}`, Connection: 'close' }),
      '127.0.0.5',
    );
    expect(list.status).toBe(200);
    const [entry] = JSON.parse(list.body) as Array<{ eventId: string; url: string }>;
    expect(entry?.eventId).toBe(EVENT);
    // The index hands out signed links, which work without the token.
    const u = new URL(entry!.url);
    expect((await one(rawRequest('GET', `${u.pathname}${u.search}`, { Connection: 'close' }), '127.0.0.5')).status).toBe(200);
  });

  it('a document whose scope is Public is served to anyone', async () => {
    const at = Date.parse('2026-05-02T00:00:00+08:00');
    const id = `ev.public.hour.limit.NH3N.firing.${at}`;
    const store = new NotifyStore(redis, PREFIX);
    const xml = '<?xml version="1.0" encoding="UTF-8"?>\n<alert><scope>Public</scope></alert>\n';
    await store.saveCap(id, xml);
    const r = await one(rawRequest('GET', `/cap/${id}.xml`, { Connection: 'close' }), '127.0.0.5');
    expect(r.status).toBe(200);
    expect(r.body).toContain('<scope>Public</scope>');
  });
});

describe('acknowledgements from hostile clients', () => {
  const exp = Date.now() + 3_600_000;
  const path = `/ack/${encodeURIComponent(ALERT)}/ziyang`;
  const sig = signAck(SECRET, ALERT, 'ziyang', exp);
  const post = (body: unknown, localAddress = '127.0.0.6') =>
    one(
      rawRequest(
        'POST',
        path,
        { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(JSON.stringify(body))), Connection: 'close' },
        JSON.stringify(body),
      ),
      localAddress,
    );

  it('a non-string `by`, control characters in it, or a too long one: 400 with a reason; nothing recorded', async () => {
    for (const by of [42, ['a'], { x: 1 }, true, 'Zhang\x1b[2J\x1b[31mOK', 'a\nb', 'a\u202Eb', 'x'.repeat(81)]) {
      const r = await post({ exp, sig, by });
      expect([JSON.stringify(by), r.status, codeIn(r)]).toEqual([JSON.stringify(by), 400, 'TJ_ACK_BY_INVALID']);
      expect(JSON.parse(r.body).error.hint).toBeTruthy();
    }
    for (const body of ['[1]', '"x"', 'null']) {
      const r = await one(
        rawRequest('POST', path, { 'Content-Type': 'application/json', 'Content-Length': String(body.length), Connection: 'close' }, body),
        '127.0.0.6',
      );
      expect([body, r.status, codeIn(r)]).toEqual([body, 400, 'TJ_HTTP_BAD_BODY']);
    }
    expect((await new NotifyStore(redis, PREFIX).alert(ALERT))!.acks).toEqual({});
    expect(api.alive()).toBe(true);
  });

  it('only the canonical base64url encoding of a signature is accepted', async () => {
    // 32 bytes in 43 characters leave 2 unused bits in the last one: 4 spellings decode alike.
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const last = alphabet.indexOf(sig.at(-1)!);
    const variants = [1, 2, 3].map((d) => `${sig.slice(0, -1)}${alphabet[(last & ~3) | ((last + d) & 3)]}`);
    expect(new Set(variants.map((v) => Buffer.from(v, 'base64url').toString('hex')))).toEqual(
      new Set([Buffer.from(sig, 'base64url').toString('hex')]),
    );
    for (const v of [...variants, `${sig}=`, sig.replace(/-/g, '+').replace(/_/g, '/')]) {
      if (v === sig) continue;
      const r = await post({ exp, sig: v, by: 'x' });
      expect([v, r.status]).toEqual([v, 403]);
    }
    expect((await new NotifyStore(redis, PREFIX).alert(ALERT))!.acks).toEqual({});
    const ok = await post({ exp, sig, by: '张伟' });
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.body)).toMatchObject({ status: 'recorded', ack: { by: '张伟' } });
    expect(new URL(ackUrl('http://x', SECRET, ALERT, 'ziyang', exp)).searchParams.get('sig')).toBe(sig);
  });
});

describe('failed authentication is logged and rate-limited per address', () => {
  it('a warn line per failure (address, no secret), 429 with Retry-After once the budget is spent, a counter; other addresses unaffected', async () => {
    const from = '127.0.0.9';
    const guesses: RawResponse[] = [];
    for (let i = 0; i < 14; i++) {
      const guess = `tjop_guess${i}-${'x'.repeat(20)}`;
      guesses.push(await one(rawRequest('GET', '/thresholds', { Authorization: `Bearer ${guess}`, Connection: 'close' }), from));
    }
    expect(guesses.slice(0, 10).map((r) => r.status)).toEqual(Array(10).fill(401));
    expect(guesses.slice(10).map((r) => [r.status, codeIn(r)])).toEqual(Array(4).fill([429, 'TJ_AUTH_RATE_LIMITED']));
    expect(Number(guesses[13]!.headers['retry-after'])).toBeGreaterThan(0);
    // Even the right token waits: the address is blocked, not the guess.
    expect((await one(rawRequest('GET', '/thresholds', { Authorization: `Bearer ${token}`, Connection: 'close' }), from)).status).toBe(429);
    // A forged ack signature from the same address is refused by the limiter too.
    const bad = await one(
      rawRequest('GET', `/ack/${ALERT}/ziyang?exp=${Date.now() + 60_000}&sig=${'A'.repeat(43)}`, { Connection: 'close' }),
      from,
    );
    expect(bad.status).toBe(429);
    // Another address still gets in.
    expect(
      (await one(rawRequest('GET', '/thresholds', { Authorization: `Bearer ${token}`, Connection: 'close' }), '127.0.0.10')).status,
    ).toBe(200);

    const failures = api.logLines().filter((l) => l.msg === 'authentication failed' && l.remote === from);
    expect(failures).toHaveLength(10);
    expect(failures[0]).toMatchObject({ level: 40, scheme: 'bearer', path: '/thresholds' });
    expect(api.log()).not.toContain('tjop_guess');
    expect(api.logLines().filter((l) => l.msg === 'authentication rate limit reached' && l.remote === from)).toHaveLength(1);
    const metrics = (await one(rawRequest('GET', '/metrics', { Connection: 'close' }), '127.0.0.11')).body;
    expect(metrics).toMatch(/tuojiang_api_auth_failures_total\{scheme="bearer"\} ([1-9]\d+)/);
    expect(metrics).toMatch(/tuojiang_api_auth_rate_limited_total \d+/);
  });
});
