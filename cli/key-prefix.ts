/**
 * Every command's `--prefix` (the queues' and the alert state's key prefix) defaults to the one the
 * services use: REDIS_PREFIX, else config redis.prefix (config/redis-layout.ts), so that an
 * operator's command reads the keys the workers write, on one node or on a cluster.
 */
import type { Command } from 'commander';
import { readEnv } from '../config/env.js';
import { loadSettings } from '../config/load.js';
import { redisLayout } from '../config/redis-layout.js';

export const PREFIX_HELP = 'key prefix of the queues and the alert state (default: REDIS_PREFIX, else config redis.prefix)';

/** Fills in `--prefix` before any command that has the option runs without it. */
export function defaultPrefixFromLayout(program: Command): void {
  program.hook('preAction', (_root, action) => {
    if (!action.options.some((o) => o.long === '--prefix') || action.getOptionValue('prefix') !== undefined) return;
    action.setOptionValue('prefix', redisLayout(loadSettings(), readEnv()).prefix);
  });
}
