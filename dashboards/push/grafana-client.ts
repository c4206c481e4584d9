/**
 * The few Grafana HTTP API calls `tuojiang dashboards push` needs (folders, dashboards by uid),
 * over fetch. There is no maintained Grafana client on npm worth a dependency (decision 0005).
 * Authentication: a service-account token (or API key) as `Authorization: Bearer …`.
 */
import { ERRORS } from '../../lib/errors.js';
import type { Dashboard } from '../model.js';

/** This client's errors, from the central catalogue (lib/errors.ts). */
export const GRAFANA_ERRORS = {
  AUTH: ERRORS.GRAFANA_AUTH,
  CONFLICT: ERRORS.GRAFANA_CONFLICT,
  UNAVAILABLE: ERRORS.GRAFANA_UNAVAILABLE,
  REJECTED: ERRORS.GRAFANA_REJECTED,
} as const;

export type GrafanaErrorName = keyof typeof GRAFANA_ERRORS;

export class GrafanaApiError extends Error {
  readonly code: (typeof GRAFANA_ERRORS)[GrafanaErrorName]['code'];
  readonly hint: string;

  constructor(
    readonly kind: GrafanaErrorName,
    message: string,
    readonly status?: number,
    /** Grafana's own status word for 412s: `version-mismatch`, `name-exists`, `plugin-dashboard`. */
    readonly grafanaStatus?: string,
  ) {
    super(message);
    this.name = 'GrafanaApiError';
    this.code = GRAFANA_ERRORS[kind].code;
    this.hint = GRAFANA_ERRORS[kind].hint;
  }

  toJSON(): { code: string; message: string; hint: string; status?: number } {
    return { code: this.code, message: this.message, hint: this.hint, ...(this.status ? { status: this.status } : {}) };
  }
}

export interface Folder {
  uid: string;
  title: string;
  id?: number;
  version?: number;
}

export interface StoredDashboard {
  dashboard: Dashboard & { id?: number | null; version?: number };
  meta: { folderUid?: string; folderTitle?: string; version?: number; provisioned?: boolean; url?: string };
}

export interface SaveResult {
  id: number;
  uid: string;
  url: string;
  status: string;
  version: number;
}

export interface GrafanaClientOptions {
  /** Grafana's root URL, with its sub-path if served under one (e.g. https://host/grafana). */
  url: string;
  token: string;
  timeoutMs?: number;
  fetch?: typeof fetch;
}

export class GrafanaClient {
  private readonly base: string;
  private readonly fetchFn: typeof fetch;

  constructor(private readonly o: GrafanaClientOptions) {
    this.base = o.url.replace(/\/+$/, '');
    this.fetchFn = o.fetch ?? fetch;
  }

  get url(): string {
    return this.base;
  }

  private async request<T>(
    method: 'GET' | 'POST',
    path: string,
    body?: unknown,
    opts: { notFound?: 'undefined' } = {},
  ): Promise<T | undefined> {
    let res: Response;
    try {
      res = await this.fetchFn(`${this.base}${path}`, {
        method,
        headers: {
          Authorization: `Bearer ${this.o.token}`,
          Accept: 'application/json',
          ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}),
        },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.timeout(this.o.timeoutMs ?? 15_000),
      });
    } catch (e) {
      throw new GrafanaApiError('UNAVAILABLE', `cannot reach Grafana at ${this.base}: ${(e as Error).message}`);
    }
    const text = await res.text();
    let json: Record<string, unknown> | undefined;
    try {
      json = text ? (JSON.parse(text) as Record<string, unknown>) : undefined;
    } catch {
      json = undefined;
    }
    if (res.ok) return json as T;
    if (res.status === 404 && opts.notFound === 'undefined') return undefined;
    const said = typeof json?.message === 'string' ? json.message : text.slice(0, 300) || res.statusText;
    const what = `${method} ${path}: Grafana answered ${res.status}: ${said}`;
    if (res.status === 401 || res.status === 403) throw new GrafanaApiError('AUTH', what, res.status);
    if (res.status === 409 || res.status === 412)
      throw new GrafanaApiError('CONFLICT', what, res.status, typeof json?.status === 'string' ? json.status : undefined);
    if (res.status >= 500 || res.status === 404)
      throw new GrafanaApiError(res.status >= 500 ? 'UNAVAILABLE' : 'REJECTED', what, res.status);
    throw new GrafanaApiError('REJECTED', what, res.status);
  }

  async getFolder(uid: string): Promise<Folder | undefined> {
    return this.request<Folder>('GET', `/api/folders/${encodeURIComponent(uid)}`, undefined, { notFound: 'undefined' });
  }

  async listFolders(): Promise<Folder[]> {
    return (await this.request<Folder[]>('GET', '/api/folders?limit=1000')) ?? [];
  }

  async createFolder(uid: string, title: string): Promise<Folder> {
    return (await this.request<Folder>('POST', '/api/folders', { uid, title })) as Folder;
  }

  async getDashboard(uid: string): Promise<StoredDashboard | undefined> {
    return this.request<StoredDashboard>('GET', `/api/dashboards/uid/${encodeURIComponent(uid)}`, undefined, { notFound: 'undefined' });
  }

  /** Create or update. With `overwrite: false` Grafana refuses (412) when `dashboard.version` is not the stored one. */
  async saveDashboard(body: {
    dashboard: Dashboard & { id: number | null; version?: number };
    folderUid: string;
    overwrite: boolean;
    message: string;
  }): Promise<SaveResult> {
    return (await this.request<SaveResult>('POST', '/api/dashboards/db', body)) as SaveResult;
  }
}
