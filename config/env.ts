import { z } from 'zod';
import { TuojiangError } from '../lib/errors.js';
import { hideUserinfo } from '../lib/redact-url.js';
import { partitionProblem } from './partition.js';

/**
 * Endpoints and secrets come from the environment only (never from files in the repository).
 * Defaults point at local services so a developer machine works out of the box.
 */
/** A string that parses as a URL with one of these schemes. */
export const url = (protocols: string[]) =>
  z.string().refine(
    (s) => {
      try {
        return protocols.includes(new URL(s).protocol);
      } catch {
        return false;
      }
    },
    { message: `a URL with scheme ${protocols.map((p) => p.replace(':', '://')).join(' or ')}` },
  );

/** The node URLs of a REDIS_URL (one or several, comma-separated); undefined when one is not a redis:// URL. */
export function redisUrls(s: string): URL[] | undefined {
  const parts = s.split(',').map((p) => p.trim());
  const urls: URL[] = [];
  for (const p of parts) {
    try {
      const u = new URL(p);
      if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') return undefined;
      urls.push(u);
    } catch {
      return undefined;
    }
  }
  return urls.length > 0 ? urls : undefined;
}

/** host:port items of REDIS_CLUSTER_NODES (a host name, an IPv4 address or a [bracketed] IPv6 one). */
export function clusterNodes(s: string): string[] | undefined {
  const nodes = s.split(',').map((p) => p.trim());
  const ok = nodes.every((n) => {
    const m = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?):(\d{1,5})$/.exec(n);
    return m !== null && Number(m[2]) >= 1 && Number(m[2]) <= 65535;
  });
  return ok && nodes.length > 0 ? nodes : undefined;
}

