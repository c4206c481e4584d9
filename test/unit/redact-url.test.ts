import { describe, expect, it } from 'vitest';
import { redactDeep, redactUrls } from '../../lib/redact-url.js';

describe('redactUrls', () => {
  it.each([
    ['http://tjuser:S3cret@influxdb:8086/write?db=x', 'http://***@influxdb:8086/write?db=x'],
    ['redis://:S3cret@redis:6379', 'redis://***@redis:6379'],
    ['mqtt://ingest:S3cret@mosquitto:1884', 'mqtt://***@mosquitto:1884'],
    ['smtps://mailer:p%40ss@smtp.example.org:465', 'smtps://***@smtp.example.org:465'],
    // A raw '@' in the password (not URL-encoded) is hidden with the rest.
    ['smtp://mailer:p@ss@smtp.example.org', 'smtp://***@smtp.example.org'],
    [
      'cannot reach InfluxDB at http://u:pw@127.0.0.1:1/: fetch failed; retry redis://:x@h:1',
      'cannot reach InfluxDB at http://***@127.0.0.1:1/: fetch failed; retry redis://***@h:1',
    ],
  ])('%s', (input, expected) => {
    expect(redactUrls(input)).toBe(expected);
  });

  it('leaves text without userinfo alone: e-mail addresses, plain URLs, paths', () => {
    for (const s of ['duty@ziyang.gov.cn', 'http://127.0.0.1:8086/ping', 'connect ECONNREFUSED 127.0.0.1:6379', 'a @ b'])
      expect(redactUrls(s)).toBe(s);
  });

  it('reaches nested strings and error messages in log objects, leaving the input untouched', () => {
    const err = new Error('Request cannot be constructed from a URL that includes credentials: http://u:S3cret@h/');
    const input = { err, nested: { urls: ['redis://:S3cret@r:1'] }, n: 3 };
    const out = redactDeep(input) as { err: Error; nested: { urls: string[] }; n: number };
    expect(JSON.stringify({ ...out, err: out.err.message })).not.toContain('S3cret');
    expect(out.err.message).toContain('http://***@h/');
    expect(out.n).toBe(3);
    expect(err.message).toContain('S3cret');
  });
});
