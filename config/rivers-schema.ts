import { z } from 'zod';
import type { RegistryConfig } from './schema.js';

/**
 * Schema of config/rivers.yaml: how fast water (and a pollutant plume with it) travels along each
 * reach of a river, as a range of velocities. The middle Tuojiang is a chain of weirs and dams and
 * no reliable figure is published (docs/domain.md §4), so the bureaus set these and the notices
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

/**
 * Kinds of sensitive receptor. A drinking-water intake is what a downstream bureau must protect
 * first; the others are named so a notice can say what else lies in the plume's path.
 */
export const RECEPTOR_KINDS = ['drinking_water_intake', 'irrigation_intake', 'industrial_intake', 'nature_reserve', 'other'] as const;

const text = (max: number) => z.string().trim().min(1).max(max);

const Receptor = z
  .object({
    /** Stable id, used in notices and links: lower-case, no spaces. */
    id: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'lower-case letters, digits and - (up to 63), e.g. shiqiao-intake'),
    name: z.object({ zh: text(200), en: text(200) }).strict(),
    kind: z.enum(RECEPTOR_KINDS),
    /** River km as in stations.yaml (counted downstream); must lie inside the river's reaches. */
    river_km: z.number().nonnegative(),
    /** The city that owns it (its bureau is the one to call): a city of stations.yaml. */
    city: text(64),
    /** The monitoring section at the receptor, if there is one (a station of this river, within 2 km). */
    station: text(64).optional(),
    /** Who runs it, to be called when a plume is on its way. */
    contact: z
      .object({
        name: text(200),
        phone: z
          .string()
          .regex(/^\+?[0-9][0-9 ()-]{4,30}$/, 'a telephone number, e.g. +86 28 1234 5678')
          .optional(),
        email: z.email('an e-mail address').max(254).optional(),
      })
      .strict(),
    note: text(500).optional(),
  })
  .strict();

const River = z
  .object({
    reaches: z.array(Reach).min(1),
    /** Drinking-water intakes and other sensitive receptors on this river (read with config/receptors.ts). */
    receptors: z.array(Receptor).max(500).optional(),
  })
  .strict()
  .superRefine((r, ctx) => {
    for (let i = 1; i < r.reaches.length; i++) {
      const prev = r.reaches[i - 1];
      const cur = r.reaches[i];
      if (prev && cur && cur.from_km !== prev.to_km) {
        ctx.addIssue({
          code: 'custom',
          path: ['reaches', i, 'from_km'],
          message: `reaches must be contiguous and in order: expected from_km ${prev.to_km} (the previous reach's to_km)`,
        });
      }
    }
    const first = r.reaches[0];
    const last = r.reaches[r.reaches.length - 1];
    if (!first || !last) return;
    (r.receptors ?? []).forEach((x, i) => {
      // An intake outside the reaches would never get an arrival estimate: refuse it rather than stay silent.
      if (x.river_km < first.from_km || x.river_km > last.to_km) {
        ctx.addIssue({
          code: 'custom',
          path: ['receptors', i, 'river_km'],
          message: `km ${x.river_km} lies outside the reaches (km ${first.from_km}–${last.to_km})`,
        });
      }
    });
  });

export const RiversFileSchema = z
  .object({
    version: z.literal(1),
    /** Keyed by the river id of stations.yaml. */
    rivers: z.record(z.string(), River),
  })
  .strict()
  .superRefine((f, ctx) => {
    // Receptor ids are unique across the file: a notice or link names one without its river.
    const seen = new Map<string, string>();
    for (const [river, r] of Object.entries(f.rivers)) {
      (r.receptors ?? []).forEach((x, i) => {
        const where = `rivers.${river}.receptors[${i}]`;
        const other = seen.get(x.id);
        if (other)
          ctx.addIssue({
            code: 'custom',
            path: ['rivers', river, 'receptors', i, 'id'],
            message: `duplicate receptor id "${x.id}" (also ${other})`,
          });
        else seen.set(x.id, where);
      });
    }
  });

export type RiversFile = z.output<typeof RiversFileSchema>;
export type ReachConfig = z.output<typeof Reach>;
export type ReceptorConfig = z.output<typeof Receptor>;
export type ReceptorKind = (typeof RECEPTOR_KINDS)[number];

/** How far a receptor's `station` may lie from the receptor itself. */
const STATION_NEAR_KM = 2;

/**
 * With the registry: every river is known, every water section lies inside its river's reaches,
 * and every receptor belongs to a known city (and names a section of its own river, if any).
 */
export function riversSchemaFor(registry: RegistryConfig) {
  const cities = Object.keys(registry.cities);
  const stations = new Map(registry.stations.map((s) => [s.id, s]));
  return RiversFileSchema.superRefine((f, ctx) => {
    for (const [river, r] of Object.entries(f.rivers)) {
      (r.receptors ?? []).forEach((x, i) => {
        const at = ['rivers', river, 'receptors', i];
        if (!(x.city in registry.cities))
          ctx.addIssue({
            code: 'custom',
            path: [...at, 'city'],
            message: `unknown city "${x.city}"; expected one of ${cities.join(', ')}`,
          });
        if (x.station === undefined) return;
        const s = stations.get(x.station);
        if (!s)
          ctx.addIssue({ code: 'custom', path: [...at, 'station'], message: `unknown station "${x.station}" (not in stations.yaml)` });
        else if (s.kind !== 'water' || s.river !== river || s.river_km === undefined)
          ctx.addIssue({ code: 'custom', path: [...at, 'station'], message: `station ${s.id} is not a section of the ${river}` });
        else if (Math.abs(s.river_km - x.river_km) > STATION_NEAR_KM)
          ctx.addIssue({
            code: 'custom',
            path: [...at, 'station'],
            message: `station ${s.id} is at km ${s.river_km}, not at the receptor's km ${x.river_km} (within ${STATION_NEAR_KM} km)`,
          });
      });
    }
    for (const id of Object.keys(f.rivers)) {
      if (!(id in registry.rivers))
        ctx.addIssue({
          code: 'custom',
          path: ['rivers', id],
          message: `unknown river "${id}"; expected one of ${Object.keys(registry.rivers).join(', ')}`,
        });
    }
    for (const s of registry.stations) {
      if (s.kind !== 'water' || !s.river || s.river_km === undefined) continue;
      const river = f.rivers[s.river];
      if (!river) {
        ctx.addIssue({
          code: 'custom',
          path: ['rivers'],
          message: `no reaches for river "${s.river}" (station ${s.id}): arrival times downstream cannot be estimated`,
        });
        continue;
      }
      const first = river.reaches[0];
      const last = river.reaches[river.reaches.length - 1];
      if (first && last && (s.river_km < first.from_km || s.river_km > last.to_km)) {
        ctx.addIssue({
          code: 'custom',
          path: ['rivers', s.river, 'reaches'],
          message: `station ${s.id} at km ${s.river_km} lies outside the reaches (km ${first.from_km}–${last.to_km})`,
        });
      }
    }
  });
}
