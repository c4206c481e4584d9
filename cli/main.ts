// First: libraries loaded after it get quiet `debug` loggers unless DEBUG is set (lib/quiet-debug.ts).
import '../lib/quiet-debug.js';
import { Command } from 'commander';
import { registerAlertsCommands } from './commands/alerts.js';
import { registerConfigCommands } from './commands/config.js';
import { registerDashboardsCommands } from './commands/dashboards.js';
import { registerDeadLetterCommands } from './commands/deadletters.js';
import { registerDemoCommand } from './commands/demo.js';
import { registerNotifyCommands } from './commands/notify.js';
import { registerThresholdsCommands } from './commands/thresholds.js';
import { registerApiCommand } from './commands/api.js';
import { registerHj212Commands } from './commands/hj212.js';
import { registerIngestCommand } from './commands/ingest.js';
import { registerMaintenanceCommands } from './commands/maintenance.js';
import { registerSimulateCommand } from './commands/simulate.js';
import { registerStandardsCommands } from './commands/standards.js';
import { registerStationsCommands } from './commands/stations.js';
import { reportError } from './output.js';
import { defaultPrefixFromLayout } from './key-prefix.js';

const program = new Command('tuojiang')
  .description('Tuojiang basin joint water/air monitoring: ingest, threshold checks, joint alerts')
  .showHelpAfterError();
defaultPrefixFromLayout(program);

registerIngestCommand(program);
registerAlertsCommands(program);
registerNotifyCommands(program);
registerThresholdsCommands(program);
registerApiCommand(program);
registerMaintenanceCommands(program);
registerConfigCommands(program);
registerStationsCommands(program);
registerHj212Commands(program);
registerDeadLetterCommands(program);
registerStandardsCommands(program);
registerSimulateCommand(program);
registerDashboardsCommands(program);
registerDemoCommand(program);

program.parseAsync(process.argv).catch((e: unknown) => {
  process.exit(reportError(e));
});
