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
 * InfluxDB v1 HTTP API over fetch: /write (line protocol) and /query (InfluxQL), which InfluxDB 1.x,
 * 2.x (v1 compatibility) and 3.x all serve. See docs/decisions/0001 for why not the v2 client.
 */
export class InfluxClient implements InfluxStore {
  private readonly base: string;
  private readonly headers: Record<string, string> = {};
  private readonly auth: URLSearchParams;

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
    const params = new URLSearchParams({ db: this.opts.database, precision: 'ms' });
    const res = await this.request(`/write?${params}`, {
      method: 'POST',
      body: lines.join('\n'),
      headers: { 'Content-Type': 'text/plain; charset=utf-8' },
    });
    if (res.status !== 204) throw new InfluxHttpError(res.status, await res.text());
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
