/**
 * `tuojiang dashboards push` against a local HTTP server that records every request and answers
 * like Grafana's folder and dashboard API (Grafana itself cannot run here: this is the one fake the
 * issue allows): creation, idempotent re-push by uid, updates on top of the stored version, the
 * folder kept, dry run, and the auth and conflict answers.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Command } from 'commander';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { registerDashboardsCommands } from '../../cli/commands/dashboards.js';
import { readGeneratedDashboards } from '../../dashboards/generate.js';
import type { Dashboard } from '../../dashboards/model.js';
import { GrafanaApiError, GrafanaClient } from '../../dashboards/push/grafana-client.js';
import { DEFAULT_FOLDER, formatReport, push } from '../../dashboards/push/push.js';

interface Recorded {
  method: string;
  path: string;
  auth: string | undefined;
  body: unknown;
}

interface Stored {
  dashboard: Record<string, unknown>;
  id: number;
  version: number;
  folderUid: string;
  provisioned?: boolean;
}

type Injection = { method: string; path: RegExp; status: number; body: unknown; then?: () => void };

const TOKEN = 'glsa_test_token';

/** Grafana's folder/dashboard API, in memory, as far as push uses it. */
class FakeGrafana {
  readonly requests: Recorded[] = [];
  readonly folders = new Map<string, { uid: string; title: string; id: number }>();
  readonly dashboards = new Map<string, Stored>();
  readonly injections: Injection[] = [];
  private nextId = 1;
  private server: Server | undefined;
  url = '';

  async start(): Promise<void> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', () => r()));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    await new Promise((r) => this.server?.close(r));
  }

  reset(): void {
    this.requests.length = 0;
    this.folders.clear();
    this.dashboards.clear();
    this.injections.length = 0;
  }

  posts(): Recorded[] {
    return this.requests.filter((r) => r.method !== 'GET');
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const body = text ? (JSON.parse(text) as Record<string, unknown>) : undefined;
    const path = req.url ?? '';
    const method = req.method ?? 'GET';
    this.requests.push({ method, path, auth: req.headers.authorization, body });
    const send = (status: number, payload: unknown): void => {
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(payload));
    };
    const inj = this.injections.findIndex((i) => i.method === method && i.path.test(path));
    if (inj >= 0) {
      const [i] = this.injections.splice(inj, 1);
      i!.then?.();
      return send(i!.status, i!.body);
    }
    if (req.headers.authorization !== `Bearer ${TOKEN}`) return send(401, { message: 'invalid API key' });

    let m: RegExpExecArray | null;
    if (method === 'GET' && (m = /^\/api\/folders\/([^/?]+)$/.exec(path))) {
      const f = this.folders.get(decodeURIComponent(m[1]!));
      return f ? send(200, { ...f, version: 1 }) : send(404, { message: 'folder not found', status: 'not-found' });
    }
    if (method === 'GET' && path.startsWith('/api/folders')) return send(200, [...this.folders.values()]);
    if (method === 'POST' && path === '/api/folders') {
      const { uid, title } = body as { uid: string; title: string };
      if (this.folders.has(uid)) return send(409, { message: 'a folder with the same uid already exists' });
      const f = { uid, title, id: this.nextId++ };
      this.folders.set(uid, f);
      return send(200, f);
    }
    if (method === 'GET' && (m = /^\/api\/dashboards\/uid\/([^/?]+)$/.exec(path))) {
      const d = this.dashboards.get(decodeURIComponent(m[1]!));
      if (!d) return send(404, { message: 'Dashboard not found' });
      const folder = this.folders.get(d.folderUid);
      return send(200, {
        dashboard: { ...d.dashboard, id: d.id, version: d.version },
        meta: { folderUid: d.folderUid, folderTitle: folder?.title, version: d.version, provisioned: d.provisioned ?? false },
      });
    }
    if (method === 'POST' && path === '/api/dashboards/db') {
      const { dashboard, folderUid, overwrite } = body as {
        dashboard: Record<string, unknown> & { uid: string; title: string; version?: number };
        folderUid: string;
        overwrite: boolean;
      };
      if (!this.folders.has(folderUid)) return send(400, { message: 'folder not found' });
      const existing = this.dashboards.get(dashboard.uid);
      if (existing?.provisioned) return send(400, { message: 'Cannot save provisioned dashboard' });
      if (existing && !overwrite && dashboard.version !== existing.version) {
        return send(412, { status: 'version-mismatch', message: 'The dashboard has been changed by someone else' });
      }
      const sameTitle = [...this.dashboards.entries()].find(
        ([uid, d]) => uid !== dashboard.uid && d.folderUid === folderUid && d.dashboard.title === dashboard.title,
      );
      if (sameTitle && !overwrite)
        return send(412, { status: 'name-exists', message: 'A dashboard with the same name in the folder already exists' });
      const { id: _id, version: _version, ...rest } = dashboard;
      const stored: Stored = { dashboard: rest, id: existing?.id ?? this.nextId++, version: (existing?.version ?? 0) + 1, folderUid };
      this.dashboards.set(dashboard.uid, stored);
      return send(200, { id: stored.id, uid: dashboard.uid, url: `/d/${dashboard.uid}`, status: 'success', version: stored.version });
    }
    return send(404, { message: `no route ${method} ${path}` });
  }
}

