import type { Logger } from './logger.js';

/** How often one source may log an error while Redis is down; the rest are counted. */
export const ERROR_LOG_INTERVAL_MS = 10_000;

interface ErrorSource {
  on(event: 'error', listener: (err: Error) => void): unknown;
}

interface RedisEvents {
  on(event: 'error' | 'close' | 'ready', listener: (...args: unknown[]) => void): unknown;
}

/**
 * Logs a source's `error` events as structured warnings, at most one per interval, each saying how
 * many were suppressed since the last. Listening is also what keeps them out of the log as raw
 * stacks: BullMQ prints an `error` with no listener with console.error, ioredis as "Unhandled error
 * event", and during an outage both repeat several times a second.
 */
export function logErrorsRateLimited(
  emitter: ErrorSource,
  source: string,
  log: Logger | undefined,
  intervalMs = ERROR_LOG_INTERVAL_MS,
): void {
  let lastAt = -Infinity;
  let suppressed = 0;
  emitter.on('error', (err: Error) => {
    const now = Date.now();
    if (now - lastAt < intervalMs) {
      suppressed++;
      return;
    }
    lastAt = now;
    log?.warn(
      { source, err: err.message, errCode: (err as NodeJS.ErrnoException).code, suppressed, everyS: intervalMs / 1000 },
      `${source}: redis unavailable`,
    );
    suppressed = 0;
  });
}

/**
 * Logs once when a Redis connection is ready again after losing it, with how long it was gone:
 * with the failures rate-limited, the operator still needs to see when the outage ended.
 */
export function logRedisRecovery(redis: RedisEvents, source: string, log: Logger | undefined): void {
  let downSince = 0;
  const down = (): void => {
    if (downSince === 0) downSince = Date.now();
  };
  redis.on('error', down);
  redis.on('close', down);
  redis.on('ready', () => {
    if (downSince === 0) return;
    const downS = Math.round((Date.now() - downSince) / 100) / 10;
    downSince = 0;
    log?.info({ source, downS }, `redis reconnected after ${downS} s`);
  });
}
