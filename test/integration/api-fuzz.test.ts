/**
 * HTTP fuzz of `tuojiang api` (issue 11): at least 100,000 malformed requests against the real CLI
 * process on loopback, and afterwards the server still answers a good request correctly. No answer
 * may be a 5xx, whatever was sent.
 *
 * Requests come from a seeded PRNG (FUZZ_SEED, printed; rerun with it to reproduce) in four kinds:
 *  - pipelined batches on keep-alive connections: well-framed requests with hostile targets,
 *    escapes, queries, headers, methods and bodies; every one must be answered;
 *  - connection breakers: bytes the HTTP parser must reject (garbage, bad request lines, header
 *    bytes, invalid chunked encoding, conflicting or wrong Content-Length, huge headers); each gets
 *    a 4xx and the connection is closed;
 *  - an operator (valid token, its own address) proposing random threshold changes;
 *  - slow clients trickling headers (slowloris), which the headers timeout must cut off with 408.
 * The loop is bounded in count (the target) and in time (a guard that fails the test).
 */
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdtempSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signAck } from '../../alerts/notify/links.js';
import { NotifyStore } from '../../alerts/notify/store.js';
import { createOperatorToken } from '../../alerts/threshold-store/operators.js';
import { ThresholdStore } from '../../alerts/threshold-store/store.js';
import { loadThresholdsFile } from '../../alerts/thresholds.js';
import { loadConfig } from '../../config/load.js';
import { startServices } from '../../devtools/local-services/index.js';
import { startApiProcess, type ApiProcess } from '../helpers/api-process.js';
import { exchange, rawRequest } from '../helpers/raw-http.js';

const TARGET = 100_000;
const TIME_GUARD_MS = 170_000;
const SEED = Number(process.env.FUZZ_SEED ?? 20260511);

const { dir, registry } = loadConfig();
const SECRET = 'fuzz-test-ack-secret-0123456789abc';
const PREFIX = `fz${randomBytes(3).toString('hex')}`;
const ALERT = 'ev.gongchengpu.hour.limit.NH3N.firing.1777564800000';

