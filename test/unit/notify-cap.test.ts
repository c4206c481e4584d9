import { describe, expect, it } from 'vitest';
import { buildCap, capIdentifier, capMsgType, capTime } from '../../alerts/notify/cap.js';
import { capSummary, parseXml, validateCap, CAP_VALUE_SETS } from '../../alerts/notify/cap-validate.js';
import { noticeEventOf } from '../../alerts/notify/items.js';
import { routeEvent } from '../../alerts/notify/routing.js';
import { StationRegistry } from '../../config/station-registry.js';
import { alertEvent, shipped, testNotifyConfig } from '../helpers/notify-stack.js';

const registry = new StationRegistry(shipped.registry);
const config = testNotifyConfig();
const T0 = Date.parse('2026-05-01T08:00:00+08:00');
const HOUR = 3_600_000;

function cap(station: string, e: Parameters<typeof alertEvent>[0], refs: Array<{ eventId: string; at: number }> = []) {
  const ev = alertEvent(e);
  const s = registry.get(station)!;
  const routing = routeEvent(s, ev.rule, registry, config.rivers, new Set(['chengdu', 'ziyang']));
  return buildCap({
    event: noticeEventOf(ev),
    station: s,
    registry,
    routing,
    severity: 'severe',
    references: refs,
    config: config.recipients.cap,
    web: 'http://grafana.test/d/x?a=1&b=2',
  });
}

const firing = alertEvent({ station: 'hongyuan', kind: 'firing', at: T0, value: 2.4 });

describe('CAP 1.2 messages of alert transitions', () => {
  it('firing -> Alert, reminder -> Update, resolved -> Cancel, linked by references; all valid', () => {
    const a = cap('hongyuan', { station: 'hongyuan', kind: 'firing', at: T0, value: 2.4 });
    const u = cap('hongyuan', { station: 'hongyuan', kind: 'reminder', at: T0 + 4 * HOUR, value: 3 }, [{ eventId: firing.id, at: T0 }]);
    const reminderId = alertEvent({ station: 'hongyuan', kind: 'reminder', at: T0 + 4 * HOUR }).id;
    const c = cap('hongyuan', { station: 'hongyuan', kind: 'resolved', at: T0 + 6 * HOUR, value: 0.4 }, [
      { eventId: firing.id, at: T0 },
      { eventId: reminderId, at: T0 + 4 * HOUR },
    ]);
    for (const x of [a, u, c]) expect(validateCap(x)).toEqual([]);
    expect([a, u, c].map((x) => capSummary(x).msgType)).toEqual(['Alert', 'Update', 'Cancel']);
    const sa = capSummary(a);
    expect(sa.identifier).toBe(capIdentifier(firing.id));
    expect(sa.sent).toBe('2026-05-01T08:00:00+08:00');
    expect(capSummary(u).references).toEqual([`${sa.sender},${sa.identifier},${sa.sent}`]);
    expect(capSummary(c).references).toEqual([
      `${sa.sender},${sa.identifier},${sa.sent}`,
      `${sa.sender},${capIdentifier(reminderId)},2026-05-01T12:00:00+08:00`,
    ]);
    expect(capMsgType(noticeEventOf(firing), [])).toBe('Alert');
  });

  it('two info blocks, zh-CN first; the affected reach as the area; arrival estimates as parameters', () => {
    const a = cap('hongyuan', { station: 'hongyuan', kind: 'firing', at: T0, value: 2.4 });
    const root = parseXml(a);
    const infos = root.children.filter((c) => c.name === 'info');
    expect(infos.map((i) => i.children.find((c) => c.name === 'language')?.text)).toEqual(['zh-CN', 'en-US']);
    const area = infos[1]!.children.find((c) => c.name === 'area')!;
    expect(area.children.find((c) => c.name === 'areaDesc')?.text).toBe('Tuojiang from Hongyuan (km 52) to Ziyang city (km 112)');
    const codes = area.children.filter((c) => c.name === 'geocode').map((g) => g.children[1]?.text);
    expect(codes).toEqual(['hongyuan', 'shiqiao', 'linjiangsi', 'ziyang-city']);
    const params = Object.fromEntries(
      infos[1]!.children.filter((c) => c.name === 'parameter').map((p) => [p.children[0]!.text, p.children[1]!.text]),
    );
    expect(params['tuojiang:arrival:linjiangsi']).toBe('2026-05-02T04:00:00+08:00/2026-05-06T20:00:00+08:00');
    expect(params['tuojiang:thresholdVersion']).toBe('1');
    expect(infos[0]!.children.find((c) => c.name === 'responseType')?.text).toBe('Prepare');
    // The web link's '&' is escaped in the XML and read back intact.
    expect(infos[0]!.children.find((c) => c.name === 'web')?.text).toBe('http://grafana.test/d/x?a=1&b=2');
    expect(a).toContain('a=1&amp;b=2');
  });

  it('an air station: a circle around it', () => {
    const x = cap('ziyang-yanjiang', {
      station: 'ziyang-yanjiang',
      kind: 'firing',
      at: T0,
      rule: 'aqi',
      parameter: 'AQI',
      value: 160,
      limit: 101,
      detail: { category: '中度污染', categoryEn: 'Moderately polluted' },
    });
    expect(validateCap(x)).toEqual([]);
    expect(x).toContain('<circle>30.11,104.655 5</circle>');
  });

  it('CAP times: seconds and +08:00, never Z', () => {
    expect(capTime(Date.parse('2026-05-01T00:00:00.999Z'))).toBe('2026-05-01T08:00:00+08:00');
  });
});

