import { describe, expect, it } from 'vitest';
import type { NoticeItem, Recipient } from '../../alerts/notify/items.js';
import { noticeEventOf } from '../../alerts/notify/items.js';
import { duration, renderNotice, type RenderContext } from '../../alerts/notify/render.js';
import { routeEvent } from '../../alerts/notify/routing.js';
import { severityOf } from '../../alerts/notify/severity.js';
import { StationRegistry } from '../../config/station-registry.js';
import { alertEvent, shipped, testNotifyConfig } from '../helpers/notify-stack.js';

const registry = new StationRegistry(shipped.registry);
const config = testNotifyConfig();
const HOUR = 3_600_000;
const T0 = Date.parse('2026-05-01T08:00:00+08:00');
const recipient: Recipient = { key: 'ziyang-x', bureau: 'ziyang', name: '值班室 Duty', email: 'duty@ziyang.test', list: 'duty' };

function item(station: string, bureau: string, e: Parameters<typeof alertEvent>[0], extra: Partial<NoticeItem> = {}): NoticeItem {
  const ev = alertEvent(e);
  const s = registry.get(station)!;
  const routing = routeEvent(s, ev.rule, registry, config.rivers, new Set(['chengdu', 'ziyang']));
  const route = routing.bureaus.find((b) => b.bureau === bureau)!;
  return {
    id: ev.id,
    type: 'transition',
    alertId: ev.id,
    bureau,
    roles: route.roles,
    severity: severityOf(ev, s, config.recipients.severity),
    event: noticeEventOf(ev),
    firstAt: ev.at,
    previous: null,
    peak: ev.value,
    downstream: routing.downstream,
    ...(route.arrival ? { arrival: route.arrival } : {}),
    links: { grafana: 'http://g/d', ack: 'http://api/ack/x', cap: 'http://api/cap/x.xml' },
    ...extra,
  };
}

const ctx = (language: RenderContext['language'] = 'zh-en'): RenderContext => ({
  registry,
  bureau: { id: 'ziyang', name: { zh: '资阳市生态环境局', en: 'Ziyang Bureau' } },
  recipient,
  language,
});

