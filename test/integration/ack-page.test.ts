/**
 * The acknowledgement page of an incident (issue 10, item 5), as a duty officer's phone shows it:
 * real Redis, the notify workers turning transitions into an incident with two sections reached,
 * the SMTP sink holding the e-mails with the signed links, the real `tuojiang api` process, and
 * headless Chromium at 390 px and at desktop width. Screenshots are kept in test-artifacts/.
 * Then `tuojiang alerts status|list|history` as processes: an incident is listed as an incident.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AlertEvent } from '../../alerts/events.js';
import { IncidentStore } from '../../alerts/incidents/store.js';
import { cstShort } from '../../alerts/incidents/wording.js';
import { acknowledge } from '../../alerts/notify/ack.js';
import { ackUrl } from '../../alerts/notify/links.js';
import { launchChromium, type Browser, type Page } from '../helpers/chromium.js';
import { startApiProcess, type ApiProcess } from '../helpers/api-process.js';
import {
  ACK_SECRET,
  ADDR,
  PUBLIC_URL,
  alertEvent,
  startNotifyServices,
  startNotifyStack,
  type NotifyServices,
  type NotifyStack,
} from '../helpers/notify-stack.js';

const H = 3_600_000;
const MIN = 60_000;
const ARTIFACTS = join(process.cwd(), 'test-artifacts');
/** Spill start: 13 h ago, so the next intake's window is still ahead of the wall clock. */
const T0 = Math.floor((Date.now() - 13 * H) / MIN) * MIN;
const T1 = T0 + 12 * H;

let services: NotifyServices;
let stack: NotifyStack;
let api: ApiProcess;
let browser: Browser;
let incidentId: string;

function spill(): AlertEvent[] {
  const classDetail: AlertEvent['detail'] = { cls: '劣V', target: 'III', limiting: ['NH3N'], basis: 'GB3838-2002' };
  return [
    { ...alertEvent({ station: 'hongyuan', kind: 'firing', at: T0, value: 12 }), breachSince: T0 - 10 * MIN },
    alertEvent({
      station: 'hongyuan',
      kind: 'firing',
      at: T0 + 5 * MIN,
      rule: 'water_class',
      parameter: 'class',
      value: 6,
      limit: 3,
      detail: classDetail,
    }),
    alertEvent({ station: 'hongyuan', kind: 'resolved', at: T0 + 9 * H, value: 0.8 }),
    alertEvent({
      station: 'hongyuan',
      kind: 'resolved',
      at: T0 + 9 * H + 5 * MIN,
      rule: 'water_class',
      parameter: 'class',
      value: 3,
      limit: 3,
      detail: { ...classDetail, cls: 'III', limiting: [], cause: ['NH3N'] },
    }),
    { ...alertEvent({ station: 'shiqiao', kind: 'firing', at: T1, value: 6.5 }), breachSince: T1 - 10 * MIN },
  ];
}

/** The signed link of a bureau's e-mail, pointed at the API process. */
function linkFor(address: string): string {
  const text = stack.sink.to(address)[0]?.parsed.text ?? '';
  const m = /http:\/\/tuojiang-api\.test(\/ack\/[^\s]+)/.exec(text);
  if (!m) throw new Error(`no acknowledgement link in the mail to ${address}`);
  return `http://127.0.0.1:${api.port}${m[1]}`;
}

beforeAll(async () => {
  services = await startNotifyServices(false);
  stack = await startNotifyStack(services, {
    incidents: true,
    recipients: (r) => {
      r.incidents.reorder_s = 0;
    },
  });
  for (const e of spill()) {
    await stack.emit(e);
    await stack.idle();
  }
  await stack.sink.waitFor(
    () => stack.sink.to(ADDR.ziyang).length >= 2 && stack.sink.to(ADDR.chengdu).length >= 2,
    30_000,
    'the initial and follow-up reports',
  );
  await stack.idle();
  const incidents = await new IncidentStore(stack.redis, stack.prefix).list();
  expect(incidents).toHaveLength(1);
  incidentId = incidents[0]!.id;
  api = await startApiProcess({ REDIS_URL: services.redis.url, INFLUX_URL: 'http://127.0.0.1:9', ACK_SECRET, PUBLIC_URL }, [
    '--prefix',
    stack.prefix,
  ]);
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await api?.stop();
  await stack?.close();
  await services?.stopAll();
});

