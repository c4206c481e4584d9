/**
 * A notify worker in its own process, so a test can SIGKILL it mid-delivery. Configured from the
 * environment by test/integration/notify-delivery.test.ts; tells the parent when it is ready.
 */
import { startNotifyService } from '../../alerts/notify/service.js';
import { StationRegistry } from '../../config/station-registry.js';
import { ACK_SECRET, GRAFANA_URL, MAIL_FROM, PUBLIC_URL, shipped, testNotifyConfig } from './notify-stack.js';

const env = (k: string): string => {
  const v = process.env[k];
  if (v === undefined) throw new Error(`${k} is required`);
  return v;
};

const service = await startNotifyService({
  redisUrl: env('NT_REDIS_URL'),
  prefix: env('NT_PREFIX'),
  registry: new StationRegistry(shipped.registry),
  config: testNotifyConfig(shipped.registry),
  smtpUrl: env('NT_SMTP_URL'),
  mailFrom: MAIL_FROM,
  ackSecret: ACK_SECRET,
  publicUrl: PUBLIC_URL,
  grafanaUrl: GRAFANA_URL,
  lockDurationMs: 4000,
  stalledIntervalMs: 1000,
});
process.send?.({ t: 'ready' });
process.on('message', (m: { t: string }) => {
  if (m.t === 'stop') void service.close().then(() => process.exit(0));
});
