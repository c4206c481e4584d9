import { InvalidArgumentError, type Command } from 'commander';
import { readEnv } from '../../config/env.js';
import { loadConfig } from '../../config/load.js';
import { StationRegistry } from '../../config/station-registry.js';
import { formatEvent, formatSummary } from '../../simulator/format.js';
import { SPILL_DEFAULTS, spillSpanMs } from '../../simulator/plume.js';
import { SCENARIOS, runSimulation, type ScenarioName, type SimEvent, type SpillScenario } from '../../simulator/run.js';
import { loadRivers, withRiverVelocities } from '../../simulator/rivers.js';
import { printJson } from '../output.js';

/** With a scenario and no --speed, the speed that fits the whole scenario into about this long. */
const SCENARIO_WALL_S = 60;

const number =
  (name: string, check: (n: number) => boolean, expected: string) =>
  (v: string): number => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n) || !check(n)) throw new InvalidArgumentError(`${name} must be ${expected}, got "${v}"`);
    return n;
  };
const positive = (name: string) => number(name, (n) => n > 0, 'a positive number');
const nonNegative = (name: string) => number(name, (n) => n >= 0, 'zero or a positive number');
const fraction = (name: string) => number(name, (n) => n >= 0 && n <= 1, 'between 0 and 1');

interface SimulateFlags {
  speed?: number;
  duration?: number;
  scenario?: ScenarioName;
  compress: number;
  jsonShare: number;
  seed: number;
  velocityKmh?: number;
  velocityInRange: number;
  waterInterval: number;
  airInterval: number;
  maintenanceRate: number;
  dropoutRate: number;
  invalidShare: number;
  answerShare: number;
  stations?: string;
  json?: boolean;
  transport: 'mqtt' | 'tcp';
  hj212Host: string;
  hj212Port?: number;
  resendAfter: number;
}

