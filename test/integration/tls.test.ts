/**
 * The TLS setup of docker-compose.tls.yml, run for real on loopback with a throwaway CA:
 * - the stations' TLS listener (deploy/mosquitto/stations-tls.conf appended to the production
 *   broker config, as include_dir does): a station logs in over TLS with its account, is refused
 *   with a wrong password, and a plain-text client gets no MQTT session on that port;
 * - the reverse proxy (deploy/caddy/Caddyfile, Debian's caddy): HTTPS to the upstream for the
 *   links, /readyz and /metrics not served, plain HTTP not answered on the TLS port.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { request } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startMosquitto, type MosquittoHandle } from '../../devtools/local-services/index.js';
import { ensureBinaries, ensureTool } from '../../devtools/local-services/packages.js';
import { mosquittoHash } from '../../lib/mosquitto-password.js';
import { certificate, makeCa } from '../helpers/certificates.js';
import { ROOT, run, until } from '../helpers/compose-services.js';

let tmp: string;
let ca: string;

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'tuojiang-tls-'));
  ca = await makeCa(tmp);
}, 30_000);

afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('MQTT over TLS for stations (deploy/mosquitto/stations-tls.conf)', () => {
  let broker: MosquittoHandle;
  let tls: ChildProcess | undefined;
  let port: number;

  beforeAll(async () => {
    const bins = await ensureBinaries(['mosquitto']);
    const passwd = join(tmp, 'passwd');
    const services = join(tmp, 'passwd-services');
    writeFileSync(passwd, `zhaozhen:${mosquittoHash('zhaozhen-secret-0001')}\n`, { mode: 0o600 });
    writeFileSync(services, `ingest:${mosquittoHash('ingest-secret-000001')}\n`, { mode: 0o600 });
    // The production config as the launcher renders it, then stopped: its file, plus the drop-in.
    broker = await startMosquitto({ users: [], passwordFiles: { stations: passwd, services } });
    await broker.stop();
    const { cert, key } = await certificate(tmp, 'mqtt.test');
    port = await freePort();
    const rendered = readFileSync(broker.configFile, 'utf8');
    const passwdPath = /^password_file (\S+)$/m.exec(rendered)?.[1] ?? '';
    const aclPath = /^acl_file (\S+)$/m.exec(rendered)?.[1] ?? '';
    const dropIn = readFileSync(join(ROOT, 'deploy/mosquitto/stations-tls.conf'), 'utf8')
      .replace(/^listener 8883$/m, `listener ${port} 127.0.0.1`)
      .replace('/mosquitto/config/passwd', passwdPath)
      .replace('/mosquitto/config/acl', aclPath)
      .replace('/mosquitto/certs/mqtt.crt', cert)
      .replace('/mosquitto/certs/mqtt.key', key);
    const conf = join(tmp, 'mosquitto-tls.conf');
    writeFileSync(conf, `${rendered}\n${dropIn}`);
    tls = spawn(bins.mosquitto as string, ['-c', conf], { stdio: 'ignore' });
    await until(
      'the TLS listener accepts',
      async () => {
        try {
          const c = await mqtt.connectAsync(`mqtts://127.0.0.1:${port}`, {
            username: 'zhaozhen',
            password: 'zhaozhen-secret-0001',
            ca,
            servername: 'mqtt.test',
            reconnectPeriod: 0,
            connectTimeout: 2000,
          });
          await c.endAsync();
          return true;
        } catch {
          return false;
        }
      },
      20_000,
    );
  }, 60_000);

  afterAll(async () => {
    // The TLS broker shares the stopped broker's data dir and writes its persistence file on exit:
    // wait for that before the directory is removed.
    if (tls && tls.exitCode === null && tls.signalCode === null) {
      const exited = new Promise((resolve) => tls?.once('exit', resolve));
      tls.kill('SIGTERM');
      await exited;
    }
    await broker?.destroy();
  });

  it('lets a station in over TLS with its account and the certificate checked, and no one else', async () => {
    const c = await mqtt.connectAsync(`mqtts://127.0.0.1:${port}`, {
      username: 'zhaozhen',
      password: 'zhaozhen-secret-0001',
      ca,
      servername: 'mqtt.test',
      reconnectPeriod: 0,
    });
    await c.publishAsync('tuojiang/water/zhaozhen', '{}', { qos: 1 });
    await c.endAsync();
    await expect(
      mqtt.connectAsync(`mqtts://127.0.0.1:${port}`, {
        username: 'zhaozhen',
        password: 'wrong-password-0001',
        ca,
        servername: 'mqtt.test',
        reconnectPeriod: 0,
      }),
    ).rejects.toThrow(/Not authorized|Bad username/i);
    // The ingest's account lives on the services' listener only.
    await expect(
      mqtt.connectAsync(`mqtts://127.0.0.1:${port}`, {
        username: 'ingest',
        password: 'ingest-secret-000001',
        ca,
        servername: 'mqtt.test',
        reconnectPeriod: 0,
      }),
    ).rejects.toThrow(/Not authorized|Bad username/i);
    // A client that does not trust the certificate's CA refuses the broker.
    await expect(
      mqtt.connectAsync(`mqtts://127.0.0.1:${port}`, {
        username: 'zhaozhen',
        password: 'zhaozhen-secret-0001',
        servername: 'mqtt.test',
        reconnectPeriod: 0,
        connectTimeout: 3000,
      }),
    ).rejects.toThrow(/certificate/i);
    // Plain MQTT on the TLS port gets no session.
    await expect(
      mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, {
        username: 'zhaozhen',
        password: 'zhaozhen-secret-0001',
        reconnectPeriod: 0,
        connectTimeout: 3000,
      }),
    ).rejects.toThrow();
  });
});

describe('the reverse proxy (deploy/caddy/Caddyfile)', () => {
  let caddy: ChildProcess | undefined;
  let upstream: Server;
  let port: number;
  const seen: string[] = [];

  const get = (path: string, servername = 'api.test'): Promise<{ status: number; body: string; hsts?: string }> =>
    new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path, servername, ca, headers: { Host: `${servername}:${port}` } }, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            body,
            ...(typeof res.headers['strict-transport-security'] === 'string' ? { hsts: res.headers['strict-transport-security'] } : {}),
          }),
        );
      });
      req.once('error', reject);
      req.end();
    });

  beforeAll(async () => {
    const bin = await ensureTool('caddy');
    upstream = createServer((req, res) => {
      seen.push(req.url ?? '');
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.end(`upstream ${req.url} xff=${String(req.headers['x-forwarded-for'])}`);
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', () => r()));
    const up = `127.0.0.1:${(upstream.address() as AddressInfo).port}`;
    const api = await certificate(tmp, 'api.test');
    const grafana = await certificate(tmp, 'grafana.test');
    port = await freePort();
    caddy = spawn(bin, ['run', '--config', join(ROOT, 'deploy/caddy/Caddyfile'), '--adapter', 'caddyfile'], {
      env: {
        PATH: process.env.PATH ?? '',
        HOME: tmp,
        XDG_DATA_HOME: tmp,
        XDG_CONFIG_HOME: tmp,
        API_SITE_ADDRESS: `api.test:${port}`,
        GRAFANA_SITE_ADDRESS: `grafana.test:${port}`,
        API_TLS_CERT: api.cert,
        API_TLS_KEY: api.key,
        GRAFANA_TLS_CERT: grafana.cert,
        GRAFANA_TLS_KEY: grafana.key,
        API_UPSTREAM: up,
        GRAFANA_UPSTREAM: up,
      },
      stdio: 'ignore',
    });
    await until('caddy serves', async () => (await get('/healthz').catch(() => ({ status: 0 }))).status === 200, 30_000);
  }, 120_000);

  afterAll(async () => {
    caddy?.kill('SIGTERM');
    await new Promise<void>((r) => (upstream ? upstream.close(() => r()) : r()));
  });

  it("passes the links through over TLS, with HSTS and the client's address for the logs", async () => {
    const r = await get('/ack/inc.1/ziyang?exp=1&sig=x');
    expect(r.status).toBe(200);
    expect(r.body).toContain('upstream /ack/inc.1/ziyang?exp=1&sig=x');
    expect(r.body).toContain('xff=127.0.0.1');
    expect(r.hsts).toBe('max-age=31536000');
    const g = await get('/d/tj-basin-overview', 'grafana.test');
    expect(g.status).toBe(200);
  });

  it('does not serve /readyz or /metrics publicly, in any spelling it normalises', async () => {
    seen.length = 0;
    for (const path of ['/readyz', '/metrics', '/metrics/', '/readyz?x=1']) {
      const r = await get(path);
      expect(r.status, path).toBe(404);
    }
    expect(seen).toEqual([]);
  });

  it('answers nothing in plain HTTP on the TLS port', async () => {
    const r = await run('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', '--max-time', '5', `http://127.0.0.1:${port}/ack/x`]);
    expect(r.stdout).not.toBe('200');
  });
});