/** mulberry32: small, fast, and the same sequence for the same seed on every machine. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class Gen {
  constructor(readonly r: () => number) {}
  int(n: number): number {
    return Math.floor(this.r() * n);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)] as T;
  }
  chance(p: number): boolean {
    return this.r() < p;
  }
  ascii(n: number, from = 0x21, to = 0x7e): string {
    let s = '';
    for (let i = 0; i < n; i++) s += String.fromCharCode(from + this.int(to - from + 1));
    return s;
  }
}

const ESCAPES = [
  '%ZZ',
  '%E0%A4%A',
  '%C0%AF',
  '%FF',
  '%00',
  '%2F',
  '%25',
  '%',
  '%%',
  '%u0041',
  '%F0%9F%98',
  '%ED%A0%80',
  '%0A',
  '%7F',
  '..',
  '.',
  '%2e%2e',
];
const PATHS = [
  '/ack/A/ziyang',
  `/ack/${ALERT}/ziyang`,
  `/ack/${ALERT}/chengdu`,
  '/ack/A',
  '/ack/A/B/C',
  `/cap/${ALERT}.xml`,
  '/cap/X.xml',
  '/cap/alert/X',
  `/cap/alert/${ALERT}`,
  '/cap',
  '/thresholds',
  '/thresholds/proposals',
  '/thresholds/proposals/p1',
  '/thresholds/proposals/p1/approve',
  '/thresholds/proposals/p1/reject',
  '/thresholds/versions/current',
  '/thresholds/versions/X',
  '/thresholds/history',
  '/thresholds/diff',
  '/thresholds/export',
  '/healthz',
  '/readyz',
  '/metrics',
  '/',
  '//',
  '///thresholds',
  '/thresholdsX',
];
const QUERIES = [
  'exp=1&sig=x',
  `exp=${Date.now() + 3_600_000}&sig=${'A'.repeat(43)}`,
  'exp=1e309&sig=',
  'exp=-1&sig=%ZZ',
  'limit=-1',
  'limit=1e9',
  'limit=abc',
  'from=abc&to=-1',
  'from=1&to=99999999999999999999',
  'status=x',
  'status=all',
  'version=0',
  'version=v',
  'station=%00',
  'station=shiqiao',
  'param=NH3N',
  'city=ziyang',
  'operator=zy-zhang',
  'a=%E0%A4%A',
  '=&&=',
  '?',
  '',
];
const METHODS = ['GET', 'GET', 'GET', 'POST', 'POST', 'HEAD', 'PUT', 'DELETE', 'OPTIONS', 'PATCH'];
const BODIES = [
  '',
  '{',
  '[1]',
  'null',
  '"x"',
  '{"by":42}',
  '{"by":["a"]}',
  '{"by":"a\\u001b[2J"}',
  '{"exp":"x","sig":[1]}',
  '{"exp":1e309,"sig":{"a":1}}',
  '{"__proto__":{"x":1}}',
  '{"constructor":{"prototype":{"x":1}}}',
  '{"station":"shiqiao","param":"NH3N","value":1e308,"why":"x"}',
  '{"station":"shiqiao","param":"NH3N","value":"NaN","why":"x"}',
  'exp=1&sig=x&by=%00',
  'by=%E0%A4%A',
  'a=1&a=2&a=3',
];

function target(g: Gen): string {
  let path = g.pick(PATHS);
  if (g.chance(0.5)) {
    const segs = path.split('/');
    const i = 1 + g.int(Math.max(1, segs.length - 1));
    segs[i] = `${segs[i] ?? ''}${g.pick(ESCAPES)}${g.chance(0.3) ? g.ascii(g.int(8)).replace(/[?#]/g, '') : ''}`;
    path = segs.join('/');
  }
  if (g.chance(0.05)) path += `/${'a'.repeat(1000 + g.int(6000))}`;
  if (g.chance(0.4)) path += `?${g.pick(QUERIES)}${g.chance(0.3) ? `&${g.ascii(g.int(12)).replace(/#/g, '')}` : ''}`;
  if (g.chance(0.1)) path = `${g.pick(['http://127.0.0.1', 'http://[::1]', 'https://x', 'http://a:99999', 'http://u:p@h'])}${path}`;
  if (g.chance(0.02)) path = g.pick(['*', 'http://[::1', 'http://', 'http:///', '/?#']);
  return path;
}

function body(g: Gen): string {
  const r = g.int(10);
  if (r < 6) return g.pick(BODIES);
  if (r < 7) return g.ascii(g.int(300), 0x20, 0x7e);
  if (r < 8) return '['.repeat(2000 + g.int(4000));
  if (r < 9) return `{"by":"${'x'.repeat(g.int(20_000))}"}`;
  return JSON.stringify({
    station: g.pick(['shiqiao', 'hongyuan', 'x', '']),
    param: g.pick(['NH3N', 'DO', 'pH', 'Q']),
    value: g.pick([0.5, -1, 1e308, 0, '1', null]),
    why: 'fuzz',
  });
}

/** One well-framed request: the parser accepts it, so the server must answer it. */
function framed(g: Gen, token?: string): { data: string; method: string } {
  const method = g.pick(METHODS);
  const headers: Record<string, string> = {};
  if (token) headers.Authorization = `Bearer ${token}`;
  else if (g.chance(0.2))
    headers.Authorization = g.pick([
      `Bearer tjop_${g.ascii(20).replace(/[^A-Za-z0-9]/g, 'x')}`,
      'Bearer',
      'Basic YTpi',
      `Bearer ${'x'.repeat(4000)}`,
      'bearer a b',
    ]);
  if (g.chance(0.5))
    headers['Content-Type'] = g.pick([
      'application/json',
      'application/x-www-form-urlencoded',
      'text/plain',
      'application/json; charset=utf-16',
      'multipart/form-data; boundary=x',
    ]);
  if (g.chance(0.3)) headers.Accept = g.pick(['application/json', '*/*', 'text/html', '']);
  if (g.chance(0.1)) headers['X-Forwarded-For'] = g.pick(['127.0.0.3', '::1', g.ascii(40)]);
  if (g.chance(0.05)) headers.Cookie = 'a'.repeat(g.int(8000));
  if (g.chance(0.05)) for (let i = 0; i < 120; i++) headers[`X-H${i}`] = String(i);
  const b = method === 'POST' || method === 'PUT' || method === 'PATCH' || g.chance(0.05) ? body(g) : '';
  if (b || g.chance(0.5)) headers['Content-Length'] = String(Buffer.byteLength(b));
  const t = target(g);
  // Headers past 16 KiB are a connection breaker (431), not a framed request: keep them below.
  if (rawRequest(method, t, headers).length > 15_000) {
    delete headers.Cookie;
    for (const k of Object.keys(headers)) if (k.startsWith('X-H')) delete headers[k];
  }
  return { data: rawRequest(method, t, headers, b), method };
}