describe('the CAP 1.2 check can fail', () => {
  const good = cap('hongyuan', { station: 'hongyuan', kind: 'firing', at: T0, value: 2.4 });
  const broken = (from: string, to: string) => {
    expect(good).toContain(from);
    return validateCap(good.replace(from, to));
  };

  it('missing required elements', () => {
    expect(broken(/<sender>.*<\/sender>\n/.exec(good)![0], '')).toContain('/alert: missing required <sender>');
    expect(broken('<category>Env</category>', '').join()).toContain('missing required <category>');
    expect(broken(/<areaDesc>[^<]*<\/areaDesc>/.exec(good)![0], '').join()).toContain('missing required <areaDesc>');
  });

  it('values outside the value sets', () => {
    expect(broken('<status>Actual</status>', '<status>Real</status>').join()).toContain(
      '"Real" is not one of Actual, Exercise, System, Test, Draft',
    );
    expect(broken('<certainty>Observed</certainty>', '<certainty>Sure</certainty>').join()).toContain('is not one of');
    expect(broken('<category>Env</category>', '<category>Environment</category>').join()).toContain('"Environment" is not one of');
    expect(CAP_VALUE_SETS.msgType).toEqual(['Alert', 'Update', 'Cancel', 'Ack', 'Error']);
  });

  it('order, dates, identifiers, references, polygons, restriction, namespace, well-formedness', () => {
    const status = '  <status>Actual</status>\n';
    const msgType = / {2}<msgType>[^<]*<\/msgType>\n/.exec(good)![0];
    expect(broken(status + msgType, msgType + status).join()).toContain('unexpected <status>');
    expect(broken('<sent>2026-05-01T08:00:00+08:00</sent>', '<sent>2026-05-01T00:00:00Z</sent>').join()).toContain('is not a CAP dateTime');
    expect(broken(`<identifier>${capIdentifier(firing.id)}</identifier>`, '<identifier>a b</identifier>').join()).toContain(
      'must not contain spaces',
    );
    expect(broken('<msgType>Alert</msgType>', '<msgType>Update</msgType>').join()).toContain('a Update must have <references>');
    const poly = /<polygon>([^<]*)<\/polygon>/.exec(good)![1]!;
    expect(broken(poly, poly.split(' ').slice(0, 3).join(' ')).join()).toContain('needs at least 4 lat,lon pairs');
    expect(broken(/ {2}<restriction>[^<]*<\/restriction>\n/.exec(good)![0], '').join()).toContain(
      '<restriction> is required when scope is Restricted',
    );
    expect(broken('urn:oasis:names:tc:emergency:cap:1.2', 'urn:oasis:names:tc:emergency:cap:1.1').join()).toContain('must be in namespace');
    expect(broken('</headline>', '</headlin>').join()).toContain('not well-formed');
    expect(broken('<event>', '<event x="1">').join()).toContain('attributes are not allowed');
    expect(validateCap('<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>a & b</identifier></alert>').join()).toContain(
      "unescaped '&'",
    );
  });
});
