/**
 * The channels' pure parts: what a WeCom group reads (markdown within WeCom's 4096 bytes, links
 * first, our text unable to open a tag or mention someone), the webhook signature a subscriber
 * recomputes, and recipients.yaml refusing a contact on a robot or endpoint it does not declare.
 */
import { createHmac } from 'node:crypto';
import { mkdtempSync, copyFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadNotifyConfig } from '../../alerts/notify/config.js';
import { wecomMarkdown, WECOM_MARKDOWN_MAX_BYTES } from '../../alerts/notify/channels/wecom.js';
import { webhookSignature } from '../../alerts/notify/channels/webhook.js';
import { shipped } from '../helpers/notify-stack.js';

const LINKS = { ack: 'https://api.example/ack/inc.1/ziyang?exp=1&sig=abc', grafana: 'https://grafana.example/d/x' };

describe('WeCom markdown', () => {
  it('heading, links and mention first; the body quoted line by line', () => {
    const md = wecomMarkdown({ subject: '【初报】沱江氨氮污染', text: '第一行\n第二行\n', links: LINKS }, 'zhangsan');
    expect(md).toBe(
      [
        '## 【初报】沱江氨氮污染',
        `[确认收到 Acknowledge](${LINKS.ack})  [数据图表 Charts](${LINKS.grafana})`,
        '<@zhangsan>',
        '> 第一行',
        '> 第二行',
      ].join('\n'),
    );
  });

  it('a long report is cut at a line within 4096 bytes, the links kept, and says where the rest is', () => {
    const text = Array.from({ length: 400 }, (_, i) => `断面${i} | 资阳市 | ${i} km | 未到达`).join('\n');
    const md = wecomMarkdown({ subject: '【续报】', text, links: LINKS });
    expect(Buffer.byteLength(md)).toBeLessThanOrEqual(WECOM_MARKDOWN_MAX_BYTES);
    expect(md).toContain(LINKS.ack);
    expect(md.endsWith('> …（全文见邮件 / full text in the e-mail）')).toBe(true);
    expect(md).toContain('> 断面0 |');
    expect(md).not.toContain('断面399');
  });

  it('never exceeds the limit and never lets our text open a tag or a mention, whatever the text', () => {
    fc.assert(
      fc.property(
        fc.string({ maxLength: 200 }),
        fc.array(fc.string({ unit: 'grapheme', maxLength: 300 }), { maxLength: 60 }),
        (subject, lines) => {
          const md = wecomMarkdown({ subject, text: lines.join('\n'), links: LINKS });
          expect(Buffer.byteLength(md)).toBeLessThanOrEqual(WECOM_MARKDOWN_MAX_BYTES);
          // No mention was asked for: no '<' at all, and '>' only as the quote mark that starts a body line.
          expect(md).not.toContain('<');
          expect(
            md
              .split('\n')
              .map((l) => (l.startsWith('> ') ? l.slice(2) : l))
              .join('\n'),
          ).not.toContain('>');
        },
      ),
    );
  });
});

describe('webhook signature', () => {
  it('is HMAC-SHA256 over "<timestamp>.<body>", hex, prefixed sha256=', () => {
    const body = Buffer.from('{"id":"b1","subject":"沱江"}');
    const expected = createHmac('sha256', 'a-secret-of-16+bytes')
      .update(`1764990000.${body.toString('utf8')}`)
      .digest('hex');
    expect(webhookSignature('a-secret-of-16+bytes', 1764990000, body)).toBe(`sha256=${expected}`);
    expect(webhookSignature('a-secret-of-16+bytes', 1764990001, body)).not.toBe(`sha256=${expected}`);
    expect(webhookSignature('another-secret-16+bytes', 1764990000, body)).not.toBe(`sha256=${expected}`);
  });
});

describe('recipients.yaml channels', () => {
  function load(recipients: string): string {
    const dir = mkdtempSync(join(tmpdir(), 'tj-channels-config-'));
    copyFileSync(join(shipped.dir, 'rivers.yaml'), join(dir, 'rivers.yaml'));
    writeFileSync(join(dir, 'recipients.yaml'), recipients);
    try {
      loadNotifyConfig(dir, shipped.registry);
      return '';
    } catch (e) {
      return (e as Error).message;
    }
  }
  const bureaus = (chengduPerson: string) => `version: 1
bureaus:
  chengdu:
    name: { zh: 成都, en: Chengdu }
    duty:
      - ${chengduPerson}
  ziyang:
    name: { zh: 资阳, en: Ziyang }
    duty: [{ name: y, email: y@z.example }]
`;

  it('a person on a robot or endpoint that is not declared is refused, naming the line and the ids known', () => {
    const msg = load(`${bureaus('{ name: x, email: x@c.example, wecom: { robot: cd-dutty }, webhook: duty-sys }')}channels:
  wecom:
    robots:
      cd-duty: { url_env: WECOM_CD_DUTY_URL }
`);
    expect(msg).toMatch(
      /recipients\.yaml:6:\d+ bureaus\.chengdu\.duty\[0\]\.wecom\.robot: unknown WeCom robot "cd-dutty"; declare it under channels\.wecom\.robots \(known: cd-duty\)/,
    );
    expect(msg).toMatch(
      /bureaus\.chengdu\.duty\[0\]\.webhook: unknown webhook endpoint "duty-sys"; declare it under channels\.webhook\.endpoints \(known: none\)/,
    );
  });

  it('URLs and secrets are named by environment variable only; a URL in the file is refused', () => {
    const msg = load(`${bureaus('{ name: x, email: x@c.example }')}channels:
  wecom:
    robots:
      cd-duty: { url_env: "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=secret" }
`);
    expect(msg).toContain(
      'channels.wecom.robots.cd-duty.url_env: an environment variable name (A-Z, 0-9, _): the value stays out of the file',
    );
  });

  it("WeCom's limit cannot be configured above the documented 20 a minute", () => {
    expect(load(`${bureaus('{ name: x, email: x@c.example }')}channels:\n  wecom:\n    per_minute: 30\n`)).toContain(
      'channels.wecom.per_minute',
    );
  });
});