/** What a phone shows: text, where things are, sizes. */
interface Layout {
  headline: string;
  text: string;
  scrollWidth: number;
  intakeBottom: number;
  trackOverflowX: string;
  minFontPx: number;
  buttonHeight: number | null;
  inputHeight: number | null;
  rows: Record<string, string[]>;
  acks: string;
  timeline: string;
  images: number;
  title: string;
}

const LAYOUT = `(() => {
  const rect = (sel) => { const e = document.querySelector(sel); return e ? e.getBoundingClientRect() : null; };
  let minFont = Infinity;
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    if (!n.textContent.trim() || !n.parentElement) continue;
    minFont = Math.min(minFont, parseFloat(getComputedStyle(n.parentElement).fontSize));
  }
  const rows = {};
  for (const tr of document.querySelectorAll('#track tr[data-station]')) rows[tr.dataset.station] = [...tr.cells].map((c) => c.innerText.trim());
  const track = document.querySelector('#track');
  return {
    headline: (document.querySelector('h1')?.innerText ?? '').trim(),
    text: document.body.innerText,
    scrollWidth: document.documentElement.scrollWidth,
    intakeBottom: rect('#intake')?.bottom ?? -1,
    trackOverflowX: track ? getComputedStyle(track).overflowX : '',
    minFontPx: minFont,
    buttonHeight: rect('form button')?.height ?? null,
    inputHeight: rect('form input[name=by]')?.height ?? null,
    rows,
    acks: document.querySelector('#acks')?.innerText ?? '',
    timeline: document.querySelector('#timeline')?.innerText ?? '',
    images: document.querySelectorAll('img, script').length,
    title: document.title,
  };
})()`;

async function layout(p: Page): Promise<Layout> {
  return p.eval<Layout>(LAYOUT);
}

