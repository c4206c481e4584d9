/** The one UTC+8 offset, the one number format and the one escape every renderer now uses. */
import { describe, expect, it } from 'vitest';
import { cstFields, cstIso, cstMinute, cstMonthDayMinute, CST_OFFSET_MS } from '../../lib/cst.js';
import { escapeHtml, escapeXml, num, sig } from '../../lib/format.js';
import { hideUserinfo, redactUrls } from '../../lib/redact-url.js';

// 2026-05-01 00:30:45.678 UTC is 08:30:45 in China Standard Time.
const T = Date.UTC(2026, 4, 1, 0, 30, 45, 678);

describe('China Standard Time', () => {
  it("is UTC+8 whatever the machine's zone, in each format a reader sees", () => {
    expect(CST_OFFSET_MS).toBe(8 * 3_600_000);
    expect(cstMinute(T)).toBe('2026-05-01 08:30');
    expect(cstMonthDayMinute(T)).toBe('05-01 08:30');
    expect(cstIso(T)).toBe('2026-05-01T08:30:45+08:00');
    expect(Date.parse(cstIso(T))).toBe(T - 678);
    expect(cstFields(T).getUTCHours()).toBe(8);
    // 16:00 UTC is already the next day in China.
    expect(cstMinute(Date.UTC(2026, 11, 31, 16, 0))).toBe('2027-01-01 00:00');
  });
});

describe('numbers and escapes', () => {
  it('rounds to significant digits without trailing zeros; no value is a dash', () => {
    expect(sig(1.6000000001)).toBe('1.6');
    expect(sig(0.1 + 0.2)).toBe('0.3');
    expect(sig(123.456, 4)).toBe('123.5');
    expect(num(null)).toBe('–');
    expect(num(undefined)).toBe('–');
    expect(num(Number.NaN)).toBe('–');
    expect(num(2.5)).toBe('2.5');
  });

  it("escapes the five characters; XML's apostrophe is its own", () => {
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
    expect(escapeXml(`'&'`)).toBe('&apos;&amp;&apos;');
  });

  it("hides a URL's userinfo in text and in one perhaps malformed value, with the mask asked for", () => {
    expect(redactUrls('cannot reach redis://:pw@h:6379 now')).toBe('cannot reach redis://***@h:6379 now');
    expect(redactUrls('smtp://u:p@h', '(hidden)')).toBe('smtp://(hidden)@h');
    expect(hideUserinfo('smtp//user:pw@host')).toBe('(hidden)@host');
    expect(hideUserinfo('smtps://u:p@w@host:465')).toBe('smtps://(hidden)@host:465');
  });
});
