/**
 * What goes into a notice (an e-mail, a WeCom message, a webhook request): one notice item per
 * transition (or escalation) per recipient, built by the router when the transition is handled and
 * stored with the batch, so that every later attempt renders the same message from the same data.
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

/** The ways a notice reaches a person (alerts/notify/channels/index.ts has one entry each). */
export const CHANNEL_NAMES = ['email', 'wecom', 'webhook'] as const;
export type ChannelName = (typeof CHANNEL_NAMES)[number];

/**
 * One delivery address of a batch: a person's e-mail, or their WeCom robot or webhook endpoint.
 * `channel` and `address` are absent on e-mail recipients stored before channels existed.
 */
export interface Recipient {
  key: string;
  bureau: string;
  name: string;
  /** The person's e-mail address (every person has one; for e-mail it is also where it goes). */
  email: string;
  list: 'duty' | 'escalation';
  channel?: ChannelName;
  /** The robot or endpoint id of recipients.yaml `channels:` (for e-mail: the address). */
  address?: string;
  /** WeCom: the userid to @ in the group. */
  mention?: string;
}

export function channelOf(r: Recipient): ChannelName {
  return r.channel ?? 'email';
}

/** Where a batch goes, as logs, dead letters and history show it: an address, or `wecom:<robot>`. */
export function destinationOf(r: Recipient): string {
  const channel = channelOf(r);
  return channel === 'email' ? r.email : `${channel}:${r.address ?? ''}`;
}

export function noticeEventOf(e: AlertEvent): NoticeEvent {
  const { message: _m, ...rest } = e;
  return rest;
}
