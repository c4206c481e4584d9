/**
 * The links in a notice: the signed acknowledgement link (served by `tuojiang api`), the CAP
 * document and the Grafana panel of the station around the alert.
 *
 * An acknowledgement link carries alert, bureau and expiry, signed with HMAC-SHA256 under
 * ACK_SECRET: whoever holds the e-mail can acknowledge for that bureau, nobody can forge a link for
 * another alert or bureau, and a leaked link stops working at its expiry.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

function mac(secret: string, alertId: string, bureau: string, exp: number): Buffer {
  return createHmac('sha256', secret).update(`tuojiang-ack|v1|${alertId}|${bureau}|${exp}`).digest();
}

export function signAck(secret: string, alertId: string, bureau: string, exp: number): string {
  return mac(secret, alertId, bureau, exp).toString('base64url');
}

export type AckCheck = 'ok' | 'invalid' | 'expired';

export function verifyAck(secret: string, alertId: string, bureau: string, exp: number, sig: string, now = Date.now()): AckCheck {
  if (!Number.isSafeInteger(exp) || !/^[A-Za-z0-9_-]{43}$/.test(sig)) return 'invalid';
  const want = mac(secret, alertId, bureau, exp);
  const got = Buffer.from(sig, 'base64url');
  if (got.length !== want.length || !timingSafeEqual(got, want)) return 'invalid';
  return now > exp ? 'expired' : 'ok';
}

const trim = (base: string): string => base.replace(/\/+$/, '');

export function ackUrl(publicUrl: string, secret: string, alertId: string, bureau: string, exp: number): string {
  return `${trim(publicUrl)}/ack/${encodeURIComponent(alertId)}/${encodeURIComponent(bureau)}?exp=${exp}&sig=${signAck(secret, alertId, bureau, exp)}`;
}

export function capUrl(publicUrl: string, eventId: string): string {
  return `${trim(publicUrl)}/cap/${encodeURIComponent(eventId)}.xml`;
}

export function grafanaUrl(grafana: string, pathTemplate: string, v: { station: string; city: string; parameter: string; from: number; to: number }): string {
  const path = pathTemplate.replace(/\{(station|city|parameter|from|to)\}/g, (_m, k: keyof typeof v) => encodeURIComponent(String(v[k])));
  return `${trim(grafana)}${path}`;
}