describe('the notice', () => {
  const firing = item('hongyuan', 'ziyang', { station: 'hongyuan', kind: 'firing', at: T0, value: 2.4, limit: 1 });

  it('subject: severity, station, parameter and value, Chinese first', () => {
    expect(renderNotice([firing], ctx()).subject).toBe(
      '【严重·告警】宏缘 氨氮 2.4 mg/L / [SEVERE ALERT] Hongyuan Ammonia nitrogen 2.4 mg/L',
    );
    expect(renderNotice([firing], ctx('en')).subject).toBe('[SEVERE ALERT] Hongyuan Ammonia nitrogen 2.4 mg/L');
    expect(renderNotice([firing], ctx('zh')).subject).toBe('【严重·告警】宏缘 氨氮 2.4 mg/L');
  });

  it('body: what, where, how bad, when in CST, thresholds, arrival downstream, links; Chinese before English', () => {
    const { text, html } = renderNotice([firing], ctx());
    const zh = text.indexOf('氨氮 2.4 mg/L，限值 ≤ 1 mg/L（GB3838-2002 III），超标 1.4 倍');
    const en = text.indexOf('Ammonia nitrogen 2.4 mg/L, limit ≤ 1 mg/L (GB3838-2002 III), 1.4 times above the limit');
    expect(zh).toBeGreaterThan(0);
    expect(en).toBeGreaterThan(zh);
    expect(text).toContain('该项单因子水质类别：劣V 类（重度污染）');
    expect(text).toContain('2026-05-01 08:00（北京时间）');
    expect(text).toContain('2026-05-01 08:00 CST (UTC+8)');
    expect(text).toContain('阈值版本: v1');
    expect(text).toContain('预计到达贵市首个断面 临江寺（下游 44 km）：约 20 小时 – 5.5 天后，即 05-02 04:00 至 05-06 20:00');
    expect(text).toContain('石桥水厂取水口（成都市，下游 16 km，饮用水取水口）');
    expect(text).toContain('确认收到: http://api/ack/x');
    expect(html).toContain('<a href="http://g/d">http://g/d</a>');
    expect(renderNotice([firing], ctx('en')).text).not.toContain('告警');
  });

  it('what changed since the last notice; how long it has lasted', () => {
    const reminder = item(
      'hongyuan',
      'ziyang',
      { station: 'hongyuan', kind: 'reminder', at: T0 + 4 * HOUR, value: 3.1 },
      {
        firstAt: T0,
        previous: { eventId: firing.id, kind: 'firing', at: T0, value: 2.4, limit: 1 },
      },
    );
    const { text } = renderNotice([reminder], ctx());
    expect(text).toContain('较上次通知（2026-05-01 08:00，2.4 mg/L）上升 0.7 mg/L (+29%)');
    expect(text).toContain('since the last notice (2026-05-01 08:00, 2.4 mg/L): up 0.7 mg/L (+29%)');
    expect(text).toContain('已持续 4 小时（2026-05-01 08:00 起）');
    const withBreach = item('hongyuan', 'ziyang', { station: 'hongyuan', kind: 'firing', at: T0, value: 2.4 });
    withBreach.event.breachSince = T0 - 90 * 60_000;
    expect(renderNotice([withBreach], ctx()).text).toContain('超限已持续 1 小时 30 分钟（2026-05-01 06:30 起）');
  });

  it('a resolved notice: lasted, worst value, when downstream should follow', () => {
    const resolved = item(
      'hongyuan',
      'ziyang',
      { station: 'hongyuan', kind: 'resolved', at: T0 + 5 * HOUR, value: 0.4 },
      { firstAt: T0, peak: 3.1 },
    );
    const r = renderNotice([resolved], ctx());
    expect(r.subject).toBe('【解除】宏缘 氨氮 / [RESOLVED] Hongyuan Ammonia nitrogen');
    expect(r.text).toContain('本次告警共持续 5 小时');
    expect(r.text).toContain('已恢复正常，通报的最高值 3.1 mg/L');
    expect(r.text).toContain('上游已恢复；贵市首个断面 临江寺（下游 44 km）预计于');
    expect(r.text).not.toContain('确认收到: ');
  });

  it('grouped: one e-mail, the most important first, "+N more"', () => {
    const warning = item('gongchengpu', 'ziyang', { station: 'gongchengpu', kind: 'firing', at: T0, value: 1.2 });
    const resolved = item('gongchengpu', 'ziyang', {
      station: 'gongchengpu',
      kind: 'resolved',
      at: T0,
      value: 0.2,
      parameter: 'TP',
      detail: { unit: 'mg/L', limitKind: 'max', limitText: '≤ 0.2' },
    });
    const r = renderNotice([resolved, warning, firing], ctx());
    expect(r.subject).toBe('【严重·告警】宏缘 氨氮 2.4 mg/L 等 3 条 / [SEVERE ALERT] Hongyuan Ammonia nitrogen 2.4 mg/L (+2 more)');
    expect(r.text.indexOf('1. 【严重·告警】宏缘')).toBeGreaterThan(0);
    expect(r.text.indexOf('3. 【解除】拱城铺')).toBeGreaterThan(r.text.indexOf('2. 【警告·告警】拱城铺'));
  });

  it('an escalation says who did not acknowledge in time', () => {
    const esc = {
      ...firing,
      id: `esc.${firing.alertId}.ziyang`,
      type: 'escalation' as const,
      escalation: { ackTimeoutMs: 30 * 60_000, firedNotifiedAt: 0 },
    };
    const r = renderNotice([esc], ctx());
    expect(r.subject).toBe('【严重·升级】宏缘 氨氮 2.4 mg/L / [SEVERE ESCALATION] Hongyuan Ammonia nitrogen 2.4 mg/L');
    expect(r.text).toContain('资阳市生态环境局未在 30 分钟 内确认此告警');
    expect(r.text).toContain('not acknowledged in time: escalated');
  });

  it('HTML is escaped', () => {
    const odd = item('hongyuan', 'ziyang', {
      station: 'hongyuan',
      kind: 'firing',
      at: T0,
      detail: { unit: 'mg/L', basis: '<script>', limitKind: 'max', limitText: '≤ 1' },
    });
    const { html } = renderNotice([odd], ctx());
    expect(html).not.toContain('<script>');
    expect(html).toContain('&lt;script&gt;');
  });

  it('durations', () => {
    expect(duration(6000, 'zh')).toBe('6 秒');
    expect(duration(0, 'en')).toBe('0 min');
    expect(duration(26 * HOUR + 5 * 60_000, 'en')).toBe('1 d 2 h 5 min');
  });
});
