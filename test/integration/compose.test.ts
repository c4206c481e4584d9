/**
 * docker-compose.yml, the Dockerfile and the deploy scripts, checked without a container engine:
 * - Debian's docker-compose (v1.29, Python) resolves and validates the file: `config` needs no
 *   engine. It is not installed by default: `apt-get install -y --no-install-recommends docker-compose`.
 * - The file is checked against the repository: mounted paths exist and are the files the code and
 *   the tests read, secrets come only from the environment, every service has a health check and a
 *   restart policy, every tuojiang service runs a command the CLI has with an environment it accepts.
 * - The broker's deploy-time step and health check run for real: scripts/mosquitto-passwd.sh builds
 *   the password file, Mosquitto starts from the production config with it, and the compose health
 *   check command (mosquitto_sub, Debian package mosquitto-clients) passes with the right password
 *   and fails with a wrong one.
 */
import { run, type Run } from '../helpers/compose-services.js';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { NotifyEnvSchema, readNotifyEnv } from '../../alerts/notify/env.js';
import { EnvSchema } from '../../config/env.js';
import { DEFAULT_CONFIG_DIR } from '../../config/load.js';
import { GENERATED_DIR } from '../../dashboards/generate.js';
import { SERVICE_ACCOUNTS, brokerConfigDir, startMosquitto, type MosquittoHandle } from '../../devtools/local-services/index.js';
import { ensureTool } from '../../devtools/local-services/packages.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const COMPOSE_FILE = join(ROOT, 'docker-compose.yml');

/**
 * The CLI's command tree as cli/main.ts builds it, without running it: parseAsync, which main.ts
 * calls once it has registered every command, only hands over the program.
 */
async function cliProgram(): Promise<Command> {
  let program: Command | undefined;
  const original = Command.prototype.parseAsync;
  Command.prototype.parseAsync = function parseAsync(this: Command) {
    // main.ts's own program object is the receiver: keep a reference for the test.
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    program = this;
    return Promise.resolve(this);
  } as typeof original;
  try {
    await import('../../cli/main.js');
  } finally {
    Command.prototype.parseAsync = original;
  }
  if (!program) throw new Error('cli/main.ts did not call parseAsync');
  return program;
}

interface Healthcheck {
  test?: string[] | string;
  disable?: boolean;
}
interface Service {
  image?: string;
  build?: { context: string; target?: string };
  command?: string[];
  entrypoint?: string[];
  environment?: Record<string, string>;
  healthcheck?: Healthcheck;
  restart?: string;
  depends_on?: Record<string, { condition: string }>;
  volumes?: Volume[];
  ports?: string[];
  profiles?: string[];
}
interface ComposeFile {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
}

/** A clean environment: nothing of the developer's shell (a stray REDIS_PASSWORD) leaks into interpolation. */
const cleanEnv = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({
  PATH: process.env.PATH ?? '/usr/bin:/bin',
  HOME: tmp,
  ...extra,
});

type Volume = string | { source: string; target: string; read_only?: boolean };
/** A volume in short syntax (docker-compose 2.x prints the long one). */
const short = (v: Volume): string => (typeof v === 'string' ? v : `${v.source}:${v.target}${v.read_only ? ':ro' : ''}`);

/**
 * A host path as the checkout's default resolves it: `${TUOJIANG_SITE_CONFIG:-./config}` is
 * ./config unless the site says otherwise (the demo and the tests use the checkout's files).
 */
const withDefaults = (s: string): string => s.replace(/\$\{[A-Z0-9_]+:-([^}]*)\}/g, '$1');

/** Bind mounts of a service: host path (defaults applied), container path, mode. */
function bindMounts(s: Service): Array<{ source: string; target: string; mode: string }> {
  return (s.volumes ?? [])
    .map((v) => withDefaults(short(v)).split(':'))
    .filter(([source]) => source !== undefined && (source.startsWith('.') || source.startsWith('/')))
    .map(([source = '', target = '', mode = 'rw']) => ({ source, target, mode }));
}

/** The strings docker-compose puts in a container: `config` prints a literal `$` as `$$`. */
const unescape = (s: string): string => s.replace(/\$\$/g, '$');

const TUOJIANG_SERVICES = ['ingest', 'alerts', 'notify', 'api', 'simulator'];

let tmp: string;
let dockerCompose: string | undefined;
let envFile: string;
let secrets: Record<string, string>;
let raw: ComposeFile;
let rawText: string;
let resolved: ComposeFile;
let withoutSecrets: Run;
let demoServices: Run;

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'tuojiang-compose-'));
  rawText = readFileSync(COMPOSE_FILE, 'utf8');
  raw = parse(rawText, { merge: true }) as ComposeFile;
  // The operator's path: .env from .env.example with generated secrets (and the demo's account).
  envFile = join(tmp, 'env');
  const init = await run('sh', [join(ROOT, 'scripts/init-env.sh'), '--demo', envFile], { env: cleanEnv() });
  expect(init.code, init.stderr).toBe(0);
  secrets = Object.fromEntries(
    readFileSync(envFile, 'utf8')
      .split('\n')
      .filter((l) => /^[A-Z0-9_]+=./.test(l))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );

  // Installed when missing and root (apt-get install -y --no-install-recommends docker-compose), else named.
  dockerCompose = await ensureTool('docker-compose');
  const compose = (envFileArg: string, ...args: string[]) =>
    run(dockerCompose as string, ['--env-file', envFileArg, '-f', COMPOSE_FILE, ...args], { env: cleanEnv() });
  const [config, missing, profiles] = await Promise.all([
    compose(envFile, 'config'),
    // .env.example as it ships: every secret empty.
    compose(join(ROOT, '.env.example'), 'config'),
    compose(envFile, '--profile', 'demo', 'config', '--services'),
  ]);
  expect(config.code, config.stderr).toBe(0);
  resolved = parse(config.stdout) as ComposeFile;
  withoutSecrets = missing;
  demoServices = profiles;
}, 30_000);

afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('docker-compose.yml', () => {
  it('is valid for docker-compose config (Debian docker-compose 1.29, no engine needed)', () => {
    expect(Object.keys(resolved.services).sort()).toEqual([
      'alerts',
      'api',
      'backup',
      'grafana',
      'influxdb',
      'influxdb-init',
      'ingest',
      'mailpit',
      'mosquitto',
      'mosquitto-init',
      'notify',
      'ops',
      'redis',
      'simulator',
    ]);
    expect(demoServices.code, demoServices.stderr).toBe(0);
    expect(demoServices.stdout.split('\n')).toContain('simulator');
    expect(resolved.services.simulator?.profiles).toEqual(['demo']);
    // The SMTP sink is the demo's only: outside it nothing can swallow the bureaus' e-mail.
    expect(resolved.services.mailpit?.profiles).toEqual(['demo']);
    expect(resolved.services.ops?.profiles).toEqual(['tools']);
  });

  it('refuses to resolve without the secrets and names the missing one', () => {
    expect(withoutSecrets.code).not.toBe(0);
    expect(withoutSecrets.stderr).toMatch(/set [A-Z_]+(PASSWORD|SECRET) in \.env \(scripts\/init-env\.sh\)/);
  });

  it('gives every long-running service a health check and restart: unless-stopped; one-shot services run once, before their dependants', () => {
    const oneShot = new Set(
      Object.values(resolved.services).flatMap((s) =>
        Object.entries(s.depends_on ?? {})
          .filter(([, d]) => d.condition === 'service_completed_successfully')
          .map(([n]) => n),
      ),
    );
    expect([...oneShot].sort()).toEqual(['influxdb-init', 'mosquitto-init']);
    for (const [name, s] of Object.entries(resolved.services)) {
      if (oneShot.has(name) || s.profiles?.includes('tools')) {
        expect(s.restart, name).toBe('no');
        continue;
      }
      expect(s.restart, name).toBe('unless-stopped');
      expect(s.healthcheck?.disable, name).not.toBe(true);
      const test = s.healthcheck?.test;
      expect(Array.isArray(test) && test.length >= 2 && ['CMD', 'CMD-SHELL'].includes(test[0] ?? ''), `${name}: healthcheck.test`).toBe(
        true,
      );
    }
  });

  it('starts a service only once what it depends on is healthy', () => {
    for (const [name, s] of Object.entries(resolved.services)) {
      for (const [dep, { condition }] of Object.entries(s.depends_on ?? {})) {
        const target = resolved.services[dep];
        expect(target, `${name} depends on ${dep}`).toBeDefined();
        if (condition === 'service_completed_successfully') continue;
        expect(condition, `${name} -> ${dep}`).toBe('service_healthy');
        expect(target?.healthcheck?.test, `${dep} has a health check`).toBeDefined();
      }
    }
    // The pipeline's own dependencies.
    expect(Object.keys(resolved.services.ingest?.depends_on ?? {}).sort()).toEqual(['influxdb', 'mosquitto', 'redis']);
    expect(Object.keys(resolved.services.alerts?.depends_on ?? {}).sort()).toEqual(['influxdb', 'redis']);
    expect(Object.keys(resolved.services.mosquitto?.depends_on ?? {})).toEqual(['mosquitto-init']);
  });

  it('bind-mounts only paths of this repository, read-only except where the init step writes the password file', () => {
    let count = 0;
    for (const [name, s] of Object.entries(raw.services)) {
      for (const m of bindMounts(s)) {
        count++;
        expect(isAbsolute(m.source), `${name}: ${m.source} is relative to the repository`).toBe(false);
        const abs = resolve(ROOT, m.source);
        expect(relative(ROOT, abs).startsWith('..'), `${name}: ${m.source} stays inside the repository`).toBe(false);
        expect(existsSync(abs), `${name}: ${m.source} exists`).toBe(true);
        // What writes the site's files: the broker's password files, and the operators' tools.
        if (
          (name === 'mosquitto-init' && m.target === '/mosquitto/config') ||
          (name === 'ops' && ['/app/config', '/app/generated'].includes(m.target))
        )
          expect(m.mode).toBe('rw');
        else expect(m.mode, `${name}: ${m.source} read-only`).toBe('ro');
      }
    }
    expect(count).toBeGreaterThanOrEqual(10);
    // The one host path outside the repository: where the backups go, named in .env.
    expect(raw.services.backup?.volumes).toContainEqual(expect.stringMatching(/^\$\{BACKUP_DIR:\?[^}]+\}:\/backups$/));
    // Named volumes for the data, declared at the top level.
    for (const s of Object.values(raw.services)) {
      for (const v of s.volumes ?? []) {
        const [source = ''] = withDefaults(short(v)).split(':');
        if (!source.startsWith('.') && !source.startsWith('/') && !source.startsWith('${BACKUP_DIR'))
          expect(Object.keys(raw.volumes ?? {})).toContain(source);
      }
    }
  });

  it('mounts the very files the code and the tests read: config/, config/mosquitto/, dashboards/provisioning and generated', () => {
    // The pipeline services: config/ at TUOJIANG_CONFIG, the folder config/load.ts defaults to.
    for (const name of TUOJIANG_SERVICES) {
      const s = raw.services[name] as Service;
      const mount = bindMounts(s).find((m) => m.target === s.environment?.TUOJIANG_CONFIG);
      expect(mount, `${name} mounts the config folder at TUOJIANG_CONFIG`).toBeDefined();
      expect(resolve(ROOT, mount?.source ?? '')).toBe(DEFAULT_CONFIG_DIR);
    }
    // The broker: the folder the local-services launcher renders the test brokers' config from, and
    // the container paths of mosquitto.conf resolve through the mounts.
    const broker = raw.services.mosquitto as Service;
    const brokerMounts = bindMounts(broker);
    expect(resolve(ROOT, brokerMounts.find((m) => m.target === '/mosquitto/config')?.source ?? '')).toBe(brokerConfigDir());
    const conf = readFileSync(join(brokerConfigDir(), 'mosquitto.conf'), 'utf8');
    const directive = (key: string) => new RegExp(`^${key}\\s+(\\S+)`, 'm').exec(conf)?.[1];
    // Two listeners, each with its own files: stations on 1883, services on 1884.
    const all = (key: string) => [...conf.matchAll(new RegExp(`^${key}\\s+(\\S+)`, 'gm'))].map((m) => m[1]);
    expect(all('listener')).toEqual(['1883', '1884']);
    expect(all('acl_file')).toEqual(['/mosquitto/config/acl', '/mosquitto/config/acl-services']);
    for (const f of ['acl', 'acl-services']) expect(existsSync(join(brokerConfigDir(), f))).toBe(true);
    expect(all('password_file')).toEqual(['/mosquitto/config/passwd', '/mosquitto/config/passwd-services']);
    const initEnv = raw.services['mosquitto-init']?.environment ?? {};
    expect([initEnv.MOSQUITTO_PASSWD_FILE, initEnv.MOSQUITTO_SERVICES_PASSWD_FILE]).toEqual(all('password_file'));
    expect(directive('persistence_location')?.replace(/\/$/, '')).toBe('/mosquitto/data');
    // Site listeners (TLS on 8883) come from conf.d/, which the test launcher leaves out.
    expect(directive('include_dir')).toBe('/mosquitto/config/conf.d');
    expect(broker.volumes).toContain('mosquitto-data:/mosquitto/data');
    // Only the stations' listener leaves the compose network; the services reach the other one.
    expect(broker.ports).toEqual(['${MQTT_BIND:-127.0.0.1}:${MQTT_HOST_PORT:-1883}:1883']);
    for (const name of ['ingest', 'simulator']) expect(raw.services[name]?.environment?.MQTT_URL, name).toBe('mqtt://mosquitto:1884');
    // Grafana: exactly the mounts dashboards/provisioning/README.md lists.
    const readme = readFileSync(join(ROOT, 'dashboards/provisioning/README.md'), 'utf8');
    const documented = [...readme.matchAll(/^\s*- \.\/(dashboards\/[^:]+):([^:]+):ro$/gm)].map((m) => `./${m[1]}:${m[2]}:ro`);
    expect(documented.length).toBe(6);
    const grafanaBinds = bindMounts(raw.services.grafana as Service).map((m) => `${m.source}:${m.target}:${m.mode}`);
    expect(grafanaBinds.sort()).toEqual(documented.sort());
    expect(
      grafanaBinds
        .filter((m) => m.startsWith('./dashboards/generated/'))
        .every((m) => resolve(ROOT, m.split(':')[0] ?? '').startsWith(GENERATED_DIR)),
    ).toBe(true);
  });

  it('gives Grafana every variable its provisioned data source reads', () => {
    const dir = join(ROOT, 'dashboards/provisioning/datasources');
    const text = readdirSync(dir)
      .map((f) => readFileSync(join(dir, f), 'utf8').replace(/^\s*#.*$/gm, ''))
      .join('\n');
    const wanted = new Set([...text.matchAll(/\$__env\{([A-Z0-9_]+)\}/g)].map((m) => m[1] as string));
    expect(wanted.size).toBeGreaterThan(0);
    for (const v of wanted) expect(Object.keys(resolved.services.grafana?.environment ?? {}), v).toContain(v);
  });

  it('takes every secret from the environment: no literal password in the file, none in .env.example', () => {
    const secretName = /PASSWORD|SECRET|TOKEN|REDISCLI_AUTH/;
    const interpolation = /^\$\{[A-Z0-9_]+(:?[-?][^}]*)?\}$/;
    let seen = 0;
    for (const [name, s] of Object.entries(raw.services)) {
      for (const [key, value] of Object.entries(s.environment ?? {})) {
        if (secretName.test(key) && !/_FILE$/.test(key)) {
          seen++;
          expect(String(value), `${name}.${key}`).toMatch(interpolation);
          expect(String(value), `${name}.${key} has no default`).not.toMatch(/:-.+\}$/);
        }
        // Credentials inside URLs: only interpolations between :// and @.
        const userinfo = /^[a-z]+:\/\/([^@]*)@/.exec(String(value))?.[1];
        // (A Redis ACL user name may be written out: it is not a secret.)
        if (userinfo !== undefined) expect(userinfo.replace(/\$\{[^}]+\}/g, ''), `${name}.${key} userinfo`).toMatch(/^[a-z]*:?$/);
      }
      const args = [...(s.command ?? []), ...(s.entrypoint ?? [])];
      args.forEach((a, i) => {
        if (/^--(requirepass|password)/.test(a)) expect(args[i + 1], `${name}: ${a}`).toMatch(interpolation);
      });
      for (const t of [s.healthcheck?.test ?? []].flat()) expect(t, `${name} healthcheck`).not.toMatch(/(-P|-a|--pass\S*)\s+['"]?[^'"$\s]/);
    }
    expect(seen).toBeGreaterThanOrEqual(10);
    // None of the generated secrets is in the file, whatever its form.
    for (const [k, v] of Object.entries(secrets)) if (secretName.test(k)) expect(rawText.includes(v), k).toBe(false);

    // .env.example: placeholders only, and every variable the compose file reads is documented there.
    const example = readFileSync(join(ROOT, '.env.example'), 'utf8');
    for (const line of example.split('\n').filter((l) => /^[A-Z0-9_]+=/.test(l))) {
      if (secretName.test(line.split('=')[0] ?? '')) expect(line, 'secrets in .env.example stay empty').toMatch(/=$/);
    }
    const used = new Set([...rawText.matchAll(/\$\{([A-Z0-9_]+)/g)].map((m) => m[1] as string));
    for (const v of used) expect(example, `${v} documented in .env.example`).toMatch(new RegExp(`^#? ?${v}=`, 'm'));
  });

  it('runs commands the CLI has, with an environment its schemas accept', async () => {
    const program = await cliProgram();
    for (const name of TUOJIANG_SERVICES) {
      const s = resolved.services[name] as Service;
      expect(s.build?.target, name).toBe('runtime');
      expect(s.image, name).toBe(resolved.services.ingest?.image);
      const command = s.command ?? [];
      const words = command.filter((a, i) => !a.startsWith('-') && !command[i - 1]?.startsWith('-'));
      const cmd = words.reduce<Command | undefined>(
        (c, w) => c?.commands.find((sub) => sub.name() === w || sub.aliases().includes(w)),
        program,
      );
      expect(cmd, `${name}: \`tuojiang ${words.join(' ')}\` is a command of cli/main.ts`).toBeDefined();
      const known = cmd?.options.map((o) => o.long) ?? [];
      for (const f of command.filter((a) => a.startsWith('--'))) expect(known, `tuojiang ${words.join(' ')} ${f}`).toContain(f);
      const env = s.environment ?? {};
      const parsed = EnvSchema.safeParse(env);
      expect(parsed.success, `${name}: ${JSON.stringify(parsed.error?.issues)}`).toBe(true);
      if (name === 'notify' || name === 'api') {
        expect(() => readNotifyEnv(env), name).not.toThrow();
        expect(NotifyEnvSchema.safeParse(env).success, name).toBe(true);
      }
      if (env.MQTT_USERNAME) {
        // Services log in on the service listener, whose ACL is acl-services.
        const acl = readFileSync(join(brokerConfigDir(), 'acl-services'), 'utf8');
        expect(acl, `${name}: the service ACL has a section for user ${env.MQTT_USERNAME}`).toMatch(
          new RegExp(`^user ${env.MQTT_USERNAME}$`, 'm'),
        );
        expect(SERVICE_ACCOUNTS, name).toContain(env.MQTT_USERNAME);
      }
    }
  });

  it('health-checks the pipeline services through the script the image ships, on the ports they listen on', () => {
    const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
    for (const name of TUOJIANG_SERVICES) {
      const test = resolved.services[name]?.healthcheck?.test as string[];
      expect(test.slice(0, 3), name).toEqual(['CMD', 'node', 'scripts/healthcheck.mjs']);
      const target = unescape(test[3] ?? '');
      const url = target.startsWith('$') ? resolved.services[name]?.environment?.[target.slice(1)] : target;
      expect(url, `${name}: ${target}`).toBeDefined();
      expect(new URL(url ?? '').protocol, name).toMatch(/^(http|redis|tcp):$/);
    }
    expect(dockerfile).toMatch(/^COPY scripts\/healthcheck\.mjs \.\/scripts\/healthcheck\.mjs$/m);
    expect(resolved.services.ingest?.environment?.INGEST_HTTP_PORT).toBe('9464');
    expect(resolved.services.notify?.environment?.NOTIFY_HTTP_PORT).toBe('9465');
    for (const svc of Object.values(resolved.services)) expect(svc.environment?.HTTP_PORT).toBeUndefined();
    // Every check is the service's /readyz, which answers within a bound and includes every dependency.
    expect(resolved.services.ingest?.healthcheck?.test).toContain('http://127.0.0.1:9464/readyz');
    expect(resolved.services.alerts?.healthcheck?.test).toContain(
      `http://127.0.0.1:${resolved.services.alerts?.environment?.ALERTS_HTTP_PORT}/readyz`,
    );
    expect(resolved.services.notify?.healthcheck?.test).toContain(
      `http://127.0.0.1:${resolved.services.notify?.environment?.NOTIFY_HTTP_PORT}/readyz`,
    );
    expect(resolved.services.api?.healthcheck?.test).toContain(
      `http://127.0.0.1:${resolved.services.api?.environment?.API_OPS_PORT}/readyz`,
    );
  });

  it('opens the HJ 212 TCP listener for data loggers on the port it publishes (issue 12)', () => {
    const ingest = resolved.services.ingest!;
    const port = ingest.environment?.HJ212_TCP_PORT;
    expect(port).toBe('9212');
    expect(ingest.environment?.HJ212_TCP_HOST).toBe('0.0.0.0');
    expect(raw.services.ingest?.ports).toEqual([`\${HJ212_BIND:-127.0.0.1}:\${HJ212_HOST_PORT:-9212}:${port}`]);
  });

  it('pins the ingest identity: one process per broker, its MQTT sessions and journal consumer survive re-creation', () => {
    const ingest = resolved.services.ingest as Service & { scale?: number; deploy?: { replicas?: number } };
    expect(ingest.environment?.TUOJIANG_INSTANCE).toMatch(/^[A-Za-z0-9_-]{1,40}$/);
    expect(ingest.scale ?? ingest.deploy?.replicas ?? 1).toBe(1);
    const settings = parse(readFileSync(join(DEFAULT_CONFIG_DIR, 'tuojiang.yaml'), 'utf8')) as { mqtt: { share_group: string } };
    expect(settings.mqtt.share_group).toBe('');
  });
});

describe('docker-compose.yml: safe to leave running', () => {
  type Hardened = Service & {
    read_only?: boolean;
    cap_drop?: string[];
    cap_add?: string[];
    security_opt?: string[];
    user?: string;
    mem_limit?: string | number;
    logging?: { driver?: string; options?: Record<string, string> };
    networks?: Record<string, unknown>;
    network_mode?: string;
  };
  const services = (): Array<[string, Hardened]> => Object.entries(resolved.services) as Array<[string, Hardened]>;

  it('publishes every port on 127.0.0.1 unless .env says otherwise', () => {
    let published = 0;
    for (const [name, s] of Object.entries(raw.services)) {
      for (const p of s.ports ?? []) {
        published++;
        expect(String(p), name).toMatch(/^(\$\{[A-Z0-9_]+_BIND:-127\.0\.0\.1\}|127\.0\.0\.1):/);
      }
    }
    expect(published).toBe(5); // broker 1883, the ingest's HJ 212 port, Grafana, API, Mailpit (demo)
    for (const [name, s] of services())
      for (const p of (s.ports ?? []) as unknown as Array<{ host_ip?: string } | string>)
        expect(typeof p === 'string' ? p : p.host_ip, name).toMatch(/^127\.0\.0\.1/);
  });

  it("rotates every container's log and bounds every long-running container's memory", () => {
    for (const [name, s] of services()) {
      expect(s.logging?.driver, name).toBe('json-file');
      expect(s.logging?.options?.['max-size'], name).toMatch(/^\d+[km]$/);
      expect(Number(s.logging?.options?.['max-file']), name).toBeGreaterThan(0);
      if (s.restart === 'unless-stopped') expect(s.mem_limit, `${name} mem_limit`).toBeDefined();
    }
  });

  it('drops every capability, forbids privilege gain, runs read-only and as a non-root user where it can', () => {
    // Root only where a file must change owner: the init steps and the operators' tool.
    const rootAllowed = new Set(['mosquitto-init', 'influxdb-init', 'ops']);
    for (const [name, s] of services()) {
      expect(s.cap_drop, name).toEqual(['ALL']);
      expect(s.security_opt, name).toContain('no-new-privileges:true');
      for (const cap of s.cap_add ?? []) expect(['CHOWN', 'DAC_OVERRIDE', 'FOWNER'], `${name} ${cap}`).toContain(cap);
      if (s.cap_add?.length) expect(rootAllowed.has(name), `${name} adds capabilities`).toBe(true);
      if (s.restart === 'unless-stopped') {
        expect(s.read_only, name).toBe(true);
        const imageUser = name === 'grafana' || name === 'mailpit' || TUOJIANG_SERVICES.includes(name) || name === 'backup';
        // Images that are non-root themselves (node, grafana, mailpit, backup: USER in the Dockerfile) or an explicit user.
        if (!imageUser) expect(s.user, `${name} user`).toMatch(/^(?!0(:|$)|root)/);
        else expect(s.user ?? 'image default', name).not.toMatch(/^(0|root)(:|$)/);
      }
    }
    const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(/FROM \$\{REDIS_IMAGE\} AS backup[\s\S]*\nUSER redis\n/);
  });

  it('keeps stations on a network with the broker and the HJ 212 listener only, and the data services off every outside network', () => {
    const on = (n: string) =>
      services()
        .filter(([, s]) => Object.keys(s.networks ?? {}).includes(n))
        .map(([name]) => name)
        .sort();
    // The ingest is there for its HJ 212 TCP port only: a port on an internal network is not reachable.
    expect(on('stations')).toEqual(['ingest', 'mosquitto']);
    expect((raw as unknown as { networks: Record<string, { internal?: boolean }> }).networks.backend?.internal).toBe(true);
    expect(Object.keys((resolved.services.ingest as Hardened).networks ?? {}).sort()).toEqual(['backend', 'stations']);
    for (const name of ['redis', 'influxdb', 'alerts', 'backup'])
      expect(Object.keys((resolved.services[name] as Hardened).networks ?? {}), name).toEqual(['backend']);
  });

  it('keeps the data in external, explicitly named volumes that `down -v` and a renamed folder cannot strand', () => {
    const volumes = (resolved as unknown as { volumes: Record<string, { external?: boolean | { name?: string }; name?: string }> }).volumes;
    expect(Object.keys(volumes).sort()).toEqual(['grafana-data', 'influxdb-data', 'mosquitto-data', 'redis-data']);
    for (const [k, v] of Object.entries(volumes)) {
      expect(v.external, k).toBeTruthy();
      expect(v.name ?? (typeof v.external === 'object' ? v.external.name : undefined), k).toBe(`tuojiang-${k}`);
    }
  });

  it('scripts/create-volumes.sh creates exactly those volumes, once', async () => {
    const bin = join(tmp, 'fake-docker');
    const calls = join(tmp, 'docker-calls');
    const { mkdirSync, chmodSync } = await import('node:fs');
    mkdirSync(bin, { recursive: true });
    // A docker that knows one volume already and records every call.
    writeFileSync(
      join(bin, 'docker'),
      `#!/bin/sh\necho "$*" >> ${calls}\n[ "$1 $2" = "volume inspect" ] && [ "$3" = "tuojiang-redis-data" ] && exit 0\n[ "$1 $2" = "volume inspect" ] && exit 1\nexit 0\n`,
    );
    chmodSync(join(bin, 'docker'), 0o755);
    const r = await run('sh', [join(ROOT, 'scripts/create-volumes.sh'), envFile], {
      env: cleanEnv({ PATH: `${bin}:${process.env.PATH ?? ''}` }),
    });
    expect(r.code, r.stderr).toBe(0);
    const created = readFileSync(calls, 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('volume create'))
      .map((l) => l.split(' ').at(-1))
      .sort();
    const declared = Object.values((resolved as unknown as { volumes: Record<string, { name?: string }> }).volumes)
      .map((v) => v.name)
      .filter((n) => n !== 'tuojiang-redis-data')
      .sort();
    expect(created).toEqual(declared);
    expect(r.stdout).toContain('tuojiang-redis-data exists (kept)');
  });

  it("tags the project's images with the version of package.json, so an upgrade never overwrites the image a rollback needs", () => {
    const version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
    for (const name of [...TUOJIANG_SERVICES, 'ops']) expect(resolved.services[name]?.image, name).toBe(`tuojiang:${version}`);
    expect(resolved.services.backup?.image).toBe(`tuojiang-backup:${version}`);
    // The default is written in the file (a deployer may pin TUOJIANG_VERSION in .env to roll back).
    expect(rawText.match(/\$\{TUOJIANG_VERSION:-([^}]+)\}/g)?.every((m) => m === `\${TUOJIANG_VERSION:-${version}}`)).toBe(true);
  });

  it('names every image by an explicit version, and scripts/pin-images lists each one without a digest until it is pinned', async () => {
    const refs = [...rawText.matchAll(/^ *image: (\S+)$/gm)].map((m) => m[1] as string).filter((r) => !r.startsWith('${'));
    const tls = readFileSync(join(ROOT, 'docker-compose.tls.yml'), 'utf8');
    refs.push(...[...tls.matchAll(/^ *image: (\S+)$/gm)].map((m) => m[1] as string));
    const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
    refs.push(...[...dockerfile.matchAll(/^ARG [A-Z_]+_IMAGE=(\S+)$/gm)].map((m) => m[1] as string));
    expect(refs.length).toBeGreaterThanOrEqual(10);
    for (const r of refs) {
      const tag = /:([^@]+)(@|$)/.exec(r)?.[1] ?? '';
      expect(tag, r).toMatch(/\d/);
      expect(tag, r).not.toMatch(/latest/);
      if (r.includes('@')) expect(r).toMatch(/@sha256:[0-9a-f]{64}$/);
    }
    const check = await run('sh', [join(ROOT, 'scripts/pin-images'), '--check'], { env: cleanEnv() });
    const listed = check.stdout
      .split('\n')
      .filter((l) => l.startsWith('unpinned: '))
      .map((l) => l.split(' ')[1]);
    expect(listed.sort()).toEqual(refs.filter((r) => !r.includes('@')).sort());
    expect(check.code).toBe(listed.length > 0 ? 1 : 0);
    // Pinning, with a docker that answers as a registry would, on a copy of the files.
    const { mkdirSync, copyFileSync, chmodSync } = await import('node:fs');
    const copy = join(tmp, 'pin-copy');
    mkdirSync(join(copy, 'scripts'), { recursive: true });
    for (const f of ['docker-compose.yml', 'docker-compose.tls.yml', 'Dockerfile', 'package.json', 'scripts/pin-images'])
      copyFileSync(join(ROOT, f), join(copy, f));
    const bin = join(tmp, 'fake-registry');
    mkdirSync(bin, { recursive: true });
    writeFileSync(
      join(bin, 'docker'),
      `#!/bin/sh\n[ "$1 $2 $3" = "buildx imagetools inspect" ] || exit 1\nprintf 'sha256:%s' "$(printf '%s' "$4" | sha256sum | cut -d' ' -f1)"\n`,
    );
    chmodSync(join(bin, 'docker'), 0o755);
    const pin = await run('sh', [join(copy, 'scripts/pin-images')], { env: cleanEnv({ PATH: `${bin}:${process.env.PATH ?? ''}` }) });
    expect(pin.code, pin.stderr).toBe(0);
    const after = await run('sh', [join(copy, 'scripts/pin-images'), '--check'], { env: cleanEnv() });
    expect(after.code, after.stdout).toBe(0);
    expect(readFileSync(join(copy, 'docker-compose.yml'), 'utf8')).toMatch(/image: grafana\/grafana:\d+\.\d+\.\d+@sha256:[0-9a-f]{64}\n/);
    // And a registry that answers nonsense pins nothing.
    writeFileSync(join(bin, 'docker'), '#!/bin/sh\necho "not a digest"\n');
    copyFileSync(join(ROOT, 'docker-compose.yml'), join(copy, 'docker-compose.yml'));
    const bad = await run('sh', [join(copy, 'scripts/pin-images')], { env: cleanEnv({ PATH: `${bin}:${process.env.PATH ?? ''}` }) });
    expect(bad.code).not.toBe(0);
    expect(readFileSync(join(copy, 'docker-compose.yml'), 'utf8')).toBe(rawText);
  });

  it('refuses outside the demo without the addresses the bureaus reach, naming the variable; the demo needs none of them', async () => {
    const production = join(tmp, 'env-production');
    const init = await run('sh', [join(ROOT, 'scripts/init-env.sh'), '--site', join(tmp, 'site-static'), production], { env: cleanEnv() });
    expect(init.code, init.stderr).toBe(0);
    const r = await run(dockerCompose as string, ['--env-file', production, '-f', COMPOSE_FILE, 'config'], { env: cleanEnv() });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/set (PUBLIC_URL|GRAFANA_URL|SMTP_URL|GRAFANA_SMTP_HOST|GRAFANA_ALERT_EMAILS) in \.env/);
    expect(readFileSync(production, 'utf8')).toMatch(/^TUOJIANG_PROFILE=production$/m);
    expect(resolved.services.notify?.environment?.TUOJIANG_PROFILE).toBe('demo');
    expect(resolved.services.notify?.environment?.SMTP_URL).toBe('smtp://mailpit:1025');
  });

  it("merges the TLS override: the stations' 8883 and the proxy on 443, certificates from TLS_CERT_DIR", async () => {
    const tlsEnv = join(tmp, 'env-tls');
    writeFileSync(
      tlsEnv,
      `${readFileSync(envFile, 'utf8')}\nTLS_CERT_DIR=/etc/tuojiang/tls\nAPI_SITE_ADDRESS=tuojiang.example.gov.cn:443\nGRAFANA_SITE_ADDRESS=grafana.tuojiang.example.gov.cn:443\n`,
    );
    const r = await run(
      dockerCompose as string,
      ['--env-file', tlsEnv, '-f', COMPOSE_FILE, '-f', join(ROOT, 'docker-compose.tls.yml'), 'config'],
      { env: cleanEnv() },
    );
    expect(r.code, r.stderr).toBe(0);
    const merged = parse(r.stdout) as ComposeFile;
    const ports = (name: string) =>
      (merged.services[name]?.ports ?? []).map((p) =>
        typeof p === 'string'
          ? p
          : `${(p as { host_ip?: string }).host_ip}:${(p as { published?: string }).published}:${(p as { target?: number }).target}`,
      );
    expect(ports('mosquitto')).toEqual(
      expect.arrayContaining([expect.stringMatching(/^127\.0\.0\.1:1883:1883/), expect.stringMatching(/^0\.0\.0\.0:8883:8883/)]),
    );
    expect(ports('proxy')).toEqual([expect.stringMatching(/^0\.0\.0\.0:443:443/)]);
    expect(merged.services.proxy?.volumes?.map(short)).toContain('/etc/tuojiang/tls:/certs:ro');
    const caddyfile = readFileSync(join(ROOT, 'deploy/caddy/Caddyfile'), 'utf8');
    for (const v of new Set([...caddyfile.matchAll(/\{\$([A-Z_]+)\}/g)].map((m) => m[1] as string)))
      expect(Object.keys(merged.services.proxy?.environment ?? {}), v).toContain(v);
    // Every variable the override reads is documented in .env.example.
    const example = readFileSync(join(ROOT, '.env.example'), 'utf8');
    const tlsText = readFileSync(join(ROOT, 'docker-compose.tls.yml'), 'utf8');
    for (const v of new Set([...tlsText.matchAll(/\$\{([A-Z0-9_]+)/g)].map((m) => m[1] as string)))
      expect(example, `${v} documented in .env.example`).toMatch(new RegExp(`^#? ?${v}=`, 'm'));
  });
});

