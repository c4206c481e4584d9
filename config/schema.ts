import { z } from 'zod';
import { withArticle } from '../lib/format.js';
import { PARAMETER_BY_KEY } from '../lib/parameters.js';
import { SUPPORTED_UNITS, conversionFactor, type Unit } from '../lib/units.js';
import { CRC_FLAVOURS, LENIENCY_NAMES, type Leniency } from '../lib/hj212-tolerance.js';
import { PASSWORD_HASH_PATTERN } from '../lib/password-hash.js';
import { partitionProblem } from './partition.js';

const id = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'a lower-case id of letters, digits and dashes');
const names = z.object({ zh: z.string().min(1), en: z.string().min(1) }).strict();
const paramKey = z.string().refine((k) => PARAMETER_BY_KEY.has(k), { message: 'a canonical parameter key (README, Wire contract)' });

export const StationSchema = z
  .object({
    id,
    name: names,
    city: id,
    kind: z.enum(['water', 'air']),
    river: id.optional(),
    river_km: z.number().nonnegative().optional(),
    coordinates: z.object({ lat: z.number().min(-90).max(90), lon: z.number().min(-180).max(180) }).strict(),
    mn: z.string().regex(/^[A-Za-z0-9-]{1,32}$/, 'an HJ 212 MN (24 hex characters by the standard; up to 32 letters/digits accepted)'),
    target_class: z.enum(['I', 'II', 'III', 'IV', 'V']).optional(),
    waterbody: z.enum(['river', 'lake']).optional(),
    boundary: z.boolean().default(false),
    /** Seconds between two regular reports; the aggregates' completeness and 45-minute rule count slots of it (default: water 600, air 3600). */
    report_interval_s: z.number().int().min(1).max(86_400).optional(),
    drinking_water_intake: z.boolean().default(false),
    shared_with: z.array(id).default([]),
    units: z.record(paramKey, z.enum(SUPPORTED_UNITS)).default({}),
    factor_codes: z.record(z.string().min(1), paramKey).default({}),
    ignore_factors: z.array(z.string().min(1)).default([]),
    // The station's HJ 212 logger: its password for the TCP listener (hashed) and the deviations
    // from the standard it is allowed (docs/operations.md, Pointing a data logger at the platform).
    hj212: z
      .object({
        pw_hash: z.string().regex(PASSWORD_HASH_PATTERN, 'a hash from `tuojiang stations hash-password` (scrypt$…)').optional(),
        crc: z.enum(CRC_FLAVOURS).default('annex-a'),
        lenient: z.array(z.enum(LENIENCY_NAMES as [Leniency, ...Leniency[]])).default([]),
      })
      .strict()
      .prefault({}),
  })
  .strict()
  .superRefine((s, ctx) => {
    if (s.kind === 'water') {
      for (const k of ['river', 'river_km', 'target_class'] as const) {
        if (s[k] === undefined) ctx.addIssue({ code: 'custom', path: [k], message: `required for a water station` });
      }
    }
    for (const [param] of Object.entries(s.units)) {
      const info = PARAMETER_BY_KEY.get(param);
      if (info && info.medium !== s.kind)
        ctx.addIssue({
          code: 'custom',
          path: ['units', param],
          message: `${param} is ${withArticle(info.medium)} parameter, but the station is ${withArticle(s.kind)} station`,
        });
      else if (info && conversionFactor(s.units[param] as Unit, info.unit) === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['units', param],
          message: `${s.units[param]} cannot be converted to ${param}'s unit ${info.unit}`,
        });
      }
    }
  });

export const RegistrySchema = z
  .object({
    version: z.literal(1),
    cities: z.record(id, names),
    rivers: z.record(id, names).default({}),
    stations: z.array(StationSchema).min(1),
  })
  .strict()
  .superRefine((r, ctx) => {
    const seenId = new Map<string, number>();
    const seenMn = new Map<string, number>();
    r.stations.forEach((s, i) => {
      if (seenId.has(s.id))
        ctx.addIssue({
          code: 'custom',
          path: ['stations', i, 'id'],
          message: `duplicate station id "${s.id}" (first at stations[${seenId.get(s.id)}])`,
        });
      seenId.set(s.id, i);
      const mn = s.mn.toUpperCase();
      if (seenMn.has(mn))
        ctx.addIssue({
          code: 'custom',
          path: ['stations', i, 'mn'],
          message: `duplicate MN "${s.mn}" (first at stations[${seenMn.get(mn)}])`,
        });
      seenMn.set(mn, i);
      if (!(s.city in r.cities))
        ctx.addIssue({
          code: 'custom',
          path: ['stations', i, 'city'],
          message: `unknown city "${s.city}"; expected one of ${Object.keys(r.cities).join(', ')}`,
        });
      if (s.river && !(s.river in r.rivers))
        ctx.addIssue({
          code: 'custom',
          path: ['stations', i, 'river'],
          message: `unknown river "${s.river}"; expected one of ${Object.keys(r.rivers).join(', ')}`,
        });
      s.shared_with.forEach((c, j) => {
        if (!(c in r.cities)) ctx.addIssue({ code: 'custom', path: ['stations', i, 'shared_with', j], message: `unknown city "${c}"` });
      });
    });
  });

