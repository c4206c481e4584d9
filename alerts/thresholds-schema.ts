import { z } from 'zod';
import { withArticle } from '../lib/format.js';
import { minutes, paramKey } from './rules/config-schema.js';
import { RULES, type AnyRule } from './rules/index.js';
import { PARAMETER_BY_KEY } from '../lib/parameters.js';
import type { RegistryConfig } from '../config/schema.js';

/**
 * Schema of config/thresholds.yaml: the unified thresholds shared by both cities. Everything not set
 * here comes from the standards in force on the reading's own date (GB 3838 class, GB 3095 grade,
 * HJ 633 AQI), so the file only holds policy: which class/grade, how patient each rule is, and
 * where a station or a reach of river deviates. The entries under `rules:` are the rules' own
 * (alerts/rules/: each rule's schema and defaults), so a new rule needs nothing here.
 */

const RULE_SCHEMAS = Object.fromEntries(RULES.map((r) => [r.name, r.config.schema])) as {
  [R in AnyRule as R['name']]: R['config']['schema'];
};
const LimitRule = RULE_SCHEMAS.limit;

const gradedClass = z.enum(['I', 'II', 'III', 'IV', 'V']);
const explicitLimit = z.union([
  z.number(),
  z
    .object({ max: z.number().optional(), min: z.number().optional() })
    .strict()
    .refine((l) => l.max !== undefined || l.min !== undefined, { message: 'give max, min or both' }),
]);

type RuleSchemas = typeof RULE_SCHEMAS;
type PartialRules = { [N in keyof RuleSchemas]?: Partial<z.output<RuleSchemas[N]>> };
type FullRules = { [N in keyof RuleSchemas]: z.output<RuleSchemas[N]> };

/** In overrides each rule may be partial. */
const partialRules = z.strictObject(
  Object.fromEntries(RULES.map((r) => [r.name, r.config.schema.partial().optional()])),
) as unknown as z.ZodType<PartialRules>;

/** In defaults each rule may be partial too; what it leaves out is the rule's own default. */
const defaultRules = z
  .strictObject(
    Object.fromEntries(
      RULES.map((r) => {
        const full: z.ZodObject = r.config.schema;
        return [
          r.name,
          full
            .partial()
            .prefault({})
            .transform((given) => full.parse({ ...r.config.defaults, ...given })),
        ];
      }),
    ),
  )
  .prefault({}) as unknown as z.ZodPrefault<z.ZodType<FullRules, PartialRules>>;

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

const isoWithZone = z.string().refine((s) => /(Z|[+-]\d\d:?\d\d)$/.test(s) && !Number.isNaN(Date.parse(s)), {
  message: 'an ISO 8601 date-time with a zone, e.g. 2026-05-01T08:00:00+08:00',
});

const MaintenanceWindow = z
  .object({ station: z.string().min(1), from: isoWithZone, to: isoWithZone, reason: z.string().min(1).default('maintenance') })
  .strict()
  .refine((w) => Date.parse(w.to) > Date.parse(w.from), { message: 'to must be after from', path: ['to'] });

const Defaults = z
  .object({
    water_class: gradedClass.default('III'),
    air_grade: z.union([z.literal(1), z.literal(2)]).default(2),
    limits: z.record(paramKey, explicitLimit).default({}),
    rules: defaultRules,
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

/** One version of the unified thresholds, as the checks use it (alerts/thresholds.ts: where sets come from). */
export interface ThresholdSet {
  /** Recorded with every alert ("threshold_version"). */
  version: string;
  /** Where it came from, for logs: a file path, or "redis" for a version of the store. */
  source: string;
  config: ThresholdsFile;
}
export type ThresholdDefaults = ThresholdsFile['defaults'];
export type ThresholdOverride = z.output<typeof Override>;
export type ThresholdSection = z.output<typeof Section>;
export type ExplicitLimit = z.output<typeof explicitLimit>;
export type RulesConfig = FullRules;
export type LimitRuleConfig = RulesConfig['limit'];
export type RateRuleConfig = RulesConfig['rate'];
export type WaterClassRuleConfig = RulesConfig['water_class'];
export type AqiRuleConfig = RulesConfig['aqi'];
export type EquipmentRuleConfig = RulesConfig['equipment'];
export type SilenceRuleConfig = RulesConfig['silence'];

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
        if (info && info.medium !== s.kind)
          ctx.addIssue({
            code: 'custom',
            path: ['stations', id, 'limits', p],
            message: `${p} is ${withArticle(info.medium)} parameter, but ${id} is ${withArticle(s.kind)} station`,
          });
      }
    }
    t.sections.forEach((sec, i) => {
      if (!(sec.river in registry.rivers))
        ctx.addIssue({
          code: 'custom',
          path: ['sections', i, 'river'],
          message: `unknown river "${sec.river}"; expected one of ${Object.keys(registry.rivers).join(', ')}`,
        });
    });
    t.maintenance.forEach((w, i) => {
      if (!stations.has(w.station))
        ctx.addIssue({ code: 'custom', path: ['maintenance', i, 'station'], message: `unknown station "${w.station}"` });
    });
  });
}