describe('the acknowledgement page of an incident, in headless Chromium', () => {
  it('shows a phone what matters first: headline, next intake, track with both reached sections, who acknowledged; GET acknowledges nothing', async () => {
    const link = linkFor(ADDR.ziyang);
    expect(link).toContain(`/ack/${encodeURIComponent(incidentId)}/ziyang?`);
    const phone = await browser.page({ width: 390, height: 800, mobile: true });
    await phone.goto(link);
    const l = await layout(phone);
    await phone.screenshot(join(ARTIFACTS, 'ack-page-phone.png'));
    await phone.screenshot(join(ARTIFACTS, 'ack-page-phone-first-screen.png'), { firstScreen: true });

    // The news, as the latest report's subject says it: pollutant, peak and 超标倍数, front, next intake.
    expect(l.headline).toMatch(/^【续报】沱江氨氮污染 宏缘→石桥 宏缘峰值 12 mg\/L 超标 11 倍 资阳城区取水口预计 \d\d-\d\d \d\d:\d\d–/);
    // Ziyang reads its own intake as such ("贵市取水口"), the next one ahead of the front.
    expect(l.text).toMatch(/贵市取水口 资阳城区取水口：预计 .+ 到达（约 \d+–\d+ 小时后）（资阳市，联系 /);
    expect(l.text).toMatch(/Your intake Ziyang city water intake: expected .+ \(in about \d+–\d+ h\) \(Ziyang, contact /);
    expect(l.text).toContain('石桥水厂取水口正受影响');
    // Chinese first, English second.
    expect(l.text.indexOf('贵市取水口')).toBeLessThan(l.text.indexOf('Your intake'));
    // The time to the next intake is on the first screen of the phone.
    expect(l.intakeBottom).toBeGreaterThan(0);
    expect(l.intakeBottom).toBeLessThanOrEqual(800);

    // The track: both sections reached, with their observed arrivals; the intake ahead not yet.
    expect(l.rows.hongyuan?.join(' | ')).toContain(cstShort(T0 - 10 * MIN));
    expect(l.rows.hongyuan?.join(' | ')).toContain(cstShort(T0 + 9 * H + 5 * MIN));
    expect(l.rows.shiqiao?.join(' | ')).toContain(cstShort(T1 - 10 * MIN));
    expect(l.rows.shiqiao?.join(' | ')).toMatch(/仍超标/);
    expect(l.rows['ziyang-city']?.join(' | ')).toMatch(/未到达/);

    // The timeline: first detection, both arrivals, back within limits, the two reports.
    expect(l.timeline).toContain(`${cstShort(T0 - 10 * MIN)}`);
    expect(l.timeline).toMatch(/首次发现/);
    expect(l.timeline).toMatch(/污染团到达 石桥水厂取水口/);
    expect(l.timeline).toMatch(/宏缘 已恢复至限值以内/);
    expect(l.timeline).toMatch(/第 1 报 初报/);
    expect(l.timeline).toMatch(/第 2 报 续报/);

    // Who acknowledged: nobody yet, per bureau.
    expect(l.acks).toMatch(/资阳市生态环境局\s*未确认/);
    expect(l.acks).toMatch(/成都市生态环境局\s*未确认/);
    expect(l.acks).toMatch(/Ziyang Municipal Bureau of Ecology and Environment\s*not yet acknowledged/);

    // Readable on a phone: nothing wider than the screen (the track table scrolls inside its
    // own box), text at least 16 px, the form's controls at least 44 px tall.
    expect(l.scrollWidth).toBeLessThanOrEqual(391);
    expect(l.trackOverflowX).toBe('auto');
    expect(l.minFontPx).toBeGreaterThanOrEqual(16);
    expect(l.buttonHeight).toBeGreaterThanOrEqual(44);
    expect(l.inputHeight).toBeGreaterThanOrEqual(44);
    // No script, no image, nothing fetched from elsewhere.
    expect(l.images).toBe(0);
    expect(await phone.eval<number>('performance.getEntriesByType("resource").length')).toBe(0);

    expect((await stack.notify!.store.alert(incidentId))!.acks).toEqual({});

    const desktop = await browser.page({ width: 1280, height: 900, mobile: false });
    await desktop.goto(link);
    const d = await layout(desktop);
    await desktop.screenshot(join(ARTIFACTS, 'ack-page-desktop.png'));
    expect(d.headline).toBe(l.headline);
    expect(d.scrollWidth).toBeLessThanOrEqual(1280);
    expect(d.rows.shiqiao?.join(' | ')).toContain(cstShort(T1 - 10 * MIN));
  });

  it('submitting the form acknowledges for the bureau, and the page then says who and when', async () => {
    const phone = await browser.page({ width: 390, height: 800, mobile: true });
    await phone.goto(linkFor(ADDR.ziyang));
    await phone.eval<void>(`void (document.querySelector('form input[name=by]').value = '王芳')`);
    await phone.navigateBy(`document.querySelector('form button').click()`);
    const l = await layout(phone);
    await phone.screenshot(join(ARTIFACTS, 'ack-page-phone-acknowledged.png'));
    const rec = (await stack.notify!.store.alert(incidentId))!;
    expect(rec.acks.ziyang).toMatchObject({ by: '王芳', via: 'link' });
    expect(l.headline).toMatch(/^【续报】沱江氨氮污染/);
    expect(l.text).toMatch(/已确认/);
    expect(l.acks).toMatch(/资阳市生态环境局\s*已确认.*王芳/);
    expect(l.acks).toContain(cstShort(rec.acks.ziyang!.at));
    expect(l.timeline).toMatch(/资阳市生态环境局 确认收到（王芳/);
    expect(l.scrollWidth).toBeLessThanOrEqual(391);

    // Loading the link again: no form, the acknowledgement stands.
    await phone.goto(linkFor(ADDR.ziyang));
    const again = await layout(phone);
    expect(again.buttonHeight).toBeNull();
    expect(again.acks).toMatch(/资阳市生态环境局\s*已确认.*王芳/);
  });

  it('a hostile name in an acknowledgement is shown as text to every bureau, never as markup', async () => {
    const hostile = `<img src=x onerror="document.title='pwned'"><b>李</b>`;
    await acknowledge(stack.notify!.store, incidentId, 'chengdu', hostile, 'cli');
    for (const address of [ADDR.chengdu, ADDR.ziyang]) {
      const phone = await browser.page({ width: 390, height: 800, mobile: true });
      await phone.goto(linkFor(address));
      const l = await layout(phone);
      expect(l.images).toBe(0);
      expect(l.title).not.toBe('pwned');
      expect(l.acks).toContain(hostile);
    }
    expect(api.alive()).toBe(true);
  });

  it('an escalation is on the timeline with how many it reached, never their addresses', async () => {
    await stack.notify!.store.markEscalated(incidentId, 'chengdu', { at: Date.now(), to: [ADDR.chengduHead] });
    const phone = await browser.page({ width: 390, height: 800, mobile: true });
    await phone.goto(linkFor(ADDR.ziyang));
    const l = await layout(phone);
    expect(l.timeline).toMatch(/成都市生态环境局 未按时确认，已升级通报（1 人）/);
    expect(l.text).not.toContain(ADDR.chengduHead);
    expect(await phone.eval<string>('document.documentElement.outerHTML')).not.toContain(ADDR.chengduHead);
  });

  it('the page loads nothing, runs nothing and may not be framed; a link altered to another bureau or incident acknowledges nothing', async () => {
    const link = linkFor(ADDR.chengdu);
    const res = await fetch(link);
    expect(res.status).toBe(200);
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    const u = new URL(link);
    const before = (await stack.notify!.store.alert(incidentId))!.acks;
    for (const path of [
      u.pathname.replace(/\/chengdu$/, '/ziyang'),
      u.pathname.replace(/\.(\d+)\//, (_m, t: string) => `.${Number(t) + 1}/`),
    ]) {
      const post = await fetch(`${u.origin}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: new URLSearchParams({ exp: u.searchParams.get('exp')!, sig: u.searchParams.get('sig')!, by: 'Mallory' }).toString(),
      });
      expect(post.status).toBe(403);
      expect(((await post.json()) as { error: { code: string } }).error.code).toBe('TJ_ACK_INVALID');
    }
    expect((await stack.notify!.store.alert(incidentId))!.acks).toEqual(before);
    expect(api.alive()).toBe(true);
  });

  it('an incident record without its incident, a corrupt incident, and a per-alert notice keep the plain page', async () => {
    const store = stack.notify!.store;
    const exp = Date.now() + H;
    const page = async (id: string, bureau: string): Promise<{ status: number; body: string }> => {
      const r = await fetch(ackUrl(`http://127.0.0.1:${api.port}`, ACK_SECRET, id, bureau, exp));
      return { status: r.status, body: await r.text() };
    };
    const gone = `inc.r.tuojiang.nitrogen.${T0 - H}`;
    await store.recordIncident(
      { id: gone, origin: 'huaikou', family: 'nitrogen', parameter: 'NH3N', openedAt: T0 - H },
      ['chengdu'],
      'warning',
      Date.now(),
      { id: `${gone}.r1`, kind: 'initial', at: T0 - H, seq: 1 },
    );
    const missing = await page(gone, 'chengdu');
    expect(missing.status).toBe(200);
    expect(missing.body).toContain('<form method="post">');
    expect(missing.body).toContain(gone);

    const broken = `inc.r.tuojiang.nitrogen.${T0 - 2 * H}`;
    await store.recordIncident(
      { id: broken, origin: 'huaikou', family: 'nitrogen', parameter: 'NH3N', openedAt: T0 - 2 * H },
      ['chengdu'],
      'warning',
      Date.now(),
      { id: `${broken}.r1`, kind: 'initial', at: T0 - 2 * H, seq: 1 },
    );
    await stack.redis.set(new IncidentStore(stack.redis, stack.prefix).keys.incident(broken), '{"id": "not an incident');
    const corrupt = await page(broken, 'chengdu');
    expect(corrupt.status).toBe(200);
    expect(corrupt.body).toContain('<form method="post">');

    const equipment = 'ev.ziyang-city.station.equipment.firing.1777564800000';
    await store.recordEvent(
      {
        alertId: equipment,
        station: 'ziyang-city',
        city: 'ziyang',
        period: 'station',
        key: 'equipment',
        rule: 'equipment',
        parameter: 'NH3N',
        firstAt: T0,
        bureaus: ['ziyang'],
        severity: 'info',
      },
      { id: equipment, kind: 'firing', at: T0, value: null, limit: null, catchUp: false, worse: 'max' },
      Date.now(),
    );
    const plain = await page(equipment, 'ziyang');
    expect(plain.status).toBe(200);
    expect(plain.body).toContain('ziyang-city NH3N (equipment)');
    expect(plain.body).toContain('<form method="post">');
    const metrics = await (await fetch(`http://127.0.0.1:${api.port}/metrics`)).text();
    expect(metrics).toMatch(/tuojiang_api_ack_pages_total\{page="incident-unreadable"\} 1\b/);
    expect(metrics).toMatch(/tuojiang_api_ack_pages_total\{page="incident"\} [1-9]/);
    expect(api.logLines().some((x) => x.msg === 'ack page: stored incident unreadable; plain page shown' && x.incident === broken)).toBe(
      true,
    );
    expect(api.alive()).toBe(true);
  });
});

/** `tuojiang …` as a process against the stack's Redis; resolves with what it printed. */
function cli(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(process.cwd(), 'cli', 'main.ts'), ...args, '--prefix', stack.prefix], {
      env: { ...process.env, REDIS_URL: services.redis.url, LOG_LEVEL: 'silent' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      err += d;
    });
    child.once('exit', (code) => resolve({ code, out, err }));
  });
}

