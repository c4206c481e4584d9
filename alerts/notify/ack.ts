/**
 * Acknowledgement by one bureau (each bureau acknowledges separately): from the CLI
 * (`tuojiang alerts ack`) or the signed link (`tuojiang api`). The first acknowledgement of a
 * bureau stands; acknowledging again says who did it first. It stops that bureau's escalation.
 */
import { NotifyError } from './errors.js';
import type { AckRecord, NotifyStore } from './store.js';

export async function acknowledge(store: NotifyStore, alertId: string, bureau: string, by: string, via: AckRecord['via'], now = Date.now()): Promise<{ status: 'recorded' | 'already'; ack: AckRecord }> {
  const a = await store.alert(alertId);
  if (!a) throw new NotifyError('ALERT_NOT_FOUND', `no notified alert "${alertId}"`);
  if (!a.info.bureaus.includes(bureau)) {
    throw new NotifyError('BUREAU_NOT_NOTIFIED', `bureau "${bureau}" was not notified of ${alertId} (notified: ${a.info.bureaus.join(', ')})`);
  }
  const r = await store.ack(alertId, bureau, { by, at: now, via });
  if (r.status === 'unknown-alert' || !r.ack) throw new NotifyError('ALERT_NOT_FOUND', `no notified alert "${alertId}"`);
  return { status: r.status, ack: r.ack };
}
