import { mkdtempSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bureauPolicy, loadNotifyConfig } from '../../alerts/notify/config.js';
import { readNotifyEnv } from '../../alerts/notify/env.js';
import { shipped } from '../helpers/notify-stack.js';

function dirWith(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'tj-notify-config-'));
  for (const f of ['recipients.yaml', 'rivers.yaml']) copyFileSync(join(shipped.dir, f), join(dir, f));
  for (const [f, text] of Object.entries(files)) writeFileSync(join(dir, f), text);
  return dir;
}

describe('config/recipients.yaml and config/rivers.yaml', () => {
  it('the shipped files are valid against the shipped registry', () => {
    const c = loadNotifyConfig(shipped.dir, shipped.registry);
    expect(Object.keys(c.recipients.bureaus).sort()).toEqual(['chengdu', 'ziyang']);
    expect(c.rivers.rivers.tuojiang?.reaches.length).toBeGreaterThan(0);
    const p = bureauPolicy(c.recipients, 'ziyang')!;
    expect(p.language).toBe('zh-en');
    expect(p.ackTimeoutMs).toBe(30 * 60_000);
    expect(p.quietHours).toBeNull();
    expect(p.escalation.length).toBeGreaterThan(0);
  });

  it('errors name the file, the line and the key', () => {
    const dir = dirWith({
      'recipients.yaml':
        'version: 1\nbureaus:\n  chengdu:\n    name: { zh: 成都, en: Chengdu }\n    duty:\n      - { name: x, email: not-an-address }\n  neijiang:\n    name: { zh: 内江, en: Neijiang }\n    duty: [{ name: y, email: y@n.example }]\n',
    });
    let msg = '';
    try {
      loadNotifyConfig(dir, shipped.registry);
    } catch (e) {
      msg = (e as Error).message;
    }
    expect(msg).toMatch(/recipients\.yaml:6:\d+ bureaus\.chengdu\.duty\[0\]\.email: an e-mail address/);
    expect(msg).toMatch(/recipients\.yaml:8:\d+ bureaus\.neijiang: unknown city "neijiang"/);
    expect(msg).toContain('no bureau for city "ziyang"');
  });

  it('reaches must be contiguous and cover every section', () => {
    const dir = dirWith({
      'rivers.yaml':
        'version: 1\nrivers:\n  tuojiang:\n    reaches:\n      - { from_km: 0, to_km: 50, velocity: { min_m_s: 0.2, max_m_s: 1 } }\n      - { from_km: 60, to_km: 100, velocity: { min_m_s: 0.5, max_m_s: 0.2 } }\n',
    });
    let msg = '';
    try {
      loadNotifyConfig(dir, shipped.registry);
    } catch (e) {
      msg = (e as Error).message;
    }
    expect(msg).toContain('reaches must be contiguous and in order: expected from_km 50');
    expect(msg).toContain('min_m_s must not exceed max_m_s');
    expect(msg).toContain('station ziyang-city at km 112 lies outside the reaches');
  });
});

describe('notify environment', () => {
  it('needs an ACK_SECRET of 16 characters or more, and never echoes it', () => {
    expect(() => readNotifyEnv({})).toThrow(/ACK_SECRET: expected at least 16 characters/);
    expect(() => readNotifyEnv({ ACK_SECRET: 'short-secret' })).toThrow(/ACK_SECRET: expected at least 16 characters .*found \(hidden\)/);
    expect(readNotifyEnv({ ACK_SECRET: '0123456789abcdef', SMTP_URL: 'smtps://u:p@mail.example:465' }).SMTP_URL).toBe(
      'smtps://u:p@mail.example:465',
    );
    expect(() => readNotifyEnv({ ACK_SECRET: '0123456789abcdef', SMTP_URL: 'http://u:secret@x' })).toThrow(
      /SMTP_URL: expected a URL with scheme smtp:\/\/ or smtps:\/\/; found "http:\/\/\(hidden\)@x"/,
    );
  });
});
