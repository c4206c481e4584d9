/**
 * Adding a station is one command (`tuojiang stations add`, in compose `docker compose run --rm
 * ops stations add …`): stations.yaml (comments kept, validated before it is replaced), the
 * station's broker account (a password file a real Mosquitto accepts), the dashboards and
 * gazetteer; and `tuojiang stations check` says what is still missing, with the fix.
 */
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMosquitto, type MosquittoHandle } from '../../devtools/local-services/index.js';
import { mosquittoHash } from '../../lib/mosquitto-password.js';
import { partitionOf } from '../../config/partition.js';
import { ROOT, run } from '../helpers/compose-services.js';

let tmp: string;
let site: string;
let generated: string;
let passwd: string;

const cli = (args: string[], stdin?: string) =>
  run(process.execPath, ['--import', 'tsx', join(ROOT, 'cli/main.ts'), ...args], {
    env: {
      PATH: process.env.PATH ?? '',
      HOME: tmp,
      TUOJIANG_CONFIG: site,
      MOSQUITTO_PASSWD_FILE: passwd,
      TUOJIANG_GENERATED_DIR: generated,
      LOG_LEVEL: 'warn',
    },
    ...(stdin !== undefined ? { stdin } : {}),
  });

const NEW = [
  'stations',
  'add',
  'tongxian',
  '--kind',
  'water',
  '--city',
  'ziyang',
  '--name-zh',
  '通贤',
  '--name-en',
  'Tongxian',
  '--lat',
  '30.12',
  '--lon',
  '104.70',
  '--mn',
  '512002W0000000000000A009',
  '--river',
  'tuojiang',
  '--river-km',
  '140',
  '--target-class',
  'III',
];

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'tuojiang-stations-add-'));
  site = join(tmp, 'config');
  generated = join(tmp, 'generated');
  mkdirSync(join(site, 'mosquitto'), { recursive: true });
  for (const f of ['stations', 'tuojiang', 'thresholds', 'recipients', 'rivers', 'operators'])
    cpSync(join(ROOT, 'config', `${f}.yaml`), join(site, `${f}.yaml`));
  for (const f of ['mosquitto.conf', 'acl', 'acl-services']) cpSync(join(ROOT, 'config/mosquitto', f), join(site, 'mosquitto', f));
  cpSync(join(ROOT, 'dashboards/generated'), generated, { recursive: true });
  passwd = join(site, 'mosquitto', 'passwd');
});

afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('tuojiang stations check', () => {
  it('names what a registered station lacks, with the command that fixes it, and exits 1', async () => {
    const r = await cli(['stations', 'check', 'zhaozhen']);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stdout).toMatch(/✓ registry/);
    expect(r.stdout).toMatch(/✗ broker account\s+.*passwd does not exist/);
    expect(r.stdout).toContain('do: printf \'%s\\n\' "$PASSWORD" | docker compose run --rm -T ops stations password zhaozhen');
    expect(r.stdout).toMatch(/✓ dashboards and gazetteer/);
    expect(r.stdout).toMatch(/✓ bureau/);
  });

  it('says an unknown station is not registered', async () => {
    const r = await cli(['stations', 'check', 'nowhere']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/✗ registry\s+nowhere is not in stations\.yaml/);
  });
});