const grafana = new FakeGrafana();
let dashboards: Dashboard[];
const client = (token = TOKEN, url = grafana.url) => new GrafanaClient({ url, token });

beforeAll(async () => {
  await grafana.start();
  dashboards = await readGeneratedDashboards();
});
afterAll(() => grafana.stop());
beforeEach(() => grafana.reset());

describe('push', () => {
  it('creates the folder and every dashboard in it, with the token on every request', async () => {
    const report = await push({ client: client(), dashboards });
    expect(report.folder).toEqual({ uid: 'tuojiang', title: DEFAULT_FOLDER.title, action: 'create' });
    expect(report.dashboards.map((d) => [d.uid, d.action, d.version])).toEqual(dashboards.map((d) => [d.uid, 'create', 1]));
    expect(grafana.requests.every((r) => r.auth === `Bearer ${TOKEN}`)).toBe(true);
    const saves = grafana.posts().filter((r) => r.path === '/api/dashboards/db');
    expect(saves).toHaveLength(dashboards.length);
    for (const s of saves) expect(s.body).toMatchObject({ folderUid: 'tuojiang', overwrite: false, dashboard: { id: null } });
    for (const d of dashboards) expect(grafana.dashboards.get(d.uid)?.dashboard).toEqual(d);
  });

  it('is idempotent by uid: a second push changes nothing and keeps the folder', async () => {
    await push({ client: client(), dashboards });
    grafana.requests.length = 0;
    const report = await push({ client: client(), dashboards });
    expect(grafana.posts()).toEqual([]);
    expect(report.folder.action).toBe('keep');
    expect(report.dashboards.every((d) => d.action === 'unchanged' && d.version === 1)).toBe(true);
    expect(formatReport(report)).toMatch(/folder tuojiang "Tuojiang 沱江": kept/);
  });

  it('updates only the dashboard that changed, on top of the version it read', async () => {
    await push({ client: client(), dashboards });
    const changed = dashboards.map((d) =>
      d.uid === 'tj-air'
        ? { ...d, description: 'changed', panels: d.panels.map((p, i) => (i === 1 ? { ...p, title: `${p.title}!` } : p)) }
        : d,
    );
    grafana.requests.length = 0;
    const report = await push({ client: client(), dashboards: changed });
    const saves = grafana.posts();
    expect(saves.map((s) => (s.body as { dashboard: { uid: string; version: number; id: number } }).dashboard)).toMatchObject([
      { uid: 'tj-air', version: 1, id: grafana.dashboards.get('tj-air')!.id },
    ]);
    const air = report.dashboards.find((d) => d.uid === 'tj-air')!;
    expect(air.action).toBe('update');
    expect(air.version).toBe(2);
    expect(air.changes).toEqual(expect.arrayContaining(['description', expect.stringMatching(/^panel changed: .*!$/)]));
    expect(report.dashboards.filter((d) => d.uid !== 'tj-air').every((d) => d.action === 'unchanged')).toBe(true);
  });

  it('moves a dashboard someone moved out of the folder back into it', async () => {
    await push({ client: client(), dashboards });
    grafana.folders.set('elsewhere', { uid: 'elsewhere', title: 'Elsewhere', id: 99 });
    grafana.dashboards.get('tj-section-detail')!.folderUid = 'elsewhere';
    const report = await push({ client: client(), dashboards });
    expect(report.dashboards.find((d) => d.uid === 'tj-section-detail')).toMatchObject({
      action: 'update',
      changes: ['folder: Elsewhere → tuojiang'],
    });
    expect(grafana.dashboards.get('tj-section-detail')!.folderUid).toBe('tuojiang');
  });

  it('reuses an existing folder of the same title instead of making a second one', async () => {
    grafana.folders.set('abc123', { uid: 'abc123', title: DEFAULT_FOLDER.title, id: 7 });
    const report = await push({ client: client(), dashboards });
    expect(report.folder).toEqual({ uid: 'abc123', title: DEFAULT_FOLDER.title, action: 'keep', foundBy: 'title' });
    expect(grafana.posts().some((r) => r.path === '/api/folders')).toBe(false);
    expect([...grafana.dashboards.values()].every((d) => d.folderUid === 'abc123')).toBe(true);
  });

  it('takes the folder someone else created meanwhile (409 on create)', async () => {
    grafana.injections.push({
      method: 'POST',
      path: /^\/api\/folders$/,
      status: 409,
      body: { message: 'a folder with the same uid already exists' },
      then: () => grafana.folders.set('tuojiang', { uid: 'tuojiang', title: 'Theirs', id: 5 }),
    });
    const report = await push({ client: client(), dashboards });
    expect(report.folder).toEqual({ uid: 'tuojiang', title: 'Theirs', action: 'keep', foundBy: 'uid' });
    expect(grafana.dashboards.size).toBe(dashboards.length);
  });

  it('dry run: only reads, and says what would change', async () => {
    let report = await push({ client: client(), dashboards, dryRun: true });
    expect(grafana.requests.every((r) => r.method === 'GET')).toBe(true);
    expect(grafana.folders.size + grafana.dashboards.size).toBe(0);
    expect(report.folder.action).toBe('create');
    expect(report.dashboards.every((d) => d.action === 'create')).toBe(true);
    expect(formatReport(report)).toMatch(/dry run.*\n.*would create\n(.*would create\n){5}/);

    await push({ client: client(), dashboards });
    grafana.requests.length = 0;
    const changed = dashboards.map((d) => (d.uid === 'tj-basin-overview' ? { ...d, refresh: '5m' } : d));
    report = await push({ client: client(), dashboards: changed, dryRun: true });
    expect(grafana.posts()).toEqual([]);
    expect(report.dashboards.find((d) => d.uid === 'tj-basin-overview')).toMatchObject({ action: 'update', changes: ['refresh'] });
    expect(grafana.dashboards.get('tj-basin-overview')!.dashboard.refresh).toBe('1m');
  });

  it('leaves dashboards that Grafana provisions from files alone', async () => {
    await push({ client: client(), dashboards });
    grafana.dashboards.get('tj-air')!.provisioned = true;
    grafana.requests.length = 0;
    const report = await push({ client: client(), dashboards: dashboards.map((d) => ({ ...d, refresh: '5m' })) });
    expect(report.dashboards.find((d) => d.uid === 'tj-air')!.action).toBe('provisioned');
    expect(grafana.posts().map((r) => (r.body as { dashboard: { uid: string } }).dashboard.uid)).not.toContain('tj-air');
  });
});

