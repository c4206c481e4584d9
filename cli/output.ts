import { TuojiangError, isTuojiangError } from '../lib/errors.js';
import { redactUrls } from '../lib/redact-url.js';

export function printJson(x: unknown): void {
  process.stdout.write(`${JSON.stringify(x)}\n`);
}

/**
 * Errors a user can act on print their code, message and hint; exit code 2 for bad input/config.
 * A URL's userinfo is hidden: library errors quote the URL they failed on.
 */
export function reportError(e: unknown): number {
  if (isTuojiangError(e)) {
    process.stderr.write(redactUrls(`error ${e.code}: ${e.message}\n  → ${e.hint}\n`));
    return 2;
  }
  process.stderr.write(redactUrls(`error: ${(e as Error)?.stack ?? String(e)}\n`));
  return 1;
}

/**
 * Run a long-lived service until SIGTERM/SIGINT, then stop it cleanly once (a second signal forces
 * exit). `deadlineMs` bounds the stop: a close that waits on an unreachable Redis would otherwise
 * never finish, and an orchestrator's SIGKILL would come with no word of what was left.
 */
export function runUntilSignal(
  stop: () => Promise<void>,
  log: { info: (o: object, m: string) => void; error: (o: object, m: string) => void },
  deadlineMs?: number,
): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      process.exit(130);
    }
    stopping = true;
    log.info({ signal, deadlineMs }, 'stopping');
    if (deadlineMs !== undefined) {
      setTimeout(() => {
        const err = new TuojiangError(
          'SHUTDOWN_INCOMPLETE',
          `not stopped ${deadlineMs / 1000} s after ${signal}; exiting with connections still open`,
        );
        log.error({ code: err.code, hint: err.hint }, err.message);
        process.exit(1);
      }, deadlineMs).unref();
    }
    stop().then(
      () => process.exit(0),
      (e: unknown) => {
        const code = reportError(e);
        // An incomplete shutdown is not a usage error (2): it says this run ended with work left.
        process.exit(isTuojiangError(e) && e.code === 'TJ_SHUTDOWN_INCOMPLETE' ? 1 : code);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}
