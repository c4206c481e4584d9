import { isTuojiangError } from '../lib/errors.js';
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

/** Run a long-lived service until SIGTERM/SIGINT, then stop it cleanly once (a second signal forces exit). */
export function runUntilSignal(stop: () => Promise<void>, log: { info: (o: object, m: string) => void }): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      process.exit(130);
    }
    stopping = true;
    log.info({ signal }, 'stopping');
    stop().then(
      () => process.exit(0),
      (e: unknown) => process.exit(reportError(e)),
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}
