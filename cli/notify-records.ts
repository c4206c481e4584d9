/**
 * What the CLI shows of the notify side's record: a Redis-backed NotifyStore for one command, a
 * bureau's acknowledgement/escalation line, one history entry as a line. Shared by `alerts …` and
 * `notify …`.
 */
import { cstTime } from '../alerts/notify/render.js';
import { NotifyStore, type AlertRecord, type LogEntry } from '../alerts/notify/store.js';
import { withCommandRedis } from '../config/connections.js';
import { readEnv } from '../config/env.js';
import { printable } from './terminal-text.js';

export async function withStore<T>(prefix: string, fn: (store: NotifyStore) => Promise<T>): Promise<T> {
  return withCommandRedis(readEnv(), (redis) => fn(new NotifyStore(redis, prefix)));
}

export function bureauLine(a: AlertRecord, bureau: string): string {
  const ack = a.acks[bureau];
  const esc = a.escalations[bureau];
  const parts = [ack ? `acknowledged by ${printable(ack.by)} (${printable(ack.via)}) ${cstTime(ack.at)}` : 'NOT acknowledged'];
  if (esc) parts.push(`escalated ${cstTime(esc.at)} to ${esc.to.join(', ')}`);
  return `${bureau}: ${parts.join('; ')}`;
}

export function describeEntry(e: LogEntry): string {
  switch (e.type) {
    case 'firing':
    case 'reminder':
    case 'resolved':
      return `${e.type.padEnd(9)} event time ${cstTime(e.at)}  value ${e.value ?? '–'}  limit ${e.limit ?? '–'}  to ${e.bureaus.join(', ')}${e.catchUp ? '  (after maintenance)' : ''}  [${e.eventId}]`;
    case 'sent':
      return `sent      to ${e.to} (${e.bureau} ${e.list})  ${e.items.length} notice(s)  ${e.messageId}`;
    case 'failed':
    case 'uncertain':
      return `${e.type.padEnd(9)} to ${e.to} (${e.bureau})  ${e.error}`;
    case 'ack':
      return `ack       ${e.bureau} by ${printable(e.by)} via ${printable(e.via)}`;
    case 'escalated':
      return `escalated ${e.bureau} to ${e.to.join(', ')}`;
  }
}