describe('push errors', () => {
  it('401 (bad token): an auth error with its hint, and nothing written', async () => {
    const err = await push({ client: client('wrong'), dashboards }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GrafanaApiError);
    expect(err).toMatchObject({ code: 'TJ_GRAFANA_AUTH', status: 401 });
    expect((err as GrafanaApiError).message).toMatch(/invalid API key/);
    expect((err as GrafanaApiError).hint).toMatch(/service-account token/);
    expect(grafana.requests).toHaveLength(1);
    expect(grafana.dashboards.size).toBe(0);
  });

  it('403 (a viewer token) on save: an auth error, and the push stops there', async () => {
    grafana.injections.push({ method: 'POST', path: /^\/api\/dashboards\/db$/, status: 403, body: { message: 'Access denied' } });
    const err = await push({ client: client(), dashboards }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'TJ_GRAFANA_AUTH', status: 403 });
    expect(grafana.posts().filter((r) => r.path === '/api/dashboards/db')).toHaveLength(1);
  });

  it('412 version-mismatch (someone saved in between): a conflict error', async () => {
    await push({ client: client(), dashboards });
    grafana.injections.push({
      method: 'POST',
      path: /^\/api\/dashboards\/db$/,
      status: 412,
      body: { status: 'version-mismatch', message: 'The dashboard has been changed by someone else' },
    });
    const err = await push({ client: client(), dashboards: dashboards.map((d) => ({ ...d, refresh: '5m' })) }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'TJ_GRAFANA_CONFLICT', status: 412, grafanaStatus: 'version-mismatch' });
    expect((err as GrafanaApiError).hint).toMatch(/changed the same/);
  });

  it('412 name-exists (another dashboard of that title in the folder): a conflict error', async () => {
    grafana.folders.set('tuojiang', { uid: 'tuojiang', title: DEFAULT_FOLDER.title, id: 1 });
    grafana.dashboards.set('someone-elses', {
      dashboard: { uid: 'someone-elses', title: dashboards[0]!.title },
      id: 50,
      version: 3,
      folderUid: 'tuojiang',
    });
    const err = await push({ client: client(), dashboards }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'TJ_GRAFANA_CONFLICT', grafanaStatus: 'name-exists' });
  });

  it('an unreachable Grafana: unavailable, naming the URL', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', () => r()));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    const err = await push({ client: client(TOKEN, `http://127.0.0.1:${port}`), dashboards }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'TJ_GRAFANA_UNAVAILABLE' });
    expect((err as Error).message).toContain(`127.0.0.1:${port}`);
  });
});

