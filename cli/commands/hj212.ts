import { InvalidArgumentError, type Command } from 'commander';
import { loadConfig } from '../../config/load.js';
import { decodeStream } from '../../ingest/hj212/describe.js';
import { StationRegistry } from '../../config/station-registry.js';

export function registerHj212Commands(program: Command): void {
  const hj = program.command('hj212').description('HJ 212-2017 tools for debugging data loggers');
  hj.command('decode')
    .description(
      'read frames (one per line) from stdin, print one JSON line per frame; without --station a refused frame says which stations.yaml hj212 settings would accept it',
    )
    .option('--station <id>', "decode as this station's logger: with its hj212 tolerances (crc, lenient) from stations.yaml")
    .action(async (opts: { station?: string }) => {
      let tolerance;
      if (opts.station !== undefined) {
        const registry = new StationRegistry(loadConfig().registry);
        const station = registry.get(opts.station);
        if (!station) throw new InvalidArgumentError(`unknown station "${opts.station}"; \`tuojiang stations list\` shows the ids`);
        tolerance = registry.hj212Tolerance(station.mn);
      }
      const { invalid } = await decodeStream(process.stdin, process.stdout, tolerance);
      process.exitCode = invalid > 0 ? 1 : 0;
    });
}