describe('tuojiang alerts status / list / history for an incident', () => {
  const summary =
    /open\s+\w+\s+river incident 沱江 氨氮 \(Tuojiang, Ammonia nitrogen\): origin 宏缘, front 石桥水厂取水口 \(km 68\), 2 sections reached, since \d{4}-\d\d-\d\d \d\d:\d\d \(UTC\+8\)/;

  it('status lists the incident as an incident: river, pollutant, front, status, acknowledgement per bureau', async () => {
    const r = await cli(['alerts', 'status']);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(summary);
    expect(r.out).toContain(incidentId);
    expect(r.out).toContain('ziyang: acknowledged by 王芳 (link)');
    expect(r.out).toMatch(/chengdu: acknowledged by <img src=x/);
    // Not a limit alert at the origin station.
    expect(r.out).not.toMatch(/hongyuan incident\.nitrogen/);
  });

  it('list shows open incidents apart from per-alert notices, and history names the incident', async () => {
    const list = await cli(['alerts', 'list']);
    expect(list.code, list.err).toBe(0);
    expect(list.out).toMatch(/open incidents/);
    expect(list.out).toMatch(summary);
    expect(list.out).toContain('ziyang: acknowledged by 王芳 (link)');

    const history = await cli(['alerts', 'history', incidentId]);
    expect(history.code, history.err).toBe(0);
    const [first, second] = history.out.split('\n');
    expect(first).toBe(incidentId);
    expect(second).toMatch(summary);
    expect(history.out).toMatch(/ack +ziyang by 王芳 via link/);
  });
});