describe('tuojiang dashboards', () => {
  let out: string[];
  let errOut: string[];
  beforeEach(() => {
    out = [];
    errOut = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((s) => (out.push(String(s)), true));
    vi.spyOn(process.stderr, 'write').mockImplementation((s) => (errOut.push(String(s)), true));
  });
  afterEach(() => {
    vi.restoreAllMocks();
    process.exitCode = undefined;
    delete process.env.GRAFANA_TOKEN;
  });
  const run = async (...args: string[]): Promise<void> => {
    const program = new Command('tuojiang').exitOverride();
    registerDashboardsCommands(program);
    await program.parseAsync(['node', 'tuojiang', 'dashboards', ...args]);
  };

  it('push --dry-run with the token from GRAFANA_TOKEN prints the plan and writes nothing', async () => {
    process.env.GRAFANA_TOKEN = TOKEN;
    await run('push', '--url', grafana.url, '--dry-run');
    expect(out.join('')).toMatch(/folder tuojiang "Tuojiang 沱江": would create/);
    expect(out.join('')).toMatch(/dashboard tj-section-detail "[^"]+": would create/);
    expect(grafana.posts()).toEqual([]);
    expect(process.exitCode).toBeUndefined();
  });

  it('push --token … --folder … --json creates them under that folder title', async () => {
    await run('push', '--url', grafana.url, '--token', TOKEN, '--folder', '沱江 Basin', '--folder-uid', 'tj', '--json');
    const report = JSON.parse(out.join('')) as { folder: { uid: string; title: string } };
    expect(report.folder).toMatchObject({ uid: 'tj', title: '沱江 Basin' });
    expect(grafana.dashboards.size).toBe(dashboards.length);
  });

  it('push without a token, or with a bad one, exits 2 with the reason', async () => {
    await run('push', '--url', grafana.url);
    expect(process.exitCode).toBe(2);
    expect(errOut.join('')).toMatch(/no Grafana token/);
    process.exitCode = undefined;
    await run('push', '--url', grafana.url, '--token', 'nope');
    expect(process.exitCode).toBe(2);
    expect(errOut.join('')).toMatch(/error TJ_GRAFANA_AUTH: .*401[\s\S]*→ Check --token/);
  });

  it('build --check reports the committed files up to date', async () => {
    await run('build', '--check');
    expect(out.join('')).toMatch(/up to date \(9 files\)/);
    expect(process.exitCode).toBeUndefined();
  });
});