export function registerSimulateCommand(program: Command): void {
  program
    .command('simulate')
    .description('publish realistic readings for every station over MQTT (JSON and HJ 212 mixed), optionally replaying a scenario')
    .option(
      '--speed <n>',
      'simulated time per wall-clock time (default 1; with --scenario: fit the scenario into ~60 s)',
      positive('--speed'),
    )
    .option(
      '--duration <s>',
      "wall-clock seconds to run (default: until Ctrl-C, starting 24 h back when --speed > 1 and following the wall clock once caught up; with --scenario: the scenario's length)",
      positive('--duration'),
    )
    .option('--scenario <name>', `replay a scenario: ${SCENARIOS.join(', ')}`, (v: string): ScenarioName => {
      if (!(SCENARIOS as readonly string[]).includes(v))
        throw new InvalidArgumentError(`unknown scenario "${v}"; known: ${SCENARIOS.join(', ')}`);
      return v as ScenarioName;
    })
    .option(
      '--compress <n>',
      'scenario time per simulated time (1 keeps the plume consistent with the configured velocity)',
      positive('--compress'),
      1,
    )
    .option('--json-share <0..1>', 'share of messages sent as JSON; the rest are HJ 212 frames', fraction('--json-share'), 0.5)
    .option(
      '--seed <n>',
      'seed: the same seed gives the same readings for the same instants',
      number('--seed', Number.isInteger, 'an integer'),
      2004,
    )
    .option(
      '--velocity-kmh <v>',
      `one river velocity for the spill, km/h (default: the reaches of config/rivers.yaml, else ${SPILL_DEFAULTS.velocityKmh})`,
      positive('--velocity-kmh'),
    )
    .option(
      '--velocity-in-range <0..1>',
      'where in each rivers.yaml velocity range the plume travels: 0 slowest, 1 fastest',
      fraction('--velocity-in-range'),
      0.5,
    )
    .option('--water-interval <min>', "simulated minutes between a water section's readings", positive('--water-interval'), 5)
    .option('--air-interval <min>', "simulated minutes between an air station's readings", positive('--air-interval'), 60)
    .option('--maintenance-rate <n>', 'maintenance windows per station per simulated day', nonNegative('--maintenance-rate'), 0.5)
    .option('--dropout-rate <n>', 'dropouts (silent windows) per station per simulated day', nonNegative('--dropout-rate'), 0.25)
    .option('--invalid-share <0..1>', 'share of messages broken on purpose (they become dead letters)', fraction('--invalid-share'), 0)
    .option('--answer-share <0..1>', 'share of HJ 212 frames asking for an answer (Flag=5)', fraction('--answer-share'), 0.1)
    .option('--stations <ids>', 'comma-separated station ids (default: all)')
    .option(
      '--transport <mqtt|tcp>',
      'mqtt: through the broker; tcp: every station a data logger on its own HJ 212 TCP connection to the ingest (PW from HJ212_LOGGER_PASSWORD, default 123456)',
      (v: string): 'mqtt' | 'tcp' => {
        if (v !== 'mqtt' && v !== 'tcp') throw new InvalidArgumentError(`--transport must be mqtt or tcp, got "${v}"`);
        return v;
      },
      'mqtt',
    )
    .option('--hj212-host <host>', "with --transport tcp: the ingest's HJ 212 listener", '127.0.0.1')
    .option(
      '--hj212-port <port>',
      'with --transport tcp: its port (default HJ212_TCP_PORT, else ingest.hj212_tcp.port)',
      number('--hj212-port', (n) => Number.isInteger(n) && n > 0 && n < 65536, 'a port number'),
    )
    .option(
      '--resend-after <s>',
      'with --transport tcp: a logger re-sends a frame not answered within this',
      positive('--resend-after'),
      10,
    )
    .option('--json', 'print events and the summary as JSON lines')
    .action(async (f: SimulateFlags) => {
      const config = loadConfig();
      const env = readEnv();
      const registry = new StationRegistry(config.registry);
      // Velocities: --velocity-kmh if given, else the reaches of config/rivers.yaml (the file the
      // alerts estimate arrival times from), else the default.
      const rivers = f.scenario ? loadRivers(config.dir, config.registry) : undefined;
      const scenario: SpillScenario | undefined = f.scenario
        ? withRiverVelocities(
            {
              name: f.scenario,
              velocityInRange: f.velocityInRange,
              ...(f.velocityKmh !== undefined ? { velocityKmh: f.velocityKmh } : {}),
            },
            rivers,
            f.velocityInRange,
          )
        : undefined;
      const spanMs = scenario ? spillSpanMs(registry, scenario, f.compress) : undefined;
      const speed = f.speed ?? (spanMs !== undefined ? Math.max(1, Math.ceil(spanMs / (SCENARIO_WALL_S * 1000))) : 1);
      const durationMs = f.duration !== undefined ? f.duration * 1000 : spanMs !== undefined ? spanMs / speed : Infinity;

      const controller = new AbortController();
      let interrupted = false;
      const onSignal = (): void => {
        if (interrupted) process.exit(130);
        interrupted = true;
        process.stderr.write('stopping: waiting for the broker to acknowledge what was sent (Ctrl-C again to quit now)\n');
        controller.abort();
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);

      let wallStart = Date.now();
      const onEvent = (e: SimEvent): void => {
        if (e.type === 'start') wallStart = e.wall;
        if (f.json) {
          if (e.type === 'end') return; // the summary follows
          printJson(e.type === 'start' ? { ...e, plan: undefined } : e);
          return;
        }
        for (const line of formatEvent(e, wallStart)) process.stdout.write(`${line}\n`);
      };

      try {
        const summary = await runSimulation({
          transport: f.transport,
          ...(f.transport === 'tcp'
            ? {
                hj212Tcp: {
                  host: f.hj212Host,
                  port: f.hj212Port ?? env.HJ212_TCP_PORT ?? config.settings.ingest.hj212_tcp.port,
                  password: process.env.HJ212_LOGGER_PASSWORD || undefined,
                  resendAfterMs: f.resendAfter * 1000,
                },
              }
            : {}),
          mqttUrl: env.MQTT_URL,
          username: env.MQTT_USERNAME,
          password: env.MQTT_PASSWORD,
          registry,
          scenario,
          speed,
          compress: f.compress,
          durationMs,
          jsonShare: f.jsonShare,
          seed: f.seed,
          onEvent,
          topicPrefix: config.settings.mqtt.topic_prefix,
          intervals: { waterMs: f.waterInterval * 60_000, airMs: f.airInterval * 60_000 },
          incidents: { maintenancePerDay: f.maintenanceRate, dropoutPerDay: f.dropoutRate },
          invalidShare: f.invalidShare,
          answerShare: f.answerShare,
          stations: f.stations
            ?.split(',')
            .map((s) => s.trim())
            .filter(Boolean),
          signal: controller.signal,
        });
        if (f.json) printJson({ type: 'summary', ...summary, plan: undefined });
        else for (const line of formatSummary(summary)) process.stdout.write(`${line}\n`);
        process.exitCode = summary.failed > 0 ? 1 : 0;
      } catch (e) {
        // An unknown station is the user's to fix: say so without a stack (a refused connection is a
        // TuojiangError, printed with its code and hint by the CLI).
        if (e instanceof RangeError) {
          process.stderr.write(`error: ${(e as Error).message}\n`);
          process.exitCode = 2;
          return;
        }
        throw e;
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
    });
}
