import type { Command } from 'commander';
import { TuojiangError } from '../../lib/errors.js';

/**
 * The demo's in-process SMTP sink needs smtp-server and mailparser, development dependencies the
 * production image leaves out (`npm ci --omit=dev`): loaded only when the demo runs, so every
 * other command works without them.
 */
async function loadDemo(): Promise<typeof import('../../demo/run-demo.js')> {
  try {
    return await import('../../demo/run-demo.js');
  } catch (e) {
    if ((e as { code?: string }).code !== 'ERR_MODULE_NOT_FOUND') throw e;
    throw new TuojiangError(
      'SERVICE_START',
      `the demo needs the development dependencies (${(e as Error).message.split('\n')[0]}): run it from a checkout after \`npm ci\`, not in the production image`,
    );
  }
}

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('run the whole pipeline on local services with a 2004-style ammonia spill, then stop')
    .option('--out <dir>', 'where e-mails are saved (.eml)', 'demo-out')
    .option('--seconds <n>', 'wall-clock length of the spill replay', '60')
    .option('--settle <n>', 'seconds to wait for alerts and e-mails after the replay', '45')
    .option('--seed <n>', 'simulator seed', '2004')
    .action(async (opts: { out: string; seconds: string; settle: string; seed: string }) => {
      const controller = new AbortController();
      // Ctrl-C: stop the replay, then the demo's finally block stops every service it started.
      // `on`, not `once`: the launcher kills the services at once on a signal nobody else handles.
      const onSignal = () => controller.abort();
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      try {
        const { runDemo } = await loadDemo();
        const summary = await runDemo(
          { outDir: opts.out, seconds: Number(opts.seconds), settleSeconds: Number(opts.settle), seed: Number(opts.seed) },
          controller.signal,
        );
        process.exitCode = controller.signal.aborted || summary.stored >= summary.readings ? 0 : 1;
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
    });
}