/** Bytes the parser must reject: the connection ends with a 4xx. */
function breaker(g: Gen): string {
  const k = g.int(14);
  switch (k) {
    case 0:
      return randomish(g, 1 + g.int(200));
    case 1:
      return `${g.pick(['BREW', 'get', 'G ET', 'GET\t', 'PRI', '\x00GET', 'POSTX'])} / HTTP/1.1\r\nHost: x\r\n\r\n`;
    case 2:
      return `GET /${g.pick([' ', '\x01', '\x7f', '\xff'])}x HTTP/1.1\r\nHost: x\r\n\r\n`;
    case 3:
      return `${g.pick(['GET / HTTP/9.9', 'GET / HTTP/1', 'GET / HTTP/1.1x', 'GET x:y HTTP/1.1', 'POST host:80 HTTP/1.1'])}\r\nHost: x\r\n\r\n`;
    case 4:
      return `GET / HTTP/1.1\r\nHost: x\r\n${g.pick(['X-A: a\x01b', 'X A: b', ': empty', 'X-A\r\n', 'X-A: \x00'])}\r\n\r\n`;
    case 5:
      return `POST /thresholds/proposals HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n${g.pick(['ZZ\r\nxx\r\n0\r\n\r\n', '-1\r\n\r\n', '5\r\nabc\r\n0\r\n\r\n', 'ffffffffffffffffff\r\n', '3;x=\x01\r\nabc\r\n0\r\n\r\n'])}`;
    case 6:
      return 'POST /ack/a/b HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n';
    case 7:
      return `POST /ack/a/b HTTP/1.1\r\nHost: x\r\nContent-Length: ${g.pick(['3\r\nContent-Length: 4', '-1', 'abc', '1e3', '99999999999999999999999'])}\r\n\r\nabcd`;
    case 8:
      return `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(17_000 + g.int(30_000))}\r\n\r\n`;
    case 9:
      return `GET /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: ${g.pick(['gzip', 'chunked, gzip', 'identity', 'x'])}\r\n\r\n`;
    case 10:
      return 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n';
    case 11:
      return `GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n${randomish(g, 1 + g.int(50))}GARBAGE\r\n\r\n`;
    case 12:
      return '\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03';
    default:
      return `GET / HTTP/1.1\r\n${'X: y\r\n'.repeat(3000 + g.int(3000))}\r\n`;
  }
}

function randomish(g: Gen, n: number): string {
  // Starts with a byte no method begins with, so the parser cannot wait for more.
  return `\x01${g.ascii(n, 0, 255)}`;
}

let services: Awaited<ReturnType<typeof startServices<{ redis: { appendonly: false } }>>>;
let redis: Redis;
let api: ApiProcess;
let token: string;

