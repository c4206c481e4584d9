import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureBinaries, type Log, type ServiceName } from './packages.js';
import { startMosquitto, type MosquittoHandle, type MosquittoOptions } from './mosquitto.js';
import { startRedis, type RedisHandle, type RedisOptions } from './redis.js';
import { startInfluxdb, type InfluxdbHandle, type InfluxdbOptions } from './influxdb.js';
import { adoptDir, releaseDir } from './process.js';

export { freePort } from './ports.js';
export { ensureBinaries, missingBinariesError, INSTALL_COMMAND, type ServiceName, type Log } from './packages.js';
export { startMosquitto, renderMosquittoConfig, brokerConfigDir } from './mosquitto.js';
export { SERVICE_ACCOUNTS } from './mosquitto.js';
export type { MosquittoHandle, MosquittoOptions, MqttUser, MosquittoOverrides } from './mosquitto.js';
export { startRedis, type RedisHandle, type RedisOptions } from './redis.js';
export { startInfluxdb, type InfluxdbHandle, type InfluxdbOptions } from './influxdb.js';
export { startRedisCluster, type RedisClusterHandle, type RedisClusterOptions, type ClusterNode } from './redis-cluster.js';
export { pidsOfLiveChildren, type ServiceControl } from './process.js';

export interface ServicesOptions {
  mosquitto?: Omit<MosquittoOptions, 'dir' | 'log'>;
  redis?: boolean | Omit<RedisOptions, 'dir' | 'log'>;
  influxdb?: boolean | Omit<InfluxdbOptions, 'dir' | 'log'>;
  /** Parent dir for the services' dirs. Default: a new dir under os.tmpdir(), removed by stopAll(). */
  dir?: string;
  log?: Log;
}

type Wanted<V> = V extends undefined | false ? never : V;

export type Services<O extends ServicesOptions> = {
  /** Parent dir of every service's data. */
  dir: string;
  mosquitto: [Wanted<O['mosquitto']>] extends [never] ? undefined : MosquittoHandle;
  redis: [Wanted<O['redis']>] extends [never] ? undefined : RedisHandle;
  influxdb: [Wanted<O['influxdb']>] extends [never] ? undefined : InfluxdbHandle;
  /** Stops every started service gracefully (in parallel) and removes the default dir. */
  stopAll(): Promise<void>;
};

/**
 * Starts the requested services in parallel, each on a free loopback port with its own data dir
 * under one parent dir. If one fails to start, the others are stopped before the error is rethrown.
 */
export async function startServices<O extends ServicesOptions>(opts: O): Promise<Services<O>> {
  const needs: ServiceName[] = [];
  if (opts.mosquitto) needs.push('mosquitto');
  if (opts.redis) needs.push('redis');
  if (opts.influxdb) needs.push('influxdb');
  // One apt-get for everything missing, rather than three racing for the dpkg lock.
  await ensureBinaries(needs, opts.log);

  const ownsDir = opts.dir === undefined;
  const dir = opts.dir ?? (await mkdtemp(join(tmpdir(), 'tuojiang-services-')));
  if (ownsDir) adoptDir(dir);
  const sub = async (name: string): Promise<string> => {
    const d = join(dir, name);
    await mkdir(d, { recursive: true });
    return d;
  };
  const log = opts.log ? { log: opts.log } : {};
  const pick = <T extends object>(v: boolean | T | undefined): T | Record<string, never> => (typeof v === 'object' ? v : {});

  const starting = [
    opts.mosquitto ? startMosquitto({ ...opts.mosquitto, dir: await sub('mosquitto'), ...log }) : undefined,
    opts.redis ? startRedis({ ...pick(opts.redis), dir: await sub('redis'), ...log }) : undefined,
    opts.influxdb ? startInfluxdb({ ...pick(opts.influxdb), dir: await sub('influxdb'), ...log }) : undefined,
  ] as const;
  const settled = await Promise.allSettled(starting.map((p) => p ?? Promise.resolve(undefined)));
  const handles = settled.map((s) => (s.status === 'fulfilled' ? s.value : undefined));
  const stopAll = async (): Promise<void> => {
    await Promise.all(handles.map((h) => h?.stop()));
    if (ownsDir) {
      await rm(dir, { recursive: true, force: true });
      releaseDir(dir);
    }
  };

  const failure = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failure) {
    await stopAll();
    throw failure.reason;
  }

  return {
    dir,
    mosquitto: handles[0] as MosquittoHandle | undefined,
    redis: handles[1] as RedisHandle | undefined,
    influxdb: handles[2] as InfluxdbHandle | undefined,
    stopAll,
  } as Services<O>;
}
