import { createRequire } from 'node:module';

/**
 * MQTT.js, mqtt-packet and ioredis log through the `debug` package. Even with logging off, each call
 * to one of its loggers allocates an array for its arguments and evaluates a getter; mqtt-packet makes
 * about ten such calls per packet it parses or writes. Parsing a PUBLISH took 1.3–1.8 µs with them
 * and 1.0–1.1 µs without (docs/decisions/0018).
 *
 * So when DEBUG is unset, the `debug` these libraries `require` hands out loggers that do nothing
 * (disabled, as they would be anyway). It only works for libraries loaded after this module: the
 * command-line entry imports it first (`cli/main.ts`). With DEBUG set, nothing changes, so
 * `DEBUG=mqttjs*,mqtt-packet*` still shows their traces; enabling namespaces later at run time
 * (`debug.enable()`) is what no longer reaches the loggers handed out quietly.
 */

type DebugFactory = ((namespace: string) => unknown) & { enabled(namespace: string): boolean };

/** A set, not a list: libraries may ask for the same namespace again (per connection), for as long as the process runs. */
const quieted = new Set<string>();

/** The namespaces that got a no-op logger, in the order first asked for (for tests). */
export function quietNamespaces(): readonly string[] {
  return [...quieted];
}

function silentLogger(namespace: string, factory: DebugFactory): unknown {
  const logger = (): void => undefined;
  return Object.assign(logger, {
    namespace,
    enabled: false,
    useColors: false,
    color: 0,
    diff: 0,
    log: (): void => undefined,
    destroy: (): boolean => false,
    extend: (sub: string, delimiter = ':') => factory(`${namespace}${delimiter}${sub}`),
  });
}

/** Installs the quiet factory unless DEBUG asks for traces; returns whether it did. */
export function quietDebugUnlessAsked(env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.DEBUG) return false;
  const require = createRequire(import.meta.url);
  let path: string;
  try {
    path = require.resolve('debug');
  } catch {
    return false; // not installed: nothing to quiet
  }
  const real = require(path) as DebugFactory;
  const cached = require.cache[path];
  if (!cached || (real as { tjQuiet?: boolean }).tjQuiet) return false;
  const quiet = ((namespace: string): unknown => {
    // A namespace someone enabled in code before loading (debug.enable) keeps its real logger.
    if (real.enabled(namespace)) return real(namespace);
    quieted.add(namespace);
    return silentLogger(namespace, quiet);
  }) as DebugFactory;
  // Everything else (enable, disable, formatters, …) is the real module's, through the prototype.
  Object.setPrototypeOf(quiet, real);
  Object.assign(quiet, { default: quiet, debug: quiet, tjQuiet: true });
  cached.exports = quiet;
  return true;
}

quietDebugUnlessAsked();