beforeAll(async () => {
  services = await startServices({ redis: { appendonly: false } });
  redis = new Redis(services.redis.url, { maxRetriesPerRequest: null });
  const operatorsFile = join(mkdtempSync(join(tmpdir(), 'tj-fuzz-')), 'operators.yaml');
  copyFileSync(join(dir, 'operators.yaml'), operatorsFile);
  token = createOperatorToken(operatorsFile, registry, 'zy-zhang').token;
  await new ThresholdStore({ redis, registry, prefix: PREFIX }).seed(loadThresholdsFile(join(dir, 'thresholds.yaml'), registry));
  const at = Date.parse('2026-05-01T00:00:00+08:00');
  const store = new NotifyStore(redis, PREFIX);
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
    { id: ALERT, kind: 'firing', at, value: 1.6, limit: 1, catchUp: false, worse: 'max' },
    Date.now(),
  );
  await store.saveCap(ALERT, '<?xml version="1.0" encoding="UTF-8"?>\n<alert><scope>Restricted</scope></alert>\n');
  api = await startApiProcess(
    {
      REDIS_URL: services.redis.url,
      INFLUX_URL: 'http://127.0.0.1:9',
      ACK_SECRET: SECRET,
      PUBLIC_URL: 'http://tuojiang-api.test',
      TUOJIANG_OPERATORS: operatorsFile,
      HTTP_HEADERS_TIMEOUT_MS: '1000',
      HTTP_REQUEST_TIMEOUT_MS: '2000',
    },
    ['--prefix', PREFIX],
  );
}, 120_000);

afterAll(async () => {
  await api?.stop();
  redis?.disconnect();
  await services?.stopAll();
});

interface Tally {
  sent: number;
  byClass: Record<string, number>;
  unanswered: number;
  breakersUnrefused: number;
  slowCut: number;
  samples5xx: string[];
}

function count(t: Tally, status: number, what: string): void {
  const cls = `${Math.floor(status / 100)}xx`;
  t.byClass[cls] = (t.byClass[cls] ?? 0) + 1;
  if (status >= 500 && t.samples5xx.length < 5) t.samples5xx.push(`${status} for ${JSON.stringify(what.slice(0, 300))}`);
}

