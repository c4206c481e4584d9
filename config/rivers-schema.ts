import { z } from 'zod';
import type { RegistryConfig } from './schema.js';

/**
 * Schema of config/rivers.yaml: how fast water (and a pollutant plume with it) travels along each
 * reach of a river, as a range of velocities. The middle Tuojiang is a chain of weirs and dams and
 * no reliable figure is published (DOMAIN.md section 4), so the bureaus set these and the notices
 * give arrival times as ranges, never as one falsely precise instant.
 */

const Velocity = z
  .object({
    /** Slowest plausible mean velocity, m/s (gives the latest arrival). */
    min_m_s: z.number().positive().max(10),
    /** Fastest plausible mean velocity, m/s (gives the earliest arrival). */
    max_m_s: z.number().positive().max(10),
  })
  .strict()
  .refine((v) => v.min_m_s <= v.max_m_s, { message: 'min_m_s must not exceed max_m_s' });

const Reach = z
  .object({
    /** River km as in stations.yaml (counted downstream), inclusive start. */
    from_km: z.number().nonnegative(),
    to_km: z.number().positive(),
    velocity: Velocity,
    note: z.string().optional(),
  })
  .strict()
  .refine((r) => r.from_km < r.to_km, { message: 'from_km must be less than to_km' });

const River = z
  .object({
    reaches: z.array(Reach).min(1),
  })
  .strict()
  .superRefine((r, ctx) => {
    for (let i = 1; i < r.reaches.length; i++) {
      const prev = r.reaches[i - 1];
      const cur = r.reaches[i];
      if (prev && cur && cur.from_km !== prev.to_km) {
        ctx.addIssue({ code: 'custom', path: ['reaches', i, 'from_km'], message: `reaches must be contiguous and in order: expected from_km ${prev.to_km} (the previous reach's to_km)` });
      }
    }
  });

export const RiversFileSchema = z
  .object({
    version: z.literal(1),
    /** Keyed by the river id of stations.yaml. */
    rivers: z.record(z.string(), River),
  })
  .strict();

export type RiversFile = z.output<typeof RiversFileSchema>;
export type ReachConfig = z.output<typeof Reach>;

/** With the registry: every river is known, and every water section lies inside its river's reaches. */
export function riversSchemaFor(registry: RegistryConfig) {
  return RiversFileSchema.superRefine((f, ctx) => {
    for (const id of Object.keys(f.rivers)) {
      if (!(id in registry.rivers)) ctx.addIssue({ code: 'custom', path: ['rivers', id], message: `unknown river "${id}"; expected one of ${Object.keys(registry.rivers).join(', ')}` });
    }
    for (const s of registry.stations) {
      if (s.kind !== 'water' || !s.river || s.river_km === undefined) continue;
      const river = f.rivers[s.river];
      if (!river) {
        ctx.addIssue({ code: 'custom', path: ['rivers'], message: `no reaches for river "${s.river}" (station ${s.id}): arrival times downstream cannot be estimated` });
        continue;
      }
      const first = river.reaches[0];
      const last = river.reaches[river.reaches.length - 1];
      if (first && last && (s.river_km < first.from_km || s.river_km > last.to_km)) {
        ctx.addIssue({ code: 'custom', path: ['rivers', s.river, 'reaches'], message: `station ${s.id} at km ${s.river_km} lies outside the reaches (km ${first.from_km}–${last.to_km})` });
      }
    }
  });
}
