import { describe, expect, it } from 'vitest';
import { ackUrl, capUrl, grafanaUrl, signAck, signCap, verifyAck, verifyCap } from '../../alerts/notify/links.js';

const SECRET = 'a-secret-of-at-least-16';
const ALERT = 'ev.hongyuan.rt.limit.NH3N.firing.1777572000000';

describe('signed acknowledgement links', () => {
  const exp = 2_000_000_000_000;
  const sig = signAck(SECRET, ALERT, 'ziyang', exp);

  it('verify for the alert, bureau and expiry they were made for', () => {
    expect(sig).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(verifyAck(SECRET, ALERT, 'ziyang', exp, sig, exp - 1)).toBe('ok');
  });

  it('refuse another bureau, alert, expiry or secret, and a mangled signature', () => {
    expect(verifyAck(SECRET, ALERT, 'chengdu', exp, sig, 0)).toBe('invalid');
    expect(verifyAck(SECRET, `${ALERT}1`, 'ziyang', exp, sig, 0)).toBe('invalid');
    expect(verifyAck(SECRET, ALERT, 'ziyang', exp + 1, sig, 0)).toBe('invalid');
    expect(verifyAck('another-secret-of-16+', ALERT, 'ziyang', exp, sig, 0)).toBe('invalid');
    expect(verifyAck(SECRET, ALERT, 'ziyang', exp, `${sig.slice(0, -1)}${sig.endsWith('A') ? 'B' : 'A'}`, 0)).toBe('invalid');
    expect(verifyAck(SECRET, ALERT, 'ziyang', exp, '', 0)).toBe('invalid');
    expect(verifyAck(SECRET, ALERT, 'ziyang', Number.NaN, sig, 0)).toBe('invalid');
  });

  it('expire', () => {
    expect(verifyAck(SECRET, ALERT, 'ziyang', exp, sig, exp + 1)).toBe('expired');
  });

  it('are URLs on the public base', () => {
    expect(ackUrl('https://alerts.example/', SECRET, ALERT, 'ziyang', exp)).toBe(
      `https://alerts.example/ack/${ALERT}/ziyang?exp=${exp}&sig=${sig}`,
    );
    expect(capUrl('https://alerts.example', SECRET, 'ev.x.rt.k.firing.1', exp)).toBe(
      `https://alerts.example/cap/ev.x.rt.k.firing.1.xml?exp=${exp}&sig=${signCap(SECRET, 'ev.x.rt.k.firing.1', exp)}`,
    );
  });

  it('accept only the canonical base64url spelling of a signature (one signature, one string)', () => {
    // 32 bytes fill 43 characters with 2 bits to spare: the last character has 4 spellings.
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const last = alphabet.indexOf(sig.at(-1)!);
    const spellings = [0, 1, 2, 3].map((low) => `${sig.slice(0, -1)}${alphabet[(last & ~3) | low]}`);
    expect(new Set(spellings.map((s) => Buffer.from(s, 'base64url').toString('hex'))).size).toBe(1);
    expect(spellings.map((s) => verifyAck(SECRET, ALERT, 'ziyang', exp, s, 0))).toEqual(
      spellings.map((s) => (s === sig ? 'ok' : 'invalid')),
    );
    for (const other of [`${sig}=`, sig.replace(/_/g, '/').replace(/-/g, '+'), `${sig}==`]) {
      if (other !== sig) expect(verifyAck(SECRET, ALERT, 'ziyang', exp, other, 0)).toBe('invalid');
    }
    expect(verifyAck(SECRET, ALERT, 'ziyang', exp, 42, 0)).toBe('invalid');
  });

  it('CAP links are signed for their event only, and an ack signature does not open a CAP document', () => {
    const ev = 'ev.x.rt.k.firing.1';
    expect(verifyCap(SECRET, ev, exp, signCap(SECRET, ev, exp), 0)).toBe('ok');
    expect(verifyCap(SECRET, `${ev}2`, exp, signCap(SECRET, ev, exp), 0)).toBe('invalid');
    expect(verifyCap(SECRET, ev, exp, signAck(SECRET, ev, 'ziyang', exp), 0)).toBe('invalid');
    expect(verifyCap(SECRET, ev, exp, signCap(SECRET, ev, exp), exp + 1)).toBe('expired');
  });
});

describe('Grafana links', () => {
  it('fill the template with station, city, parameter and time range', () => {
    expect(
      grafanaUrl('http://g:3000/', '/d/s/station?var-station={station}&var-city={city}&p={parameter}&from={from}&to={to}', {
        station: 'hongyuan',
        city: 'chengdu',
        parameter: 'NH3N',
        from: 1,
        to: 2,
      }),
    ).toBe('http://g:3000/d/s/station?var-station=hongyuan&var-city=chengdu&p=NH3N&from=1&to=2');
  });
});