export const SettingsSchema = z
  .object({
    mqtt: z
      .object({
        topic_prefix: z
          .string()
          .regex(/^[^#+$/][^#+]*$/, 'a topic prefix without wildcards')
          .default('tuojiang'),
        subscriptions: z.array(z.string().min(1)).min(1).default(['tuojiang/water/+', 'tuojiang/air/+']),
        share_group: z
          .string()
          .regex(/^[A-Za-z0-9_-]*$/, 'letters, digits, _ and - (or empty for plain subscriptions)')
          .default(''),
        reconnect_period_ms: z.number().int().min(50).max(60000).default(250),
        client_id_prefix: z
          .string()
          .regex(/^[A-Za-z0-9_-]+$/)
          .default('tuojiang-ingest'),
        connections: z.number().int().min(1).max(64).default(2),
        receive_maximum: z.number().int().min(1).max(65535).default(1000),
        session_expiry_s: z.number().int().min(1).default(604800),
        reply_topic: z.string().includes('{station}').default('tuojiang/reply/{station}'),
        // "k/N": this process subscribes only to the topics of the registry's stations in partition k
        // of N (config/partition.ts); INGEST_PARTITION overrides it. Empty: unpartitioned.
        partition: z
          .string()
          .refine((t) => t.trim() === '' || partitionProblem(t) === undefined, {
            message: 'a partition "k/N" with 1 <= k <= N <= 256, or empty',
          })
          .default(''),
      })
      .strict()
      .superRefine((m, ctx) => {
        if (m.partition.trim() !== '') {
          if (m.share_group)
            ctx.addIssue({
              code: 'custom',
              path: ['partition'],
              message: 'a partitioned ingest uses plain subscriptions: leave share_group empty, or the partition',
            });
          // The partition's exact topics replace the wildcards; a filter that is not one of them (a
          // gateway's topic, where only the frame's MN names the station) could carry any partition's stations.
          const own = new Set([`${m.topic_prefix}/water/+`, `${m.topic_prefix}/air/+`]);
          const other = m.subscriptions.filter((f) => !own.has(f));
          if (other.length > 0)
            ctx.addIssue({
              code: 'custom',
              path: ['subscriptions'],
              message: `with a partition only ${[...own].join(' and ')} may be listed (each becomes its stations' exact topics); ${other.join(', ')} could carry any partition's stations`,
            });
          return;
        }
        if (!m.share_group && m.connections > m.subscriptions.length) {
          ctx.addIssue({
            code: 'custom',
            path: ['connections'],
            message: `without a share_group each connection takes its own subscriptions, so at most ${m.subscriptions.length} (one per filter)`,
          });
        }
      })
      .prefault({}),
    ingest: z
      .object({
        max_payload_bytes: z.number().int().min(256).default(32768),
        future_tolerance_s: z.number().int().min(0).default(600),
        split_timeout_s: z.number().int().min(1).default(120),
        // Parts of split HJ 212 packets one station may have waiting in Redis (ingest/split-packet-store.ts).
        split_max_pending_parts: z.number().int().min(2).max(10000).default(64),
        // Messages one station may send: a sustained rate and a burst, in messages of up to 1 KiB
        // (a larger one counts one per started KiB); beyond, refused before decoding
        // (ingest/station-rate.ts). per_s 0 turns it off.
        station_rate: z
          .object({
            per_s: z.number().min(0).max(1_000_000).default(50),
            burst: z.number().int().min(1).max(100_000_000).default(50_000),
          })
          .prefault({}),
        http_port: z.number().int().min(0).max(65535).default(9464),
        dead_letter_max: z.number().int().min(100).default(100000),
        // The HJ 212 TCP listener for data loggers (ingest/sources/hj212-tcp.ts). HJ212_TCP_PORT in
        // the environment also turns it on, on that port.
        hj212_tcp: z
          .object({
            enabled: z.boolean().default(false),
            host: z.string().min(1).default('0.0.0.0'),
            port: z.number().int().min(0).max(65535).default(9212),
            max_connections: z.number().int().min(1).max(100000).default(2000),
            max_connections_per_ip: z.number().int().min(1).max(100000).default(200),
            // A frame is at most ## + 4 + 9,999 + 4 + 2 bytes; a longer line is refused.
            max_frame_bytes: z.number().int().min(64).max(1_048_576).default(10_011),
            // Frames of one connection read but not yet durable; beyond, reading from it pauses.
            max_pending_per_connection: z.number().int().min(1).max(10000).default(200),
            idle_timeout_s: z.number().int().min(1).default(600),
            // A frame begun and not finished within this is a slow client: the connection is closed.
            frame_timeout_s: z.number().int().min(1).default(30),
            // Answers a logger has not read (our send buffer): beyond this it is a slow reader, closed.
            max_unread_answer_bytes: z.number().int().min(1024).default(65_536),
            // An identical frame re-sent within this is stored once (the logger did not get our answer).
            resend_window_s: z.number().int().min(60).default(3600),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .superRefine((i, ctx) => {
        // Tokens never exceed the burst: a message costing more could never be admitted.
        const largest = Math.ceil(i.max_payload_bytes / 1024);
        if (i.station_rate.per_s > 0 && i.station_rate.burst < largest) {
          ctx.addIssue({
            code: 'custom',
            path: ['station_rate', 'burst'],
            message: `at least ${largest}: a message of max_payload_bytes (${i.max_payload_bytes}) costs one per started KiB, and a burst below that would refuse it always`,
          });
        }
      })
      .prefault({}),
    // The key prefix of the BullMQ queues and of the alert, notification, threshold and aggregate
    // state, shared by every process (REDIS_PREFIX, and a command's --prefix, override it). On a
    // Redis Cluster it needs a hash tag, e.g. "{tuojiang}" (decision 0016).
    redis: z
      .object({
        prefix: z
          .string()
          .regex(/^[^\s]{1,64}$/, 'up to 64 characters without spaces, e.g. tuojiang or {tuojiang}')
          .default('tuojiang'),
        // Replicas that must hold a journal append (and the check hand-off) before the ingest
        // acknowledges the readings: Redis replicates asynchronously, so a master lost right after
        // an acknowledged write takes that write with it when its replica is promoted. 0 (one node,
        // or no replicas): acknowledged once the master has it (decision 0016).
        wait_replicas: z.number().int().min(0).max(5).default(0),
        // How long to wait for them; fewer in time and the readings stay unacknowledged (re-sent).
        wait_timeout_ms: z.number().int().min(10).max(60_000).default(2000),
        // An alerts worker's lock on a running check job (renewed at half of it): a worker that dies
        // mid-job leaves it to another after this and up to 5 s more; a Redis outage or failover
        // longer than this runs the jobs that were running a second time (harmless, decision 0003).
        check_lock_s: z.number().int().min(5).max(300).default(10),
      })
      .strict()
      .prefault({}),
    journal: z
      .object({
        stream: z.string().min(1).default('tuojiang:journal'),
        dead_letter_stream: z.string().min(1).default('tuojiang:deadletters'),
        group: z.string().min(1).default('writers'),
      })
      .strict()
      .prefault({}),
    writer: z
      .object({
        batch_size: z.number().int().min(1).max(50000).default(5000),
        block_ms: z.number().int().min(1).default(200),
        retry_initial_ms: z.number().int().min(1).default(250),
        retry_max_ms: z.number().int().min(1).default(10000),
        claim_idle_ms: z.number().int().min(1000).default(60000),
        linger_ms: z.number().int().min(0).max(5000).default(25),
        read_entries: z.number().int().min(1).max(10000).default(32),
        correction_window_h: z
          .number()
          .positive()
          .max(24 * 366)
          .default(168),
      })
      .strict()
      .prefault({}),
  })
  .strict();

export type StationConfig = z.output<typeof StationSchema>;
export type RegistryConfig = z.output<typeof RegistrySchema>;
export type Settings = z.output<typeof SettingsSchema>;
