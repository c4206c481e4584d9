import { describe, expect, it } from 'vitest';
import { SESSION_TAKEN_OVER, TakeoverDetector } from '../../ingest/session-takeover.js';

describe('TakeoverDetector', () => {
  it('reports DISCONNECT 0x8E at once, and not again when the reconnect succeeds', () => {
    const d = new TakeoverDetector();
    expect(d.onDisconnectPacket(SESSION_TAKEN_OVER)).toBe('disconnect-0x8e');
    d.onClose(false);
    d.onReconnectAttempt();
    expect(d.onConnect()).toBeUndefined();
  });

  it('reports a silent close followed by a first-attempt reconnect (mosquitto 2.0.11 on a takeover)', () => {
    const d = new TakeoverDetector();
    expect(d.onConnect()).toBeUndefined();
    d.onClose(false);
    d.onReconnectAttempt();
    expect(d.onConnect()).toBe('silent-close');
  });

  it('does not report a broker that was away (the first reconnect attempt failed)', () => {
    const d = new TakeoverDetector();
    d.onClose(false);
    d.onReconnectAttempt();
    d.onClose(true); // ECONNREFUSED
    d.onReconnectAttempt();
    expect(d.onConnect()).toBeUndefined();
  });

  it('does not report closes we caused or that the broker explained with another reason', () => {
    const ours = new TakeoverDetector();
    ours.onClose(true);
    ours.onReconnectAttempt();
    expect(ours.onConnect()).toBeUndefined();
    const shutdown = new TakeoverDetector();
    expect(shutdown.onDisconnectPacket(0x8b)).toBeUndefined();
    shutdown.onClose(false);
    shutdown.onReconnectAttempt();
    expect(shutdown.onConnect()).toBeUndefined();
  });
});