describe('Dockerfile', () => {
  interface Stage {
    name: string;
    from: string;
    instructions: Array<{ op: string; args: string }>;
  }
  const stages = (): Stage[] => {
    const text = readFileSync(join(ROOT, 'Dockerfile'), 'utf8').replace(/\\\n/g, ' ');
    const out: Stage[] = [];
    for (const line of text.split('\n')) {
      const m = /^\s*([A-Z]+)\s+(.*)$/.exec(line);
      if (!m || line.trimStart().startsWith('#')) continue;
      const [, op = '', args = ''] = m;
      if (op === 'FROM') {
        const f = /^(\S+)(?:\s+AS\s+(\S+))?/i.exec(args);
        out.push({ name: f?.[2] ?? String(out.length), from: f?.[1] ?? '', instructions: [] });
      } else out.at(-1)?.instructions.push({ op, args: args.trim() });
    }
    return out;
  };

  it('builds with the dev dependencies and runs with production ones only, as a non-root user', () => {
    const all = stages();
    expect(all.map((s) => s.name)).toEqual(['build', 'runtime', 'influxdb-binaries', 'backup']);
    const [build, runtime] = all as [Stage, Stage];
    expect(build.instructions).toContainEqual({ op: 'RUN', args: 'npm ci --no-audit --no-fund --registry="$NPM_REGISTRY"' });
    expect(build.instructions.some((i) => i.op === 'RUN' && i.args.includes('npm run build'))).toBe(true);
    const runs = runtime.instructions.filter((i) => i.op === 'RUN').map((i) => i.args);
    expect(runs.some((r) => r.includes('npm ci --omit=dev'))).toBe(true);
    expect(runs.every((r) => !/npm (ci|install)(?!.*--omit=dev)/.test(r))).toBe(true);
    expect(runtime.instructions).toContainEqual({ op: 'COPY', args: '--from=build /src/dist ./dist' });
    const users = runtime.instructions.filter((i) => i.op === 'USER').map((i) => i.args);
    expect(users.length).toBeGreaterThan(0);
    expect(users.at(-1)).not.toMatch(/^(root|0)(:|$)/);
    expect(runtime.instructions.find((i) => i.op === 'ENTRYPOINT')?.args).toBe('["node", "dist/cli/main.js"]');
    // The runtime stage copies only what exists in the context (a `*` only in the last segment).
    const expand = (src: string): string[] => {
      if (!src.includes('*')) return existsSync(join(ROOT, src)) ? [src] : [];
      const re = new RegExp(
        `^${basename(src)
          .replace(/[.+?^${}()|[\]\\]/g, '\\$&')
          .replace(/\*/g, '.*')}$`,
      );
      return readdirSync(join(ROOT, dirname(src))).filter((f) => re.test(f));
    };
    const copies = runtime.instructions.filter((i) => i.op === 'COPY' && !i.args.startsWith('--from'));
    expect(copies.length).toBeGreaterThan(0);
    for (const c of copies)
      for (const src of c.args.split(/\s+/).slice(0, -1)) expect(expand(src).length, `COPY ${src}`).toBeGreaterThan(0);
    // The compose file builds this file's runtime stage.
    expect(resolved.services.ingest?.build?.target).toBe(runtime.name);
  });

  it('keeps secrets and local state out of the build context, and out of git', async () => {
    const ignore = readFileSync(join(ROOT, '.dockerignore'), 'utf8')
      .split('\n')
      .map((l) => l.trim());
    for (const p of ['.env', 'config/mosquitto/passwd', 'config/mosquitto/passwd-services', 'node_modules/', 'dist/', '.git/'])
      expect(ignore, p).toContain(p);
    for (const p of ['.env', 'config/mosquitto/passwd', 'config/mosquitto/passwd-services']) {
      const git = await run('git', ['check-ignore', '-q', '--no-index', p], { env: cleanEnv() });
      expect(git.code, `${p} must be in .gitignore`).toBe(0);
    }
  });
});