describe('tuojiang stations add', () => {
  let broker: MosquittoHandle | undefined;
  afterAll(async () => {
    await broker?.destroy();
  });

  it('refuses a hostile or incomplete entry and leaves stations.yaml as it was', async () => {
    const before = readFileSync(join(site, 'stations.yaml'), 'utf8');
    const attempts = [
      // no river for a water section
      NEW.filter((a, i) => a !== '--river' && NEW[i - 1] !== '--river'),
      // an id that is not [a-z0-9-] (it becomes an MQTT username, a topic segment and a Redis key)
      NEW.map((a) => (a === 'tongxian' ? 'Tong/../x' : a)),
      // a city without a bureau in stations.yaml
      NEW.map((a) => (a === 'ziyang' ? 'neijiang' : a)),
      // a station that exists
      NEW.map((a) => (a === 'tongxian' ? 'zhaozhen' : a)),
    ];
    for (const args of attempts) {
      const r = await cli(args);
      expect(r.code, args.join(' ')).not.toBe(0);
      expect(r.stderr, args.join(' ')).toMatch(/TJ_CONFIG_INVALID/);
      expect(r.stderr).toMatch(/stations\.yaml/);
    }
    expect(readFileSync(join(site, 'stations.yaml'), 'utf8')).toBe(before);
    const short = await cli(NEW.concat('--password-stdin'), 'short\n');
    expect(short.code).not.toBe(0);
    expect(short.stderr).toContain('12 characters or more');
    expect(readFileSync(join(site, 'stations.yaml'), 'utf8')).toBe(before);
  });

  it('adds the station, its broker account and its dashboards in one command; the check then finds nothing missing', async () => {
    const before = readFileSync(join(site, 'stations.yaml'), 'utf8');
    const r = await cli(NEW.concat('--password-stdin', '--partitions', '3'), 'tongxian-secret-0001\n');
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toContain('nothing missing');
    // A partitioned ingest takes a new station when its partition's process restarts: that one is named.
    const k = partitionOf('tongxian', 3);
    expect(r.stdout).toContain(
      `the ingest is partitioned (N = 3): tongxian is in partition ${k}/3; restart the ingest process with INGEST_PARTITION=${k}/3`,
    );
    const after = readFileSync(join(site, 'stations.yaml'), 'utf8');
    // Appended: every line of the file as it was is still there, comments included.
    expect(after.startsWith(before.trimEnd())).toBe(true);
    expect(after).toMatch(/- id: tongxian\n\s+name: \{ zh: 通贤, en: Tongxian \}/);
    const listed = await cli(['stations', 'list', '--json']);
    expect((JSON.parse(listed.stdout) as Array<{ id: string }>).map((s) => s.id)).toContain('tongxian');
    expect(readFileSync(join(generated, 'gazetteer', 'tuojiang-stations.json'), 'utf8')).toContain('"tongxian"');
    expect((await cli(['dashboards', 'build', '--check', '--out', generated])).code).toBe(0);
    expect(statSync(passwd).mode & 0o777).toBe(0o600);
    expect(readFileSync(passwd, 'utf8')).not.toContain('tongxian-secret-0001');
  });

  it("writes a password a real Mosquitto accepts on the stations' listener, and refuses a wrong one", async () => {
    const services = join(tmp, 'passwd-services');
    writeFileSync(services, `ingest:${mosquittoHash('ingest-secret-000001')}\n`, { mode: 0o600 });
    broker = await startMosquitto({ users: [], passwordFiles: { stations: passwd, services } });
    const login = (password: string) =>
      mqtt.connectAsync(broker?.stationUrl ?? '', { username: 'tongxian', password, reconnectPeriod: 0, connectTimeout: 5000 });
    const good = await login('tongxian-secret-0001');
    await good.publishAsync('tuojiang/water/tongxian', '{}', { qos: 1 });
    await good.endAsync();
    await expect(login('not-the-password-01')).rejects.toThrow(/Not authorized|Bad username or password/i);
    // And the hash of the service account written the same way works on the services' listener.
    const ingest = await mqtt.connectAsync(broker.url, {
      username: 'ingest',
      password: 'ingest-secret-000001',
      reconnectPeriod: 0,
      connectTimeout: 5000,
    });
    await ingest.endAsync();
  });

  it('changes a password with `stations password`, keeping the other accounts', async () => {
    const r = await cli(['stations', 'password', 'zhaozhen'], 'zhaozhen-secret-0001\n');
    expect(r.code, r.stderr).toBe(0);
    const users = readFileSync(passwd, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split(':')[0]);
    expect(users.sort()).toEqual(['tongxian', 'zhaozhen']);
    const check = await cli(['stations', 'check', 'zhaozhen', 'tongxian']);
    expect(check.code, check.stdout).toBe(0);
    expect(check.stdout.match(/nothing missing/g)?.length).toBe(2);
  });
});
