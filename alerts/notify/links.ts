/**
 * The links in a notice: the signed acknowledgement link (served by `tuojiang api`), the signed
 * CAP document link and the Grafana panel of the station around the alert.
 *
 * An acknowledgement link carries alert, bureau and expiry, signed with HMAC-SHA256 under
 * ACK_SECRET: whoever holds the e-mail can acknowledge for that bureau, nobody can forge a link for
 * another alert or bureau, and a leaked link stops working at its expiry. A CAP link is signed the
 * same way over the event id (another purpose string, so neither signature opens the other): CAP
 * documents are Restricted by default and their ids are predictable.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

function mac(secret: string, message: string): Buffer {
  return createHmac('sha256', secret).update(message).digest();
}

const ackMessage = (alertId: string, bureau: string, exp: number): string => `tuojiang-ack|v1|${alertId}|${bureau}|${exp}`;
const capMessage = (eventId: string, exp: number): string => `tuojiang-cap|v1|${eventId}|${exp}`;

export function signAck(secret: string, alertId: string, bureau: string, exp: number): string {
  return mac(secret, ackMessage(alertId, bureau, exp)).toString('base64url');
}

export function signCap(secret: string, eventId: string, exp: number): string {
  return mac(secret, capMessage(eventId, exp)).toString('base64url');
}

export type AckCheck = 'ok' | 'invalid' | 'expired';

function verify(secret: string, message: string, exp: number, sig: unknown, now: number): AckCheck {
  if (!Number.isSafeInteger(exp) || typeof sig !== 'string' || !/^[A-Za-z0-9_-]{43}$/.test(sig)) return 'invalid';
  const got = Buffer.from(sig, 'base64url');
  // 43 characters carry 258 bits for 256: the last character has 4 spellings that decode alike.
  // Only the one the server itself writes is accepted, so a signature has a single form.
  if (got.toString('base64url') !== sig) return 'invalid';
  const want = mac(secret, message);
  if (got.length !== want.length || !timingSafeEqual(got, want)) return 'invalid';
  return now > exp ? 'expired' : 'ok';
}

export function verifyAck(secret: string, alertId: string, bureau: string, exp: number, sig: unknown, now = Date.now()): AckCheck {
  return verify(secret, ackMessage(alertId, bureau, exp), exp, sig, now);
}

export function verifyCap(secret: string, eventId: string, exp: number, sig: unknown, now = Date.now()): AckCheck {
  return verify(secret, capMessage(eventId, exp), exp, sig, now);
}

const trim = (base: string): string => base.replace(/\/+$/, '');

export function ackUrl(publicUrl: string, secret: string, alertId: string, bureau: string, exp: number): string {
  return `${trim(publicUrl)}/ack/${encodeURIComponent(alertId)}/${encodeURIComponent(bureau)}?exp=${exp}&sig=${signAck(secret, alertId, bureau, exp)}`;
}

export function capUrl(publicUrl: string, secret: string, eventId: string, exp: number): string {
  return `${trim(publicUrl)}/cap/${encodeURIComponent(eventId)}.xml?exp=${exp}&sig=${signCap(secret, eventId, exp)}`;
}

export function grafanaUrl(
  grafana: string,
  pathTemplate: string,
  v: { station: string; city: string; parameter: string; from: number; to: number },
): string {
  const path = pathTemplate.replace(/\{(station|city|parameter|from|to)\}/g, (_m, k: keyof typeof v) => encodeURIComponent(String(v[k])));
  return `${trim(grafana)}${path}`;
}
