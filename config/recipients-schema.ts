import { z } from 'zod';
import { PARAMETER_BY_KEY } from '../lib/parameters.js';
import type { RegistryConfig } from './schema.js';

/**
 * Schema of config/recipients.yaml: who each city's environment bureau wants told, in which
 * language, when it may be left alone (quiet hours, never for severe alerts), how soon an alert it
 * has not acknowledged goes up its escalation list, and the few settings of the notices themselves.
 * Addresses are configuration; SMTP endpoints and secrets come from the environment (SMTP_URL,
 * MAIL_FROM, ACK_SECRET, and the variables `channels:` names for WeCom robots and webhooks).
 */

const names = z.object({ zh: z.string().min(1), en: z.string().min(1) }).strict();
const paramKey = z.string().refine((k) => PARAMETER_BY_KEY.has(k), { message: 'a canonical parameter key (README, Wire contract)' });
const hhmm = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'a time of day HH:MM (China Standard Time)');

/**
 * zh-en: Chinese first, English second (the default, what both bureaus agreed);
 * zh or en: one language only, for a reader who asked for it.
 */
export const LANGUAGES = ['zh-en', 'zh', 'en'] as const;
export type Language = (typeof LANGUAGES)[number];

/** Ids of robots and endpoints under `channels:` (also used in Redis keys and logs). */
const channelId = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'lower-case letters, digits, _ and -, at most 63');
/** The name of an environment variable that holds a URL or a secret (never the value itself). */
const envName = z.string().regex(/^[A-Z][A-Z0-9_]{0,127}$/, 'an environment variable name (A-Z, 0-9, _): the value stays out of the file');

/**
 * One person of a duty or escalation list and their contacts per channel. The e-mail address is
 * always there: it is the record the bureaus agreed on (threads, escalations, threshold notices);
 * a WeCom group robot and a webhook endpoint are extra ways the same notice reaches them.
 */
const Person = z
  .object({
    name: z.string().min(1),
    email: z.email('an e-mail address'),
    language: z.enum(LANGUAGES).optional(),
    /** A WeCom (企业微信) group robot of `channels.wecom.robots`; `mention` is a WeCom userid to @ in the message. */
    wecom: z
      .object({
        robot: channelId,
        mention: z
          .string()
          .regex(/^[A-Za-z0-9_.@-]{1,64}$/, 'a WeCom userid')
          .optional(),
      })
      .strict()
      .optional(),
    /** An endpoint of `channels.webhook.endpoints` (a duty system that subscribes to the notices). */
    webhook: channelId.optional(),
  })
  .strict();

/**
 * Where the channels other than e-mail deliver. URLs and secrets are named by environment
 * variable only: a WeCom robot's URL carries its key, and a webhook's secret signs every request.
 */
const Channels = z
  .object({
    wecom: z
      .object({
        /** WeCom accepts at most 20 messages a minute per robot; more wait their turn (never dropped). */
        per_minute: z.number().int().min(1).max(20).default(20),
        robots: z.record(channelId, z.object({ url_env: envName }).strict()).default({}),
      })
      .strict()
      .prefault({}),
    webhook: z
      .object({
        endpoints: z.record(channelId, z.object({ url_env: envName, secret_env: envName }).strict()).default({}),
      })
      .strict()
      .prefault({}),
  })
  .strict();

/** Non-severe notices raised inside [from, to) are held until `to`; `from` > `to` spans midnight. */
const QuietHours = z
  .object({ from: hhmm, to: hhmm })
  .strict()
  .refine((q) => q.from !== q.to, { message: 'from and to must differ' });

const policy = {
  language: z.enum(LANGUAGES),
  /** Transitions for the same recipient within this many seconds of the first become one e-mail. */
  group_wait_s: z.number().min(0).max(600),
  /** A firing alert this bureau has not acknowledged within this time goes to its escalation list. */
  ack_timeout_min: z
    .number()
    .positive()
    .max(7 * 24 * 60),
  quiet_hours: QuietHours.nullable(),
};

const Bureau = z
  .object({
    name: names,
    duty: z.array(Person).min(1, 'at least one duty address'),
    escalation: z.array(Person).default([]),
    // Unset: the defaults' value.
    language: policy.language.optional(),
    group_wait_s: policy.group_wait_s.optional(),
    ack_timeout_min: policy.ack_timeout_min.optional(),
    quiet_hours: policy.quiet_hours.optional(),
  })
  .strict();