describe('HTTP fuzz of tuojiang api', () => {
  it(`${TARGET.toLocaleString('en')} malformed requests: never a 5xx, slow clients cut off, and the server still answers`, async () => {
    const t: Tally = { sent: 0, byClass: {}, unanswered: 0, breakersUnrefused: 0, slowCut: 0, samples5xx: [] };
    const started = Date.now();
    const more = () => t.sent < TARGET && Date.now() - started < TIME_GUARD_MS;

    const pipelined = async (worker: number) => {
      const g = new Gen(prng(SEED + worker));
      while (more()) {
        const reqs = Array.from({ length: 40 }, () => framed(g));
        t.sent += reqs.length;
        const x = await exchange(api.port, reqs.map((r) => r.data).join(''), {
          expect: reqs.length,
          methods: reqs.map((r) => r.method),
          idleMs: 10_000,
        });
        x.responses.forEach((r, i) => count(t, r.status, reqs[i]!.data));
        t.unanswered += reqs.length - x.responses.length;
        if (x.responses.length < reqs.length && t.samples5xx.length < 5) {
          const n = x.responses.length;
          const prev = x.responses[n - 1];
          t.samples5xx.push(
            `unanswered after ${n} (last answer ${prev?.status} ${prev?.headers.connection} to ${JSON.stringify(reqs[n - 1]?.data.slice(0, 200))}): ${JSON.stringify(reqs[n]!.data.slice(0, 200))} (${x.error ?? 'closed'})`,
          );
        }
      }
    };
    const breakers = async (worker: number) => {
      const g = new Gen(prng(SEED + 1000 + worker));
      while (more()) {
        const data = breaker(g);
        t.sent += 1;
        const x = await exchange(api.port, Buffer.from(data, 'latin1'), { idleMs: 10_000 });
        x.responses.forEach((r) => count(t, r.status, data));
        const last = x.responses.at(-1);
        if (!last || last.status < 400 || !x.closedByServer) {
          t.breakersUnrefused += 1;
          if (t.samples5xx.length < 5)
            t.samples5xx.push(
              `breaker not refused (${x.responses.map((r) => r.status).join(',')}, closed ${x.closedByServer}): ${JSON.stringify(data.slice(0, 200))}`,
            );
        }
      }
    };
    const operator = async () => {
      const g = new Gen(prng(SEED + 2000));
      while (more()) {
        const reqs = Array.from({ length: 10 }, () => framed(g, token));
        t.sent += reqs.length;
        const x = await exchange(api.port, reqs.map((r) => r.data).join(''), {
          expect: reqs.length,
          methods: reqs.map((r) => r.method),
          localAddress: '127.0.0.3',
          idleMs: 10_000,
        });
        x.responses.forEach((r, i) => count(t, r.status, reqs[i]!.data));
        t.unanswered += reqs.length - x.responses.length;
      }
    };
    const slow = () =>
      new Promise<void>((resolve) => {
        const sock = connect(api.port, '127.0.0.1');
        const bytes = `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ${'a'.repeat(600)}`;
        let sent = 0;
        let text = '';
        const timer = setInterval(() => {
          if (sent < bytes.length && !sock.destroyed) sock.write(bytes[sent++]!);
        }, 50);
        sock.on('data', (d: Buffer) => {
          text += d.toString('latin1');
        });
        sock.on('error', () => undefined);
        sock.on('close', () => {
          clearInterval(timer);
          t.sent += 1;
          if (/^HTTP\/1\.1 408 /.test(text) && sent < bytes.length) t.slowCut += 1;
          resolve();
        });
      });

    const slowClients = 6;
    await Promise.all([
      ...Array.from({ length: 6 }, (_, i) => pipelined(i)),
      ...Array.from({ length: 2 }, (_, i) => breakers(i)),
      operator(),
      ...Array.from({ length: slowClients }, () => slow()),
    ]);
    const seconds = (Date.now() - started) / 1000;
    process.stdout.write(
      `api fuzz: seed ${SEED}, ${t.sent} requests in ${seconds.toFixed(1)} s (${Math.round(t.sent / seconds)}/s); answers by class ${JSON.stringify(t.byClass)}; ` +
        `unanswered ${t.unanswered}; breakers not refused ${t.breakersUnrefused}; slow clients cut off ${t.slowCut}/${slowClients}\n`,
    );

    expect(t.samples5xx, `seed ${SEED}`).toEqual([]);
    expect(t.byClass['5xx'] ?? 0).toBe(0);
    expect(t.unanswered).toBe(0);
    expect(t.breakersUnrefused).toBe(0);
    expect(t.slowCut).toBe(slowClients);
    expect(t.sent, `only ${t.sent} requests within the time guard`).toBeGreaterThanOrEqual(TARGET);
    expect(api.alive()).toBe(true);
    expect(api.logLines().filter((l) => (l.level as number) >= 50)).toEqual([]);

    // Still serving, correctly: a health check and a real acknowledgement from a fresh address.
    const health = await exchange(api.port, rawRequest('GET', '/healthz', { Connection: 'close' }), {
      expect: 1,
      localAddress: '127.0.0.4',
    });
    expect(health.responses.map((r) => [r.status, r.body])).toEqual([[200, '{"status":"ok"}']]);
    const exp = Date.now() + 3_600_000;
    const ack = JSON.stringify({ exp, sig: signAck(SECRET, ALERT, 'ziyang', exp), by: 'fuzz survivor' });
    const done = await exchange(
      api.port,
      rawRequest(
        'POST',
        `/ack/${ALERT}/ziyang`,
        { 'Content-Type': 'application/json', 'Content-Length': String(ack.length), Connection: 'close' },
        ack,
      ),
      { expect: 1, localAddress: '127.0.0.4' },
    );
    expect(done.responses[0]?.status).toBe(200);
    expect(JSON.parse(done.responses[0]!.body)).toMatchObject({ status: 'recorded', ack: { by: 'fuzz survivor', via: 'link' } });
  }, 240_000);
});
