import { z } from 'zod';
import { PARAMETER_BY_KEY } from '../lib/parameters.js';
import type { RegistryConfig } from './schema.js';

/**
 * Schema of config/thresholds.yaml: the unified thresholds shared by both cities. Everything not set
 * here comes from the standards in force on the reading's own date (GB 3838 class, GB 3095 grade,
 * HJ 633 AQI), so the file only holds policy: which class/grade, how patient each rule is, and
 * where a station or a reach of river deviates.
 */

const paramKey = z.string().refine((k) => PARAMETER_BY_KEY.has(k), { message: 'a canonical parameter key (README, Wire contract)' });
const count = z.number().int().min(1).max(1000);
const minutes = z.number().positive().max(60 * 24 * 31);
const fraction = z.number().min(0).max(0.9);

/** Rule timing shared by every stateful rule: how many/how long before firing, how many before clearing. */
const timing = {
  enabled: z.boolean(),
  /** N: consecutive readings beyond the threshold before firing (1 = instant). */
  consecutive: count,
  /** T: or beyond it for this many minutes, first to last breaching reading (null = only N counts). */
  duration_min: minutes.nullable(),
  /** M: consecutive readings past the clear level before resolving. */
  clear_consecutive: count,
  /** h: clears only at limit × (1 − h) (upper bounds) or limit × (1 + h) (lower bounds). */
  hysteresis: fraction,
};

const LimitRule = z.object(timing).strict();
const RateRule = z
  .object({
    ...timing,
    /** Maximum rise per hour, in the parameter's unit, for each parameter watched. */
    per_hour: z.record(paramKey, z.number().positive()),
    /** Two readings further apart than this are not compared (a gap is not a rise). */
    max_gap_min: minutes,
  })
  .strict();
const WaterClassRule = z
  .object({
    ...timing,
    /** GB 3838 items reported with their own class but not deciding the section's (national method: TN, fecal coliform). */
    reference_items: z.array(paramKey),
  })
  .strict();
const AqiRule = z
  .object({
    ...timing,
    /** HJ 633 category level at or above which the rule breaches: 3 = 轻度污染 (AQI > 100). */
    level: z.number().int().min(2).max(6),
  })
  .strict();
const EquipmentRule = z.object({ enabled: z.boolean(), consecutive: count, clear_consecutive: count }).strict();
const SilenceRule = z.object({ enabled: z.boolean(), after_min: minutes }).strict();

const gradedClass = z.enum(['I', 'II', 'III', 'IV', 'V']);
const explicitLimit = z.union([
  z.number(),
  z
    .object({ max: z.number().optional(), min: z.number().optional() })
    .strict()
    .refine((l) => l.max !== undefined || l.min !== undefined, { message: 'give max, min or both' }),
]);

/** In overrides each rule may be partial. */
const partialRules = z
  .object({
    limit: LimitRule.partial().optional(),
    rate: RateRule.partial().optional(),
    water_class: WaterClassRule.partial().optional(),
    aqi: AqiRule.partial().optional(),
    equipment: EquipmentRule.partial().optional(),
    silence: SilenceRule.partial().optional(),
  })
  .strict();

/** What a section or station may change. Absent keys inherit. */
const overrideFields = {
  /** GB 3838 class whose limits are the water thresholds. */
  water_class: gradedClass.optional(),
  /** The class the water_class rule compares against (default: the station's target_class). */
  target_class: gradedClass.optional(),
  /** GB 3095 grade whose limits are the air thresholds. */
  air_grade: z.union([z.literal(1), z.literal(2)]).optional(),
  /** Absolute limits replacing the standard's, in the catalogue unit; a number is an upper bound. */
  limits: z.record(paramKey, explicitLimit).optional(),
  rules: partialRules.optional(),
  /** Per-parameter changes to the limit rule (e.g. instant for toxic metals). */
  parameters: z.record(paramKey, LimitRule.partial()).optional(),
  /** Repeat a firing alert's notice this often while it lasts (null = never). */
  reminder_min: minutes.nullable().optional(),
};

const Override = z.object(overrideFields).strict();

const Section = z
  .object({
    name: z.string().min(1).optional(),
    river: z.string().min(1),
    from_km: z.number().nonnegative(),
    to_km: z.number().nonnegative(),
    ...overrideFields,
  })
  .strict()
  .refine((s) => s.to_km >= s.from_km, { message: 'to_km must not be below from_km', path: ['to_km'] });

const isoWithZone = z
  .string()
  .refine((s) => /(Z|[+-]\d\d:?\d\d)$/.test(s) && !Number.isNaN(Date.parse(s)), { message: 'an ISO 8601 date-time with a zone, e.g. 2026-05-01T08:00:00+08:00' });

const MaintenanceWindow = z
  .object({ station: z.string().min(1), from: isoWithZone, to: isoWithZone, reason: z.string().min(1).default('maintenance') })
  .strict()
  .refine((w) => Date.parse(w.to) > Date.parse(w.from), { message: 'to must be after from', path: ['to'] });

