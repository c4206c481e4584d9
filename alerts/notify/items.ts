/**
 * What goes into an e-mail: one notice item per transition (or escalation) per recipient, built by
 * the router when the transition is handled and stored with the batch, so that every later
 * attempt renders the same e-mail from the same data.
 */
import type { AlertEvent } from '../events.js';
import type { Arrival, RouteRole } from './routing.js';
import type { Severity } from './severity.js';

/**
 * The alert event as the notify worker reads it. `breachSince` (when the exceedance began, before
 * it was long enough to fire) and `episodeAt` (the firing time of the episode a reminder or
 * resolve belongs to) and `peak` (the worst value of the episode) are used when the alerts worker
 * provides them.
 */
export type NoticeEvent = Omit<AlertEvent, 'message'> & { message?: string; breachSince?: number; episodeAt?: number; peak?: number };

/** What the bureaus were told last about the same alert (for "what changed since the last notice"). */
export interface PreviousNotice {
  eventId: string;
  kind: AlertEvent['kind'];
  at: number;
  value: number | null;
  limit: number | null;
}

export interface NoticeItem {
  /** Unique per recipient: the event id, or `esc.{alertId}.{bureau}` for an escalation. */
  id: string;
  type: 'transition' | 'escalation';
  /** The firing episode: the id of its firing event. */
  alertId: string;
  bureau: string;
  roles: RouteRole[];
  severity: Severity;
  event: NoticeEvent;
  /** Event time the alert fired. */
  firstAt: number;
  previous: PreviousNotice | null;
  /** The worst value of the episode so far. */
  peak: number | null;
  /** Arrival at this bureau's first section downstream. */
  arrival?: Arrival;
  downstream: Arrival[];
  links: { grafana: string; ack: string; cap: string | null };
  /** For an escalation: how long the bureau had to acknowledge. */
  escalation?: { ackTimeoutMs: number; firedNotifiedAt: number };
}

/** A batch as the mailer reads it: the recipient and the items, in the order they were placed. */
export interface Recipient {
  key: string;
  bureau: string;
  name: string;
  email: string;
  list: 'duty' | 'escalation';
}

export function noticeEventOf(e: AlertEvent): NoticeEvent {
  const { message: _m, ...rest } = e;
  return rest;
}