const Severity = z
  .object({
    /** A limit exceeded by this factor (value ≥ ratio × limit; ≤ limit / ratio for a lower bound such as DO) is severe. */
    ratio: z.number().min(1).default(2),
    /** Any exceedance of these (toxic items) is severe. */
    parameters: z.array(paramKey).default(['Hg', 'Cd', 'Cr6', 'Pb', 'As', 'CN']),
    /** A section's water class among these is severe. */
    water_classes: z.array(z.enum(['IV', 'V', '劣V'])).default(['劣V']),
    /** An AQI category at or above this level (5 = 重度污染, AQI > 200) is severe. */
    aqi_level: z.number().int().min(2).max(6).default(5),
    /** Any pollution alert at a drinking-water intake is severe. */
    drinking_water_intake: z.boolean().default(true),
  })
  .strict();

const Delivery = z
  .object({
    /** Retries of a refused or failed delivery: exponential from the first delay, capped. */
    retry_initial_s: z.number().positive().max(600).default(2),
    retry_max_s: z.number().positive().max(3600).default(60),
    /** A notice still not delivered after this long is dead-lettered. */
    give_up_after_h: z
      .number()
      .positive()
      .max(24 * 30)
      .default(72),
    /**
     * How long one delivery attempt may take (connect, envelope, data, reply). Another worker
     * treats an attempt older than this as dead; SMTP timeouts are kept inside it.
     */
    attempt_timeout_s: z.number().min(2).max(600).default(60),
    /** Pooled SMTP connections per notify process. */
    max_connections: z.number().int().min(1).max(50).default(4),
  })
  .strict();

const Links = z
  .object({
    /**
     * Grafana panel for one station and time range, appended to GRAFANA_URL. Placeholders:
     * {station} {city} {parameter} {from} {to} (epoch ms).
     */
    grafana_path: z.string().startsWith('/').default('/d/tuojiang-station/station?orgId=1&var-station={station}&from={from}&to={to}'),
    /** Hours shown before the alert (and after it, or its end). */
    grafana_window_h: z
      .number()
      .positive()
      .max(24 * 31)
      .default(6),
    /** How long an acknowledgement link stays valid. */
    ack_link_valid_days: z.number().positive().max(90).default(14),
  })
  .strict();

const Cap = z
  .object({
    /** CAP <sender>: no spaces, commas, '<' or '&'. */
    sender: z
      .string()
      .regex(/^[^\s,<&]+$/, 'no spaces, commas, < or &')
      .default('tuojiang-alerts@example.invalid'),
    sender_name: names.default({ zh: '沱江流域成资联合预警', en: 'Tuojiang basin Chengdu–Ziyang joint alerting' }),
    scope: z.enum(['Public', 'Restricted']).default('Restricted'),
    restriction: z.string().min(1).default('For the Chengdu and Ziyang environment bureaus'),
  })
  .strict();

const Family = z
  .object({
    name: names,
    parameters: z.array(paramKey).min(1),
  })
  .strict();

/**
 * The incident model (docs/decisions/0010-incidents.md): which parameters are one pollutant
 * family (an ammonia spill raises NH3-N, total nitrogen and the water class together: one
 * incident), how long every section must stay back within limits before the final report, and
 * how often an open incident is reported on while nothing new happens.
 */
const Incidents = z
  .object({
    /**
     * true (default): pollution transitions are evidence of incidents and the bureaus receive the
     * incidents' reports. false: one notice per rule transition (the model before issue 10).
     */
    enabled: z.boolean().default(true),
    families: z.record(z.string().regex(/^[a-z0-9_]+$/, 'lower-case letters, digits and _'), Family).default({
      nitrogen: { name: { zh: '氨氮/氮', en: 'ammonia / nitrogen' }, parameters: ['NH3N', 'TN'] },
      oxygen_demand: { name: { zh: '耗氧有机物', en: 'oxygen demand' }, parameters: ['CODMn', 'COD', 'BOD5', 'DO'] },
      phosphorus: { name: { zh: '总磷', en: 'phosphorus' }, parameters: ['TP'] },
      metals: { name: { zh: '重金属', en: 'metals' }, parameters: ['Cu', 'Zn', 'Se', 'As', 'Hg', 'Cd', 'Cr6', 'Pb'] },
      particles: { name: { zh: '颗粒物', en: 'particulate matter' }, parameters: ['PM2_5', 'PM10'] },
    }),
    /**
     * An incident opened by a rate or class rule (no concentration over a limit yet) waits this long
     * (event time) for one before its 初报, so the first report carries a concentration.
     */
    initial_wait_min: z.number().min(0).max(120).default(15),
    /** Every section the incident reached must stay back within limits this long before the final report. */
    hold_min: z
      .number()
      .min(0)
      .max(7 * 24 * 60)
      .default(120),
    /** A firing downstream joins the incident if it comes no later than the window's end plus this share of its width (at least 30 min). */
    window_margin: z.number().min(0).max(10).default(0.5),
    /** Observed travel velocities are widened by this share each way before they narrow a window. */
    velocity_margin: z.number().min(0).max(1).default(0.25),
    /** While an incident is open and nothing new happens, a follow-up report at most this often (event time). */
    report_every_min: z
      .number()
      .min(1)
      .max(7 * 24 * 60)
      .default(1440),
    /** A new peak is news when it is this share above the peak last reported. */
    peak_step: z.number().min(0).max(10).default(0.25),
    /** Evidence waits this long so that transitions of several sections are applied in event-time order. */
    reorder_s: z.number().min(0).max(60).default(0.2),
  })
  .strict();