const Defaults = z
  .object({
    water_class: gradedClass.default('III'),
    air_grade: z.union([z.literal(1), z.literal(2)]).default(2),
    limits: z.record(paramKey, explicitLimit).default({}),
    rules: z
      .object({
        limit: LimitRule.partial().prefault({}).transform((r) => LimitRule.parse({ enabled: true, consecutive: 3, duration_min: 60, clear_consecutive: 2, hysteresis: 0.1, ...r })),
        rate: RateRule.partial().prefault({}).transform((r) =>
          RateRule.parse({ enabled: true, consecutive: 2, duration_min: null, clear_consecutive: 1, hysteresis: 0, per_hour: {}, max_gap_min: 180, ...r }),
        ),
        water_class: WaterClassRule.partial().prefault({}).transform((r) =>
          WaterClassRule.parse({ enabled: true, consecutive: 2, duration_min: null, clear_consecutive: 2, hysteresis: 0, reference_items: ['TN', 'fecal_coliform'], ...r }),
        ),
        aqi: AqiRule.partial().prefault({}).transform((r) =>
          AqiRule.parse({ enabled: true, level: 3, consecutive: 2, duration_min: null, clear_consecutive: 2, hysteresis: 0, ...r }),
        ),
        equipment: EquipmentRule.partial().prefault({}).transform((r) => EquipmentRule.parse({ enabled: true, consecutive: 3, clear_consecutive: 1, ...r })),
        silence: SilenceRule.partial().prefault({}).transform((r) => SilenceRule.parse({ enabled: true, after_min: 30, ...r })),
      })
      .strict()
      .prefault({}),
    parameters: z.record(paramKey, LimitRule.partial()).default({}),
    reminder_min: minutes.nullable().default(240),
  })
  .strict();

const Engine = z
  .object({
    /** How often the silence check runs (a BullMQ job scheduler). */
    silence_interval_s: z.number().int().min(1).max(3600).default(60),
  })
  .strict();

export const ThresholdsFileSchema = z
  .object({
    /** Recorded with every alert; change it whenever anything in this file changes. */
    version: z.union([z.string().regex(/^[A-Za-z0-9._-]{1,40}$/, 'letters, digits, . _ -'), z.number().int().positive()]).transform(String),
    description: z.string().optional(),
    defaults: Defaults.prefault({}),
    sections: z.array(Section).default([]),
    stations: z.record(z.string(), Override).default({}),
    maintenance: z.array(MaintenanceWindow).default([]),
    engine: Engine.prefault({}),
  })
  .strict();

export type ThresholdsFile = z.output<typeof ThresholdsFileSchema>;
export type ThresholdDefaults = ThresholdsFile['defaults'];
export type ThresholdOverride = z.output<typeof Override>;
export type ThresholdSection = z.output<typeof Section>;
export type ExplicitLimit = z.output<typeof explicitLimit>;
export type LimitRuleConfig = z.output<typeof LimitRule>;
export type RateRuleConfig = z.output<typeof RateRule>;
export type WaterClassRuleConfig = z.output<typeof WaterClassRule>;
export type AqiRuleConfig = z.output<typeof AqiRule>;
export type EquipmentRuleConfig = z.output<typeof EquipmentRule>;
export type SilenceRuleConfig = z.output<typeof SilenceRule>;
export type RulesConfig = ThresholdDefaults['rules'];

/**
 * The schema with the registry's cross-references checked too (station ids, rivers, the medium of
 * each overridden parameter), so a typo is reported with its file and line rather than ignored.
 */
export function thresholdsSchemaFor(registry: RegistryConfig) {
  const stations = new Map(registry.stations.map((s) => [s.id, s]));
  return ThresholdsFileSchema.superRefine((t, ctx) => {
    for (const [id, o] of Object.entries(t.stations)) {
      const s = stations.get(id);
      if (!s) {
        ctx.addIssue({ code: 'custom', path: ['stations', id], message: `unknown station "${id}" (not in stations.yaml)` });
        continue;
      }
      for (const p of Object.keys(o.limits ?? {})) {
        const info = PARAMETER_BY_KEY.get(p);
        if (info && info.medium !== s.kind) ctx.addIssue({ code: 'custom', path: ['stations', id, 'limits', p], message: `${p} is a ${info.medium} parameter, but ${id} is a ${s.kind} station` });
      }
    }
    t.sections.forEach((sec, i) => {
      if (!(sec.river in registry.rivers)) ctx.addIssue({ code: 'custom', path: ['sections', i, 'river'], message: `unknown river "${sec.river}"; expected one of ${Object.keys(registry.rivers).join(', ')}` });
    });
    t.maintenance.forEach((w, i) => {
      if (!stations.has(w.station)) ctx.addIssue({ code: 'custom', path: ['maintenance', i, 'station'], message: `unknown station "${w.station}"` });
    });
  });
}