const EnvFields = z.object({
  // The broker's service listener (1884); stations use 1883 (config/mosquitto/mosquitto.conf).
  MQTT_URL: url(['mqtt:', 'mqtts:', 'ws:', 'wss:', 'tcp:']).default('mqtt://127.0.0.1:1884'),
  MQTT_USERNAME: z.string().min(1).optional(),
  MQTT_PASSWORD: z.string().optional(),
  // One node's URL, or several separated by commas: a Redis Cluster's nodes (any few of them; the
  // client finds the rest). Credentials and TLS come from the (first) URL.
  REDIS_URL: z
    .string()
    .refine((s) => redisUrls(s) !== undefined, {
      message: 'a URL with scheme redis:// or rediss://, or several separated by commas (the nodes of a Redis Cluster)',
    })
    .default('redis://127.0.0.1:6379'),
  // A Redis Cluster by its nodes, host:port,host:port,… (credentials and TLS from REDIS_URL, whose
  // host is then not used). Set, it makes REDIS_URL the list of these nodes.
  REDIS_CLUSTER_NODES: z
    .string()
    .refine((s) => clusterNodes(s) !== undefined, {
      message: "host:port,host:port,… (a Redis Cluster's nodes, ports 1-65535; credentials and TLS from REDIS_URL)",
    })
    .optional(),
  // Overrides config redis.prefix (the queues' and the alert state's key prefix; "{tuojiang}" on a cluster).
  REDIS_PREFIX: z
    .string()
    .regex(/^[^\s]{1,64}$/, 'up to 64 characters without spaces, e.g. tuojiang or {tuojiang}')
    .optional(),
  // Overrides config redis.wait_replicas (replicas that must hold a journal append before readings are acknowledged).
  REDIS_WAIT_REPLICAS: z.coerce.number().int().min(0).max(5).optional(),
  // This ingest process's journal and dead-letter streams, overriding config journal.* (one journal
  // per ingest partition, each with its own hash tag on a cluster: "{tj-p1}:journal").
  JOURNAL_STREAM: z
    .string()
    .regex(/^\S{1,200}$/, 'a stream name without spaces')
    .optional(),
  JOURNAL_DEAD_LETTER_STREAM: z
    .string()
    .regex(/^\S{1,200}$/, 'a stream name without spaces')
    .optional(),
  INFLUX_URL: url(['http:', 'https:']).default('http://127.0.0.1:8086'),
  INFLUX_DB: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/, 'a database name of letters, digits, _ and -')
    .default('tuojiang'),
  INFLUX_USER: z.string().min(1).optional(),
  INFLUX_PASSWORD: z.string().optional(),
  INFLUX_TOKEN: z.string().min(1).optional(),
  // How long SIGTERM may take before a service gives up on what it could not finish and exits 1.
  SHUTDOWN_DEADLINE_S: z.coerce.number().positive().max(3600).default(10),
  TUOJIANG_INSTANCE: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,40}$/, 'letters, digits, _ and -')
    .optional(),
  // Each service has its own port variable so that one environment can serve every service on a
  // host (config/http-ports.ts). HTTP_PORT is the ingest's former name, still read by it alone.
  INGEST_HTTP_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  // This ingest's partition "k/N" (tuojiang.yaml mqtt.partition, which it overrides): one variable
  // per process, so that N processes can share one config folder. Empty = as the config says.
  INGEST_PARTITION: z
    .string()
    .superRefine((t, ctx) => {
      const problem = t.trim() === '' ? undefined : partitionProblem(t);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    })
    .optional(),
  NOTIFY_HTTP_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  HTTP_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  // The alerts worker's /healthz, /readyz, /metrics (none when unset), and the API's when they
  // must not be on its public port (compose sets both; the API then answers only /healthz there).
  ALERTS_HTTP_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  API_OPS_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  // The ingest's HJ 212 TCP listener for data loggers: setting the port turns it on (whatever
  // ingest.hj212_tcp.enabled says); the host defaults to ingest.hj212_tcp.host.
  HJ212_TCP_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  HJ212_TCP_HOST: z
    .string()
    .regex(/^(?:[0-9.]+|\[?[0-9A-Fa-f:.]+\]?|[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?)$/, 'an IP address or a host name')
    .optional(),
  // Where the ingest's and the notify worker's /healthz, /readyz, /metrics listen. Loopback by default: they need no
  // caller outside the host (docker-compose's health check runs inside the container); set
  // 0.0.0.0 (or one interface's address) for a Prometheus server elsewhere.
  HTTP_HOST: z
    .string()
    .regex(
      /^(?:[0-9.]+|\[?[0-9A-Fa-f:.]+\]?|[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?)$/,
      'an IP address or a host name (e.g. 127.0.0.1, 0.0.0.0, ::)',
    )
    .default('127.0.0.1'),
});

/**
 * After reading, REDIS_URL is what every connection is opened from (config/connections.ts
 * createRedis): one URL, or a cluster's node URLs. REDIS_CLUSTER_NODES becomes such a list, with
 * REDIS_URL's scheme and credentials on each node.
 */
export const EnvSchema = EnvFields.transform((env) => {
  if (env.REDIS_CLUSTER_NODES === undefined) return env;
  const base = redisUrls(env.REDIS_URL)![0]!;
  const userinfo = base.username || base.password ? `${base.username}${base.password ? `:${base.password}` : ''}@` : '';
  const nodes = clusterNodes(env.REDIS_CLUSTER_NODES)!;
  return { ...env, REDIS_URL: nodes.map((n) => `${base.protocol}//${userinfo}${n}`).join(',') };
});

export type Env = z.output<typeof EnvSchema>;

/** A URL may carry credentials (`redis://:password@host`): never echo what precedes the `@`. */

export function readEnv(env: NodeJS.ProcessEnv = process.env): Env {
  const r = EnvSchema.safeParse(env);
  if (!r.success) {
    const lines = r.error.issues.map((i) => {
      const key = String(i.path[0]);
      const found = env[key];
      // Never echo secrets back into logs.
      const shown = /PASSWORD|TOKEN/.test(key) ? '(hidden)' : JSON.stringify(key.endsWith('_URL') ? hideUserinfo(found) : found);
      return `${key}: expected ${i.message}; found ${shown}`;
    });
    throw new TuojiangError('ENV_INVALID', `invalid environment:\n${lines.join('\n')}`);
  }
  return r.data;
}
