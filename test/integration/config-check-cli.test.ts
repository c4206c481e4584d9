/**
 * Issue 11, item 6: `tuojiang config check` said "configuration OK" while ACK_SECRET was missing or
 * SMTP_URL malformed. Through the CLI process: every service's environment is checked (or those
 * named with --service), each says whether it would start and which variable to fix, the exit
 * code is non-zero if any would refuse, and no URL userinfo or secret is ever printed.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli, type CliRun } from '../helpers/cli.js';

const SECRET = 'a-good-ack-secret-0123456789';

/** The CLI with the environment a deployment would have: `env` over a clean base (no inherited endpoints or secrets). */
const check = (args: string[], env: Record<string, string>): Promise<CliRun> => runCli(['config', 'check', ...args], env);

const serviceLine = (out: string, service: string): string => out.split('\n').find((l) => l.trimStart().startsWith(`${service} `)) ?? '';

describe('tuojiang config check: the environment of every service', () => {
  it('a missing ACK_SECRET: notify and api would refuse, named with what to set; exit non-zero, never "configuration OK"', async () => {
    const run = await check([], {});
    expect(run.code).toBe(2);
    expect(run.stdout).not.toContain('configuration OK\n');
    expect(serviceLine(run.stdout, 'ingest')).toContain('would start');
    expect(serviceLine(run.stdout, 'checks')).toContain('would start');
    expect(serviceLine(run.stdout, 'notify')).toContain('would REFUSE to start');
    expect(serviceLine(run.stdout, 'api')).toContain('would REFUSE to start');
    expect(run.stdout).toContain('ACK_SECRET: expected at least 16 characters');
    expect(run.stdout).toContain('openssl rand -hex 32');
    expect(run.stderr).toMatch(/^error TJ_SERVICE_WOULD_REFUSE: notify, api would refuse to start/);
  });

  it('a malformed SMTP_URL is named, and its userinfo is never printed', async () => {
    const run = await check([], { ACK_SECRET: SECRET, SMTP_URL: 'smtp//alerts-user:Hunter2pw@mail.example:587' });
    expect(run.code).toBe(2);
    expect(serviceLine(run.stdout, 'notify')).toContain('would REFUSE');
    expect(run.stdout).toContain('SMTP_URL: expected a URL with scheme smtp:// or smtps://');
    for (const leaked of ['Hunter2pw', 'alerts-user']) {
      expect(run.stdout).not.toContain(leaked);
      expect(run.stderr).not.toContain(leaked);
    }
  });

  it('a malformed REDIS_URL stops every service; its password is not printed', async () => {
    const run = await check(['--json'], { ACK_SECRET: SECRET, REDIS_URL: 'http://:s3cretRedis@127.0.0.1:6379' });
    expect(run.code).toBe(2);
    const out = JSON.parse(run.stdout) as { ok: boolean; services: Array<{ service: string; starts: boolean; problems: string[] }> };
    expect(out.ok).toBe(false);
    expect(out.services.map((s) => [s.service, s.starts])).toEqual([
      ['ingest', false],
      ['checks', false],
      ['notify', false],
      ['api', false],
    ]);
    expect(
      out.services.every((s) => s.problems.some((p) => p.startsWith('REDIS_URL: expected a URL with scheme redis:// or rediss://'))),
    ).toBe(true);
    expect(run.stdout + run.stderr).not.toContain('s3cretRedis');
  });

  it('--service checks only the services named', async () => {
    const ingestOnly = await check(['--service', 'ingest', 'checks'], {});
    expect(ingestOnly.code).toBe(0);
    expect(ingestOnly.stdout).toContain('configuration OK\n');
    expect(ingestOnly.stdout).not.toContain('notify');

    const notify = await check(['--service', 'notify'], {});
    expect(notify.code).toBe(2);
    expect(serviceLine(notify.stdout, 'notify')).toContain('would REFUSE');

    const bogus = await check(['--service', 'mailer'], {});
    expect(bogus.code).not.toBe(0);
    expect(bogus.stderr).toContain('ingest, checks, notify, api');
  });

  it('everything set: every service would start, exit 0', async () => {
    const run = await check([], { ACK_SECRET: SECRET, SMTP_URL: 'smtps://u:Pw0rdpw@mail.example:465' });
    expect(run.code).toBe(0);
    for (const s of ['ingest', 'checks', 'notify', 'api']) expect(serviceLine(run.stdout, s)).toContain('would start');
    expect(run.stdout).toContain('configuration OK\n');
    expect(run.stdout).not.toContain('Pw0rdpw');
  });

  it('the channels of recipients.yaml: a robot URL and a webhook secret missing or too short are named, values never printed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tj-config-channels-'));
    dirs.push(dir);
    cpSync(join(process.cwd(), 'config'), dir, { recursive: true });
    const recipients = readFileSync(join(dir, 'recipients.yaml'), 'utf8').replace(
      /\nchannels:[\s\S]*$/,
      `
channels:
  wecom:
    robots:
      chengdu-duty: { url_env: TJ_WECOM_CHENGDU_DUTY_URL }
  webhook:
    endpoints:
      duty-system: { url_env: TJ_HOOK_URL, secret_env: TJ_HOOK_SECRET }
`,
    );
    writeFileSync(join(dir, 'recipients.yaml'), recipients);
    const base = { TUOJIANG_CONFIG: dir, ACK_SECRET: SECRET };
    const run = await check(['--service', 'notify'], { ...base, TJ_HOOK_URL: 'https://duty.example/hook', TJ_HOOK_SECRET: 'short-Zq9' });
    expect(run.code).toBe(2);
    expect(serviceLine(run.stdout, 'notify')).toContain('would REFUSE');
    expect(run.stdout).toContain('TJ_WECOM_CHENGDU_DUTY_URL is not set: recipients.yaml channels.wecom.robots.chengdu-duty needs its URL');
    expect(run.stdout).toContain('TJ_HOOK_SECRET is shorter than 16 bytes (recipients.yaml channels.webhook.endpoints.duty-system)');
    expect(run.stdout + run.stderr).not.toContain('short-Zq9');
    const ok = await check(['--service', 'notify'], {
      ...base,
      TJ_WECOM_CHENGDU_DUTY_URL: 'https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k-Secret-Key',
      TJ_HOOK_URL: 'https://duty.example/hook',
      TJ_HOOK_SECRET: 'a-long-enough-signing-secret',
    });
    expect(ok.code).toBe(0);
    expect(serviceLine(ok.stdout, 'notify')).toContain('would start');
  });
});

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
