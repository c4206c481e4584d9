/**
 * Headless Chromium (Debian's `chromium`) driven over the DevTools protocol on a pipe
 * (`--remote-debugging-pipe`: commands on fd 3, answers on fd 4, NUL-separated JSON), so the tests
 * can load a page at a phone's width, read the rendered DOM, submit a form and keep a screenshot
 * without any npm package. Navigation waits for the page's load event, never for a fixed time.
 */
import { ensureTool } from '../../devtools/local-services/packages.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Readable, Writable } from 'node:stream';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

interface Message {
  id?: number;
  method?: string;
  params?: Record<string, unknown>;
  sessionId?: string;
  result?: Record<string, unknown>;
  error?: { message: string };
}

export interface Page {
  /** Loads `url` and resolves once its load event fired. */
  goto(url: string): Promise<void>;
  /** Evaluates an expression in the page and returns its JSON value (throws the page's exception). */
  eval<T>(expression: string): Promise<T>;
  /** Runs `action` (an expression that navigates, e.g. a form submission) and waits for the next page's load event. */
  navigateBy(action: string): Promise<void>;
  /** A PNG of the whole page (or, with `firstScreen`, of what the viewport shows first), written to `path`. */
  screenshot(path: string, o?: { firstScreen?: boolean }): Promise<void>;
}

export interface Browser {
  page(o: { width: number; height: number; mobile: boolean }): Promise<Page>;
  close(): Promise<void>;
}

export async function launchChromium(): Promise<Browser> {
  // Installed like the services when missing and root; otherwise the error names the command.
  const chromium = process.env.CHROMIUM_PATH ?? (existsSync(CHROMIUM) ? CHROMIUM : await ensureTool('chromium'));
  const profile = mkdtempSync(join(tmpdir(), 'tj-chromium-'));
  const child: ChildProcess = spawn(
    chromium,
    [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--no-default-browser-check',
      '--disable-extensions',
      '--remote-debugging-pipe',
      `--user-data-dir=${profile}`,
      'about:blank',
    ],
    { stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    stderr = (stderr + d).slice(-4000);
  });
  const out = child.stdio[3] as Writable;
  const inp = child.stdio[4] as Readable;
  const pending = new Map<number, { resolve: (m: Message) => void; reject: (e: Error) => void }>();
  const listeners = new Set<(m: Message) => void>();
  let buf = Buffer.alloc(0);
  let nextId = 0;
  let exited = false;
  inp.on('data', (d: Buffer) => {
    buf = Buffer.concat([buf, d]);
    for (let i = buf.indexOf(0); i >= 0; i = buf.indexOf(0)) {
      const m = JSON.parse(buf.subarray(0, i).toString('utf8')) as Message;
      buf = buf.subarray(i + 1);
      if (m.id !== undefined) {
        const p = pending.get(m.id);
        pending.delete(m.id);
        if (m.error) p?.reject(new Error(`chromium: ${m.error.message}`));
        else p?.resolve(m);
      } else {
        for (const l of [...listeners]) l(m);
      }
    }
  });
  child.once('exit', (code) => {
    exited = true;
    for (const p of pending.values()) p.reject(new Error(`chromium exited (${code}): ${stderr}`));
    pending.clear();
  });

  const send = (method: string, params: Record<string, unknown> = {}, sessionId?: string): Promise<Record<string, unknown>> =>
    new Promise((resolve, reject) => {
      if (exited) return reject(new Error(`chromium is not running: ${stderr}`));
      const id = ++nextId;
      pending.set(id, { resolve: (m) => resolve(m.result ?? {}), reject });
      out.write(`${JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) })}\0`);
    });
  const nextEvent = (method: string, sessionId: string): Promise<void> =>
    new Promise((resolve) => {
      const l = (m: Message): void => {
        if (m.method === method && m.sessionId === sessionId) {
          listeners.delete(l);
          resolve();
        }
      };
      listeners.add(l);
    });

  await send('Browser.getVersion');

  return {
    async page({ width, height, mobile }) {
      const { targetId } = (await send('Target.createTarget', { url: 'about:blank' })) as { targetId: string };
      const { sessionId } = (await send('Target.attachToTarget', { targetId, flatten: true })) as { sessionId: string };
      await send('Page.enable', {}, sessionId);
      await send('Emulation.setDeviceMetricsOverride', { width, height, deviceScaleFactor: 1, mobile }, sessionId);
      const evaluate = async <T>(expression: string): Promise<T> => {
        const r = (await send('Runtime.evaluate', { expression, returnByValue: true, awaitPromise: true }, sessionId)) as {
          result: { value?: T };
          exceptionDetails?: { text: string; exception?: { description?: string } };
        };
        if (r.exceptionDetails) throw new Error(`in the page: ${r.exceptionDetails.exception?.description ?? r.exceptionDetails.text}`);
        return r.result.value as T;
      };
      return {
        async goto(url) {
          const loaded = nextEvent('Page.loadEventFired', sessionId);
          const r = (await send('Page.navigate', { url }, sessionId)) as { errorText?: string };
          if (r.errorText) throw new Error(`chromium could not load ${url}: ${r.errorText}`);
          await loaded;
        },
        eval: evaluate,
        async navigateBy(action) {
          const loaded = nextEvent('Page.loadEventFired', sessionId);
          await evaluate(`void (${action})`);
          await loaded;
        },
        async screenshot(path, o = {}) {
          const m = (await send('Page.getLayoutMetrics', {}, sessionId)) as { cssContentSize: { width: number; height: number } };
          const full = o.firstScreen
            ? { width, height }
            : { width: Math.max(width, Math.ceil(m.cssContentSize.width)), height: Math.ceil(m.cssContentSize.height) };
          const shot = (await send(
            'Page.captureScreenshot',
            {
              format: 'png',
              captureBeyondViewport: true,
              clip: { x: 0, y: 0, width: full.width, height: full.height, scale: 1 },
            },
            sessionId,
          )) as { data: string };
          mkdirSync(dirname(path), { recursive: true });
          writeFileSync(path, Buffer.from(shot.data, 'base64'));
        },
      };
    },
    async close() {
      if (!exited) {
        const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        await send('Browser.close').catch(() => undefined);
        await gone;
      }
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
