/**
 * The spill's velocities from config/rivers.yaml, the same file the alerts use for arrival
 * estimates. That file gives each reach a RANGE (min_m_s..max_m_s) because no reliable figure is
 * published; the simulated plume must travel at one velocity per reach, chosen inside the range
 * (by default its middle), so that its arrival falls within the window the notices announce.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { loadYamlFile } from '../config/load.js';
import { riversSchemaFor, type RiversFile } from '../config/rivers-schema.js';
import type { RegistryConfig } from '../config/schema.js';
import type { Reach } from './plume.js';

export const RIVERS_FILE = 'rivers.yaml';

/** One velocity per reach: min + position × (max − min), in km/h; position 0 slowest, 1 fastest. */
export function reachesFromRivers(rivers: RiversFile, position = 0.5): Reach[] {
  if (!(position >= 0 && position <= 1)) throw new RangeError(`velocity position must be between 0 and 1, got ${position}`);
  const out: Reach[] = [];
  for (const [river, r] of Object.entries(rivers.rivers)) {
    for (const reach of r.reaches) {
      const mS = reach.velocity.min_m_s + position * (reach.velocity.max_m_s - reach.velocity.min_m_s);
      out.push({ river, fromKm: reach.from_km, toKm: reach.to_km, velocityKmh: mS * 3.6 });
    }
  }
  return out;
}

/** config/rivers.yaml of `dir`, validated against the registry; undefined when the file is absent. */
export function loadRivers(dir: string, registry: RegistryConfig): RiversFile | undefined {
  const file = join(dir, RIVERS_FILE);
  return existsSync(file) ? loadYamlFile(file, riversSchemaFor(registry)) : undefined;
}

/**
 * The velocities a spill uses: its own (`reaches` or `velocityKmh`) when given, else the reaches of
 * rivers.yaml at `position` within each range, else the default velocity.
 */
export function withRiverVelocities<S extends { reaches?: readonly Reach[] | undefined; velocityKmh?: number | undefined }>(
  spill: S,
  rivers: RiversFile | undefined,
  position = 0.5,
): S {
  if (spill.reaches !== undefined || spill.velocityKmh !== undefined || !rivers) return spill;
  return { ...spill, reaches: reachesFromRivers(rivers, position) };
}
