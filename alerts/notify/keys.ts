/**
 * Redis key names of the notifications, under the same prefix as the alert state (a hash-tag
 * prefix such as '{tuojiang}' keeps them in one Redis Cluster slot: the scripts build some keys
 * from others, as the alert-state scripts do).
 */
import { createHash } from 'node:crypto';
import { DEFAULT_PREFIX } from '../keys.js';

/** BullMQ queues of the notifications (the input queue `notify` is alerts/keys.ts QUEUE_NOTIFY). */
/** Delivery jobs on every channel (named when e-mail was the only one; renaming would orphan queued jobs). */
export const QUEUE_MAIL = 'notify-mail';
export const QUEUE_ESCALATE = 'notify-escalate';
/** Incident drains and close checks (alerts/incidents/processor.ts). */
export const QUEUE_INCIDENT = 'notify-incident';

export type Lane = 'now' | 'held';

export class NotifyKeys {
  readonly base: string;
  readonly alerts: string;
  readonly firing: string;
  readonly dead: string;
  readonly batchBase: string;
  readonly openBase: string;

  constructor(readonly prefix: string = DEFAULT_PREFIX) {
    this.base = `${prefix}:nt:`;
    this.alerts = `${this.base}alerts`;
    this.firing = `${this.base}firing`;
    this.dead = `${this.base}dead`;
    this.batchBase = `${this.base}b:`;
    this.openBase = `${this.base}open:`;
  }

  alert(id: string): string {
    return `${this.base}a:${id}`;
  }

  alertLog(id: string): string {
    return `${this.base}a:${id}:log`;
  }

  /** CAP messages of one alert: event id -> event time. */
  alertCaps(id: string): string {
    return `${this.base}a:${id}:caps`;
  }

  /** Alerts (firing episodes) of one key: alert id by firing time. */
  episodes(station: string, period: string, key: string): string {
    return `${this.base}ep:${station}:${period}:${key}`;
  }

  cap(eventId: string): string {
    return `${this.base}cap:${eventId}`;
  }

  placed(recipient: string, itemId: string): string {
    return `${this.base}pl:${recipient}:${itemId}`;
  }

  open(recipient: string, lane: Lane): string {
    return `${this.openBase}${recipient}:${lane}`;
  }

  seq(recipient: string): string {
    return `${this.base}seq:${recipient}`;
  }

  batch(batchId: string): string {
    return `${this.batchBase}${batchId}`;
  }

  batchItems(batchId: string): string {
    return `${this.batchBase}${batchId}:items`;
  }

  outbox(batchId: string): string {
    return `${this.base}out:${batchId}`;
  }
}

/**
 * A recipient's key: bureau and a hash of the address (BullMQ job ids may not hold ':' and
 * addresses are nobody's business in key names).
 */
export function recipientKey(bureau: string, email: string): string {
  return `${bureau}-${createHash('sha256').update(email.toLowerCase()).digest('hex').slice(0, 12)}`;
}
