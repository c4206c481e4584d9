/**
 * Numbers about the host a service runs on that the platform alerts on: how full Redis is and how
 * full the disk is. Sampled by the ingest's health reporter into `pipeline_health`, where the
 * provisioned Grafana alert rules read them (dashboards/provisioning/alerting/).
 */
import { readFile, statfs } from 'node:fs/promises';
import type { RedisClient } from './redis-client.js';

/** used_memory / maxmemory from INFO memory; 0 when Redis has no maxmemory (nothing to alert on). */
export async function redisMemoryRatio(redis: RedisClient): Promise<number> {
  const info = await redis.info('memory');
  const field = (name: string): number => Number(new RegExp(`^${name}:(\\d+)`, 'm').exec(info)?.[1] ?? NaN);
  const used = field('used_memory');
  const max = field('maxmemory');
  if (!(max > 0) || !Number.isFinite(used)) return 0;
  return used / max;
}

/** Free / total bytes of the file system holding `path` (available to unprivileged users). */
export async function diskFreeRatio(path = '/'): Promise<number> {
  const s = await statfs(path);
  return s.blocks > 0 ? s.bavail / s.blocks : NaN;
}

export const OVERCOMMIT_PATH = '/proc/sys/vm/overcommit_memory';

/**
 * Redis forks to rewrite its AOF and to save snapshots; with vm.overcommit_memory=0 the kernel may
 * refuse that fork under memory pressure, and the AOF stops being rewritten (or the backup's
 * BGSAVE fails). The setting is the host's, not the container's: read from /proc it is the same
 * inside a container, so every service can tell the operator. Undefined when it cannot be read.
 */
export async function overcommitWarning(path = OVERCOMMIT_PATH): Promise<string | undefined> {
  let value: string;
  try {
    value = (await readFile(path, 'utf8')).trim();
  } catch {
    return undefined;
  }
  if (value === '1') return undefined;
  return `vm.overcommit_memory is ${value} on this host, not 1: RedisClient may fail to fork for its AOF rewrite and snapshots (BGSAVE) under memory pressure. On the host: sysctl vm.overcommit_memory=1, and put it in /etc/sysctl.d/ (docs/operations.md, Install)`;
}