export const RecipientsFileSchema = z
  .object({
    version: z.literal(1),
    defaults: z
      .object({
        language: policy.language.default('zh-en'),
        group_wait_s: policy.group_wait_s.default(0.5),
        ack_timeout_min: policy.ack_timeout_min.default(30),
        quiet_hours: policy.quiet_hours.default(null),
      })
      .strict()
      .prefault({}),
    /** Keyed by the city id of stations.yaml. */
    bureaus: z.record(z.string(), Bureau),
    severity: Severity.prefault({}),
    delivery: Delivery.prefault({}),
    links: Links.prefault({}),
    cap: Cap.prefault({}),
    incidents: Incidents.prefault({}),
    channels: Channels.prefault({}),
  })
  .strict();

export type RecipientsFile = z.output<typeof RecipientsFileSchema>;
export type BureauConfig = z.output<typeof Bureau>;
export type PersonConfig = z.output<typeof Person>;
export type SeverityPolicy = z.output<typeof Severity>;
export type QuietHoursConfig = z.output<typeof QuietHours>;
export type IncidentsConfig = z.output<typeof Incidents>;
export type ChannelsConfig = z.output<typeof Channels>;

/** The schema with the checks that need the registry: bureaus are cities of stations.yaml. */
export function recipientsSchemaFor(registry: RegistryConfig) {
  return RecipientsFileSchema.superRefine((r, ctx) => {
    for (const city of Object.keys(r.bureaus)) {
      if (!(city in registry.cities)) {
        ctx.addIssue({
          code: 'custom',
          path: ['bureaus', city],
          message: `unknown city "${city}"; expected one of ${Object.keys(registry.cities).join(', ')}`,
        });
      }
    }
    const owner = new Map<string, string>();
    for (const [fam, f] of Object.entries(r.incidents.families)) {
      for (const p of f.parameters) {
        const other = owner.get(p);
        if (other)
          ctx.addIssue({
            code: 'custom',
            path: ['incidents', 'families', fam, 'parameters'],
            message: `${p} is already in family "${other}": a parameter belongs to one family`,
          });
        owner.set(p, fam);
      }
    }
    // A person's robot or endpoint must be declared under channels: (a typo would silently drop a channel).
    for (const [city, b] of Object.entries(r.bureaus)) {
      for (const list of ['duty', 'escalation'] as const) {
        b[list].forEach((person, i) => {
          if (person.wecom && !Object.hasOwn(r.channels.wecom.robots, person.wecom.robot)) {
            ctx.addIssue({
              code: 'custom',
              path: ['bureaus', city, list, i, 'wecom', 'robot'],
              message: `unknown WeCom robot "${person.wecom.robot}"; declare it under channels.wecom.robots (known: ${Object.keys(r.channels.wecom.robots).join(', ') || 'none'})`,
            });
          }
          if (person.webhook !== undefined && !Object.hasOwn(r.channels.webhook.endpoints, person.webhook)) {
            ctx.addIssue({
              code: 'custom',
              path: ['bureaus', city, list, i, 'webhook'],
              message: `unknown webhook endpoint "${person.webhook}"; declare it under channels.webhook.endpoints (known: ${Object.keys(r.channels.webhook.endpoints).join(', ') || 'none'})`,
            });
          }
        });
      }
    }
    for (const city of Object.keys(registry.cities)) {
      if (!(city in r.bureaus))
        ctx.addIssue({
          code: 'custom',
          path: ['bureaus'],
          message: `no bureau for city "${city}": every city of stations.yaml must have one`,
        });
    }
  });
}
