import type { Command } from 'commander';
import { withCommandRedis } from '../../config/connections.js';
import { readEnv } from '../../config/env.js';
import { loadConfig } from '../../config/load.js';
import { redisLayout } from '../../config/redis-layout.js';
import { readDeadLetters } from '../../ingest/journal.js';
import { printJson } from '../output.js';

export function registerDeadLetterCommands(program: Command): void {
  program
    .command('deadletters')
    .description('rejected payloads with their reason codes, newest first')
    .option('--reason <code>', 'only this reason code, e.g. TJ_UNKNOWN_STATION')
    .option('--station <id>', 'only this station (as named by the topic)')
    .option('--limit <n>', 'at most this many', '20')
    .option('--json', 'one JSON object per line')
    .action(async (opts: { reason?: string; station?: string; limit: string; json?: boolean }) => {
      const limit = Number(opts.limit);
      if (!Number.isInteger(limit) || limit < 1) throw new Error(`--limit must be a positive integer, got ${opts.limit}`);
      const env = readEnv();
      const { settings } = loadConfig();
      await withCommandRedis(env, async (redis) => {
        const list = await readDeadLetters(redis, redisLayout(settings, env).deadLetterStream, {
          limit,
          reason: opts.reason,
          station: opts.station,
        });
        for (const d of list) {
          if (opts.json) printJson(d);
          else {
            // Payloads are stored as a prefix: say so when the original was longer.
            const cut =
              d.size !== undefined && d.size > Buffer.byteLength(d.payload, d.encoding === 'base64' ? 'base64' : 'utf8')
                ? `  (${d.size} bytes, stored prefix; sha256 ${d.sha256 ?? '?'})`
                : '';
            process.stdout.write(
              `${new Date(d.receivedAt).toISOString()}  ${d.reason}  ${d.topic}  ${d.message}${cut}\n    ${d.encoding === 'utf8' ? d.payload.slice(0, 200) : `(base64) ${d.payload.slice(0, 200)}`}\n`,
            );
          }
        }
        if (!opts.json && list.length === 0) process.stdout.write('no dead letters\n');
      });
    });
}
