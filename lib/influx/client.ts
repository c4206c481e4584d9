import http from 'node:http';
import https from 'node:https';
import { TuojiangError } from '../errors.js';
import { redactUrls } from '../redact-url.js';

export interface InfluxOptions {
  url: string;
  database: string;
  username?: string | undefined;
  password?: string | undefined;
  /** InfluxDB 2.x/3.x v1-compatibility token, sent as `Authorization: Token …`. */
  token?: string | undefined;
  timeoutMs?: number;
}

export interface QueryResult {
  name: string;
  tags?: Record<string, string>;
  columns: string[];
  values: unknown[][];
}

/** The store boundary: what the writer, the alert workers and the dashboard tests need of InfluxDB. */
export interface InfluxStore {
  writeLines(lines: string[]): Promise<void>;
  query(q: string): Promise<QueryResult[]>;
  ping(): Promise<boolean>;
  ensureDatabase(): Promise<void>;
}

export class InfluxHttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
  ) {
    super(`InfluxDB answered ${status}: ${body.slice(0, 300)}`);
  }
  /** 4xx other than 429 means the data itself was refused: retrying the same batch cannot help. */
  get permanent(): boolean {
    return this.status >= 400 && this.status < 500 && this.status !== 429;
  }
}

/**
 * InfluxDB v1 HTTP API: /write (line protocol) and /query (InfluxQL), which InfluxDB 1.x, 2.x (v1
 * compatibility) and 3.x all serve. See docs/decisions/0001 for why not the v2 client. Writes go over
 * node:http with a keep-alive agent, the rest over fetch: a write of 300 lines cost ~2.3 ms of CPU
 * through fetch and ~1.0 ms through node:http (docs/decisions/0018, round 2), and the writer sends
 * hundreds a second at full load.
 */
export class InfluxClient implements InfluxStore {
  private readonly base: string;
  private readonly headers: Record<string, string> = {};
  private readonly auth: URLSearchParams;
  private readonly writeUrl: URL;
  private readonly agent: http.Agent;

  constructor(private readonly opts: InfluxOptions) {
    // fetch refuses a URL with userinfo, and an error quoting the URL would print the password:
    // credentials in INFLUX_URL become Basic auth (INFLUX_USER/INFLUX_PASSWORD or a token win).
    const url = new URL(opts.url);
    const fromUrl =
      url.username || url.password ? { username: decodeURIComponent(url.username), password: decodeURIComponent(url.password) } : undefined;
    url.username = '';
    url.password = '';
    this.base = url.toString().replace(/\/+$/, '');
    this.auth = new URLSearchParams();
    const username = opts.username ?? fromUrl?.username;
    const password = opts.username ? opts.password : fromUrl?.password;
    if (opts.token) this.headers.Authorization = `Token ${opts.token}`;
    else if (username) {
      this.headers.Authorization = `Basic ${Buffer.from(`${username}:${password ?? ''}`).toString('base64')}`;
    }
    this.writeUrl = new URL(`${this.base}/write?${new URLSearchParams({ db: opts.database, precision: 'ms' })}`);
    // Idle sockets are unref'd by the agent: they never keep a process alive.
    this.agent = this.writeUrl.protocol === 'https:' ? new https.Agent({ keepAlive: true }) : new http.Agent({ keepAlive: true });
  }

  get database(): string {
    return this.opts.database;
  }

  private async request(path: string, init: RequestInit): Promise<Response> {
    try {
      return await fetch(`${this.base}${path}`, {
        ...init,
        headers: { ...this.headers, ...(init.headers as Record<string, string> | undefined) },
        signal: AbortSignal.timeout(this.opts.timeoutMs ?? 30_000),
      });
    } catch (e) {
      throw new TuojiangError('INFLUX_UNAVAILABLE', redactUrls(`cannot reach InfluxDB at ${this.base}: ${(e as Error).message}`));
    }
  }

  async writeLines(lines: string[]): Promise<void> {
    if (lines.length === 0) return;
    const body = Buffer.from(lines.join('\n'), 'utf8');
    let res: { status: number; text: string };
    try {
      res = await this.post(body);
    } catch (e) {
      // A kept-alive socket the server closed while idle fails on reuse: the write never arrived, and
      // is idempotent anyway (same points), so it is sent once more on a fresh socket.
      const err = e as NodeJS.ErrnoException & { reused?: boolean };
      if (!(err.reused && (err.code === 'ECONNRESET' || err.code === 'EPIPE'))) throw this.unavailable(e);
      try {
        res = await this.post(body);
      } catch (again) {
        throw this.unavailable(again);
      }
    }
    if (res.status !== 204) throw new InfluxHttpError(res.status, res.text);
  }

  private unavailable(e: unknown): TuojiangError {
    return new TuojiangError('INFLUX_UNAVAILABLE', redactUrls(`cannot reach InfluxDB at ${this.base}: ${(e as Error).message}`));
  }

  private post(body: Buffer): Promise<{ status: number; text: string }> {
    const transport = this.writeUrl.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const req = transport.request(
        this.writeUrl,
        {
          method: 'POST',
          agent: this.agent,
          headers: { ...this.headers, 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': body.length },
          timeout: this.opts.timeoutMs ?? 30_000,
        },
        (res) => {
          // 204 has no body; an error's body is the reason InfluxDB gives.
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`no answer within ${this.opts.timeoutMs ?? 30_000} ms`)));
      req.on('error', (e) => reject(Object.assign(e, { reused: req.reusedSocket })));
      req.end(body);
    });
  }

  async query(q: string): Promise<QueryResult[]> {
    const params = new URLSearchParams({ db: this.opts.database, q, epoch: 'ms' });
    const res = await this.request(`/query`, {
      method: 'POST',
      body: params,
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    });
    const text = await res.text();
    if (res.status !== 200) throw new InfluxHttpError(res.status, text);
    const json = JSON.parse(text) as { results?: Array<{ error?: string; series?: QueryResult[] }>; error?: string };
    if (json.error) throw new InfluxHttpError(400, json.error);
    const out: QueryResult[] = [];
    for (const r of json.results ?? []) {
      if (r.error) throw new InfluxHttpError(400, r.error);
      out.push(...(r.series ?? []));
    }
    return out;
  }

  async ping(): Promise<boolean> {
    try {
      const res = await this.request('/ping', { method: 'GET' });
      return res.status === 204;
    } catch {
      return false;
    }
  }

  async ensureDatabase(): Promise<void> {
    // CREATE DATABASE is idempotent in InfluxDB 1.x; on 2.x/3.x the DBRP mapping must exist already,
    // and a non-admin user (as in docker-compose) may not create it: then the database is expected.
    await this.query(`CREATE DATABASE "${this.opts.database.replace(/"/g, '')}"`).catch((e: unknown) => {
      if (
        e instanceof InfluxHttpError &&
        /not (supported|implemented)|forbidden|unauthorized|not authorized|requires admin privilege/i.test(e.body)
      )
        return;
      throw e;
    });
  }
}
