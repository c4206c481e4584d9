import type { Command } from 'commander';
import { decodeStream } from '../../ingest/hj212/describe.js';

export function registerHj212Commands(program: Command): void {
  const hj = program.command('hj212').description('HJ 212-2017 tools for debugging data loggers');
  hj.command('decode')
    .description('read frames (one per line) from stdin, print one JSON line per frame')
    .action(async () => {
      const { invalid } = await decodeStream(process.stdin, process.stdout);
      process.exitCode = invalid > 0 ? 1 : 0;
    });
}
