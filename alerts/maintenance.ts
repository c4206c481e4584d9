/**
 * Maintenance windows: a station under maintenance keeps being stored and checked (the history and
 * the alert state stay true), but the events it raises are recorded as muted and not sent, and it
 * raises no silence alert. Windows come from config/thresholds.yaml and from
 * `tuojiang maintenance add`, which stores them in Redis.
 */
import { randomBytes } from 'node:crypto';
import type { RedisClient } from '../lib/redis-client.js';
import type { ThresholdsFile } from './thresholds-schema.js';
import { AlertKeys } from './keys.js';

export interface MaintenanceWindow {
  id: string;
  station: string;
  /** epoch ms, inclusive */
  from: number;
  /** epoch ms, exclusive */
  to: number;
  reason: string;
  source: 'config' | 'cli';
  createdAt?: number;
}

export function windowsFromConfig(config: ThresholdsFile): MaintenanceWindow[] {
  return config.maintenance.map((w, i) => ({
    id: `config-${i + 1}`,
    station: w.station,
    from: Date.parse(w.from),
    to: Date.parse(w.to),
    reason: w.reason,
    source: 'config',
  }));
}

export function covers(windows: readonly MaintenanceWindow[], station: string, at: number): boolean {
  return windows.some((w) => w.station === station && at >= w.from && at < w.to);
}

/** The windows added from the command line, in one Redis hash (id -> JSON). */
export class MaintenanceStore {
  private readonly key: string;

  constructor(
    private readonly redis: RedisClient,
    prefix?: string,
  ) {
    this.key = new AlertKeys(prefix).maintenance;
  }

  async add(w: Omit<MaintenanceWindow, 'id' | 'source' | 'createdAt'>): Promise<MaintenanceWindow> {
    const window: MaintenanceWindow = {
      ...w,
      id: `mw-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`,
      source: 'cli',
      createdAt: Date.now(),
    };
    await this.redis.hset(this.key, window.id, JSON.stringify(window));
    return window;
  }

  async list(): Promise<MaintenanceWindow[]> {
    const all = await this.redis.hgetall(this.key);
    return Object.values(all)
      .map((v) => JSON.parse(v) as MaintenanceWindow)
      .sort((a, b) => a.from - b.from || a.id.localeCompare(b.id));
  }

  async remove(id: string): Promise<boolean> {
    return (await this.redis.hdel(this.key, id)) === 1;
  }
}

/**
 * What the workers consult: config windows plus the stored ones, re-read at most every
 * `refreshMs` (a window added from the command line takes effect within that time).
 */
export class MaintenanceCalendar {
  private stored: MaintenanceWindow[] = [];
  private loadedAt = -Infinity;
  private loading: Promise<void> | undefined;

  constructor(
    private readonly store: MaintenanceStore | undefined,
    private configWindows: MaintenanceWindow[] = [],
    private readonly refreshMs = 2000,
  ) {}

  private configFrom: ThresholdsFile | undefined;

  /** Takes the windows of the threshold set in force (recomputed only when the set changes). */
  useThresholds(config: ThresholdsFile): void {
    if (config === this.configFrom) return;
    this.configFrom = config;
    this.configWindows = windowsFromConfig(config);
  }

  async refresh(force = false): Promise<void> {
    if (!this.store) return;
    if (!force && Date.now() - this.loadedAt < this.refreshMs) return;
    this.loading ??= this.store
      .list()
      .then((w) => {
        this.stored = w;
        this.loadedAt = Date.now();
      })
      .finally(() => {
        this.loading = undefined;
      });
    await this.loading;
  }

  isMuted = (station: string, at: number): boolean => covers(this.configWindows, station, at) || covers(this.stored, station, at);

  all(): MaintenanceWindow[] {
    return [...this.configWindows, ...this.stored];
  }
}
