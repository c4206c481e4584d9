/**
 * The unified threshold set and where it comes from (the file, re-read when it changes; a fixed
 * set). What a set means for one station is in station-profile.ts.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { loadYamlFile } from '../config/load.js';
import type { RegistryConfig } from '../config/schema.js';
import { ThresholdsFileSchema, thresholdsSchemaFor, type ThresholdSet } from './thresholds-schema.js';

// A station's profile and limits live in their own module: the rules import it without pulling in
// the thresholds schema, which is built from the rules.
export { limitFor, limitRuleFor, stationProfile, type ResolvedLimit, type StationProfile } from './station-profile.js';

export type { ThresholdSet };

/** Where the checks get the thresholds in force. The file source now; an approved-versions store later. */
export interface ThresholdSource {
  current(): Promise<ThresholdSet>;
}

export const THRESHOLDS_FILE = 'thresholds.yaml';

export function loadThresholdsFile(file: string, registry?: RegistryConfig): ThresholdSet {
  const config = loadYamlFile(file, registry ? thresholdsSchemaFor(registry) : ThresholdsFileSchema);
  return { version: config.version, source: file, config };
}

/**
 * Reads config/thresholds.yaml, and re-reads it when its modification time changes (checked at most
 * every `checkEveryMs`). A file that has become invalid keeps the last valid set in force and the
 * error is reported through `onError`: a typo must not switch the alerts off.
 */
export class FileThresholdSource implements ThresholdSource {
  private set: ThresholdSet | undefined;
  private mtimeMs = -1;
  private checkedAt = 0;

  constructor(
    readonly file: string,
    private readonly registry?: RegistryConfig,
    private readonly opts: { checkEveryMs?: number; onError?: (e: unknown) => void } = {},
  ) {}

  static inConfigDir(dir: string, registry?: RegistryConfig): FileThresholdSource {
    return new FileThresholdSource(join(dir, THRESHOLDS_FILE), registry);
  }

  async current(): Promise<ThresholdSet> {
    return this.currentSync();
  }

  currentSync(): ThresholdSet {
    const now = Date.now();
    if (this.set && now - this.checkedAt < (this.opts.checkEveryMs ?? 5000)) return this.set;
    this.checkedAt = now;
    const mtime = statSync(this.file, { throwIfNoEntry: false })?.mtimeMs ?? -1;
    if (this.set && mtime === this.mtimeMs) return this.set;
    try {
      this.set = loadThresholdsFile(this.file, this.registry);
      this.mtimeMs = mtime;
    } catch (e) {
      if (!this.set) throw e;
      this.opts.onError?.(e);
    }
    return this.set;
  }
}

/** A fixed set (tests, and whoever already holds a validated set). */
export class StaticThresholdSource implements ThresholdSource {
  constructor(private readonly set: ThresholdSet) {}
  async current(): Promise<ThresholdSet> {
    return this.set;
  }
}
