/**
 * The notify commands through commander, in-process, against a real Redis: `alerts ack`,
 * `alerts status`, `alerts history` (registered by cli/commands/alerts.ts), `notify cap --check`,
 * `notify dead`; and that the API command (cli/commands/api.ts) registers.
 */
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { registerApiCommand } from '../../cli/commands/api.js';
import { registerAlertsCommands } from '../../cli/commands/alerts.js';
import { registerNotifyCommands } from '../../cli/commands/notify.js';
import { ADDR, alertEvent, startNotifyServices, startNotifyStack, type NotifyServices } from '../helpers/notify-stack.js';

const T0 = Date.parse('2026-05-01T00:00:00+08:00');

let services: NotifyServices;
beforeAll(async () => {
  services = await startNotifyServices(false);
}, 120_000);
afterAll(async () => services?.stopAll());

async function run(args: string[]): Promise<{ out: string; err: string; code: number | undefined }> {
  const program = new Command('tuojiang').exitOverride();
  registerAlertsCommands(program);
  registerNotifyCommands(program);
  registerApiCommand(program);
  let out = '';
  let err = '';
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => {
    out += String(s);
    return true;
  });
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => {
    err += String(s);
    return true;
  });
  const before = process.exitCode;
  process.exitCode = undefined;
  try {
    await program.parseAsync(['node', 'tuojiang', ...args]);
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
  const code = process.exitCode as number | undefined;
  process.exitCode = before;
  return { out, err, code };
}

describe('notify CLI', () => {
  it('status, ack, history, cap, dead', async () => {
    const s = await startNotifyStack(services);
    const prevRedis = process.env.REDIS_URL;
    process.env.REDIS_URL = services.redis.url;
    try {
      s.sink.refuse({ code: 550, to: ADDR.chengdu });
      const e = alertEvent({ station: 'hongyuan', kind: 'firing', at: T0, value: 2.5 });
      await s.emit(e);
      await s.sink.waitFor(() => s.sink.to(ADDR.ziyang).length >= 1, 30_000, 'notice');
      await s.idle({ delayed: true });
      const p = ['--prefix', s.prefix];

      const status = await run(['alerts', 'status', ...p]);
      expect(status.out).toContain(`firing   severe  hongyuan limit.NH3N  since 2026-05-01 00:00 (UTC+8)`);
      expect(status.out).toContain('chengdu: NOT acknowledged');
      expect(status.out).toContain('ziyang: NOT acknowledged');

      expect((await run(['alerts', 'ack', e.id, '--bureau', 'ziyang', '--by', '李娜', ...p])).out).toBe(
        `acknowledged ${e.id} for ziyang by 李娜\n`,
      );
      expect((await run(['alerts', 'ack', e.id, '--bureau', 'ziyang', '--by', 'x', ...p])).out).toMatch(
        /^already acknowledged for ziyang by 李娜 at /,
      );
      await expect(run(['alerts', 'ack', 'ev.nothing', '--bureau', 'ziyang', ...p])).rejects.toThrow(/no notified alert "ev.nothing"/);
      await expect(run(['alerts', 'ack', e.id, '--bureau', 'neijiang', ...p])).rejects.toMatchObject({ code: 'TJ_BUREAU_NOT_NOTIFIED' });

      const json = JSON.parse((await run(['alerts', 'status', '--json', ...p])).out) as { acks: Record<string, { by: string }> };
      expect(json.acks.ziyang?.by).toBe('李娜');

      const history = (await run(['alerts', 'history', e.id, ...p])).out;
      expect(history).toContain('ziyang: acknowledged by 李娜 (cli)');
      // `alerts list` (issue 4): what is firing, who acknowledged, and --history for one alert.
      const list = (await run(['alerts', 'list', ...p])).out;
      expect(list).toContain(e.id);
      expect(list).toContain('ziyang: acknowledged by 李娜 (cli)');
      expect(list).toMatch(/chengdu: NOT acknowledged/);
      expect((await run(['alerts', 'list', '--history', e.id, ...p])).out).toBe(history);
      expect(history).toMatch(/firing {4}event time 2026-05-01 00:00 {2}value 2\.5 {2}limit 1 {2}to chengdu, ziyang/);
      expect(history).toContain(`sent      to ${ADDR.ziyang} (ziyang duty)  1 notice(s)`);
      expect(history).toContain(`failed    to ${ADDR.chengdu} (chengdu)`);
      expect(history).toContain('ack       ziyang by 李娜 via cli');

      const cap = await run(['notify', 'cap', e.id, '--check', ...p]);
      expect(cap.out).toContain('<msgType>Alert</msgType>');
      expect(cap.err).toBe('');
      expect(cap.code).toBeUndefined();

      const dead = (await run(['notify', 'dead', ...p])).out;
      expect(dead).toContain(`rejected  chengdu ${ADDR.chengdu}`);
      expect(dead).toContain('550');
      expect((await run(['alerts', 'history', 'ev.nothing', ...p])).code).toBe(1);
    } finally {
      if (prevRedis === undefined) delete process.env.REDIS_URL;
      else process.env.REDIS_URL = prevRedis;
      await s.close();
    }
  });

  it('control characters in `by`: refused at input, shown escaped when an old record has them', async () => {
    const s = await startNotifyStack(services);
    const prevRedis = process.env.REDIS_URL;
    process.env.REDIS_URL = services.redis.url;
    try {
      const e = alertEvent({ station: 'hongyuan', kind: 'firing', at: T0, value: 2.5 });
      await s.emit(e);
      await s.sink.waitFor(() => s.sink.to(ADDR.ziyang).length >= 1, 30_000, 'notice');
      await s.idle({ delayed: true });
      const p = ['--prefix', s.prefix];
      await expect(run(['alerts', 'ack', e.id, '--bureau', 'ziyang', '--by', 'x\x1b[2J', ...p])).rejects.toMatchObject({
        code: 'TJ_ACK_BY_INVALID',
      });
      // A record written before `by` was checked (or straight into Redis) still cannot drive the terminal.
      await s.notify!.store.ack(e.id, 'ziyang', { by: 'Eve\x1b[2J\x1b[1;1H\u202Egnp.exe\r\nziyang: acknowledged', at: T0, via: 'link' });
      for (const args of [
        ['alerts', 'status'],
        ['alerts', 'history', e.id],
        ['alerts', 'list'],
      ]) {
        const out = (await run([...args, ...p])).out;
        expect(out, args.join(' ')).toContain('Eve\\u{1b}[2J\\u{1b}[1;1H\\u{202e}gnp.exe\\u{d}\\u{a}ziyang: acknowledged');
        expect([...out].filter((c) => c !== '\n' && (c < ' ' || c === '\x7f' || c === '\u202e'))).toEqual([]);
      }
    } finally {
      if (prevRedis === undefined) delete process.env.REDIS_URL;
      else process.env.REDIS_URL = prevRedis;
      await s.close();
    }
  });

  it('the API command is registered', async () => {
    const program = new Command('tuojiang');
    registerApiCommand(program);
    expect(program.commands.map((c) => c.name())).toEqual(['api']);
    expect(program.commands[0]!.options.map((o) => o.long)).toEqual(['--port', '--host', '--prefix']);
  });
});