describe('scripts/mosquitto-passwd.sh and the broker health check', () => {
  let passwd: string;
  let passwdServices: string;
  let broker: MosquittoHandle | undefined;
  let mosquittoSub: string | undefined;
  const script = () => {
    // The init service runs the script it mounts: find it through that mount.
    const init = resolved.services['mosquitto-init'] as Service;
    const path = init.entrypoint?.[1];
    return (init.volumes ?? []).map((v) => short(v).split(':')).find(([, target]) => target === path)?.[0] ?? '';
  };
  const passwdEnv = (extra: Record<string, string> = {}): NodeJS.ProcessEnv =>
    cleanEnv({
      ...(resolved.services['mosquitto-init']?.environment ?? {}),
      MOSQUITTO_PASSWD_FILE: passwd,
      MOSQUITTO_SERVICES_PASSWD_FILE: passwdServices,
      MOSQUITTO_PASSWD_OWNER: process.getuid?.() === 0 ? '1883:1883' : '',
      ...extra,
    });
  const healthcheck = (password: string): Promise<Run> => {
    const test = resolved.services.mosquitto?.healthcheck?.test as string[];
    expect(test[0]).toBe('CMD-SHELL');
    // The compose command as the container runs it; only the port differs on this machine.
    const command = unescape(test[1] ?? '')
      .replace('-p 1884', `-p ${broker?.port}`)
      .replace(/^mosquitto_sub /, `${mosquittoSub} `);
    return run('sh', ['-c', command], { env: cleanEnv({ MQTT_HEALTHCHECK_PASSWORD: password }) });
  };
  const login = (username: string, password: string, listener: 'services' | 'stations' = 'services'): Promise<Run> =>
    run(mosquittoSub as string, [
      '-h',
      '127.0.0.1',
      '-p',
      String(listener === 'services' ? broker?.port : broker?.stationPort),
      '-u',
      username,
      '-P',
      password,
      '-t',
      `tuojiang/reply/${username}`,
      '-E',
      '-W',
      '4',
    ]);

  beforeAll(async () => {
    passwd = join(tmp, 'passwd');
    passwdServices = join(tmp, 'passwd-services');
    // An older deployment kept the service accounts in the stations' file: sync moves them out.
    writeFileSync(passwd, 'ingest:$7$101$old$old\n');
    mosquittoSub = await ensureTool('mosquitto_sub');
    // A station account added by an operator before the (re)deploy.
    const add = await run('sh', [script(), 'add', 'ST_KEPT'], { env: passwdEnv(), stdin: 'station-secret-0001\n' });
    expect(add.code, add.stderr).toBe(0);
    const sync = await run('sh', [script(), 'sync'], { env: passwdEnv() });
    expect(sync.code, sync.stderr).toBe(0);
    broker = await startMosquitto({ users: [], passwordFiles: { stations: passwd, services: passwdServices } });
  }, 30_000);

  afterAll(async () => {
    await broker?.destroy();
  });

  it("builds 0600 files of hashes: the service accounts in one, the stations' accounts kept in the other", () => {
    const users = (f: string) =>
      readFileSync(f, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => l.split(':')[0])
        .sort();
    expect(users(passwdServices)).toEqual(['healthcheck', 'ingest', 'simulator']);
    expect(users(passwd)).toEqual(['ST_KEPT']);
    for (const f of [passwd, passwdServices]) {
      const text = readFileSync(f, 'utf8');
      for (const v of Object.values(secrets)) expect(text.includes(v)).toBe(false);
      expect(text).not.toContain('station-secret-0001');
      expect(statSync(f).mode & 0o777).toBe(0o600);
      if (process.getuid?.() === 0) expect(statSync(f).uid).toBe(1883);
    }
  });

  it("refuses a station username that could be a service's client id", async () => {
    const r = await run('sh', [script(), 'add', 'tuojiang-ingest-ingest-1-0'], { env: passwdEnv(), stdin: 'station-secret-0002\n' });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("services' client ids");
  });

  it("lets the broker's health check pass with its password and fail with another", async () => {
    expect(mosquittoSub, 'mosquitto_sub not found; install it: apt-get install -y mosquitto-clients').toBeDefined();
    const good = await healthcheck(secrets.MQTT_HEALTHCHECK_PASSWORD ?? '');
    expect(good.code, good.stderr).toBe(0);
    const bad = await healthcheck('not-the-healthcheck-password');
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/not authori[sz]ed/i);
  });

  it("lets the ingest and the simulator log in on the services' listener and the kept station on its own, each nowhere else", async () => {
    expect(mosquittoSub, 'mosquitto_sub not found; install it: apt-get install -y mosquitto-clients').toBeDefined();
    const results = await Promise.all([
      login('ingest', secrets.MQTT_INGEST_PASSWORD ?? ''),
      login('simulator', secrets.MQTT_SIMULATOR_PASSWORD ?? ''),
      login('ST_KEPT', 'station-secret-0001', 'stations'),
      login('ingest', secrets.MQTT_HEALTHCHECK_PASSWORD ?? ''),
      login('ST_KEPT', 'station-secret-0001', 'services'),
      login('ingest', secrets.MQTT_INGEST_PASSWORD ?? '', 'stations'),
    ]);
    expect(results.map((r) => r.code === 0)).toEqual([true, true, true, false, false, false]);
  });

  it('removes the simulator account when MQTT_SIMULATOR_PASSWORD is unset, and refuses an empty or short service password', async () => {
    const copy = join(tmp, 'passwd-prod');
    const copyServices = join(tmp, 'passwd-services-prod');
    writeFileSync(copy, readFileSync(passwd));
    const prod = await run('sh', [script(), 'sync'], {
      env: passwdEnv({ MQTT_SIMULATOR_PASSWORD: '', MOSQUITTO_PASSWD_FILE: copy, MOSQUITTO_SERVICES_PASSWD_FILE: copyServices }),
    });
    expect(prod.code, prod.stderr).toBe(0);
    expect(
      readFileSync(copyServices, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => l.split(':')[0])
        .sort(),
    ).toEqual(['healthcheck', 'ingest']);
    expect(
      readFileSync(copy, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => l.split(':')[0]),
    ).toEqual(['ST_KEPT']);
    const empty = await run('sh', [script(), 'sync'], { env: passwdEnv({ MQTT_INGEST_PASSWORD: '', MOSQUITTO_PASSWD_FILE: copy }) });
    expect(empty.code).not.toBe(0);
    expect(empty.stderr).toContain('MQTT_INGEST_PASSWORD is empty');
    const short = await run('sh', [script(), 'sync'], {
      env: passwdEnv({ MQTT_HEALTHCHECK_PASSWORD: 'changeme', MOSQUITTO_PASSWD_FILE: copy }),
    });
    expect(short.code).not.toBe(0);
    expect(short.stderr).toContain('MQTT_HEALTHCHECK_PASSWORD is shorter than 12 characters');
  });
});
