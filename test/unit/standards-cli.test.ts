import { Command, CommanderError } from 'commander';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { registerStandardsCommands } from '../../cli/commands/standards.js';

let stdout: string[];
let stderr: string[];

beforeEach(() => {
  stdout = [];
  stderr = [];
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout.push(String(chunk));
    return true;
  });
});
afterEach(() => vi.restoreAllMocks());

function program(): Command {
  const p = new Command();
  p.exitOverride();
  p.configureOutput({ writeErr: (s) => void stderr.push(s), writeOut: (s) => void stdout.push(s) });
  registerStandardsCommands(p);
  return p;
}

/** Runs the CLI and returns the one JSON line it printed. */
async function json(args: string[]): Promise<unknown> {
  await program().parseAsync(args, { from: 'user' });
  expect(stdout).toHaveLength(1);
  expect(stdout[0]?.endsWith('\n')).toBe(true);
  return JSON.parse(stdout[0] as string);
}

/** Runs the CLI expecting a bad-input failure; returns the exit code and stderr. */
async function failure(args: string[]): Promise<{ exitCode: number; err: string }> {
  const err = await program()
    .parseAsync(args, { from: 'user' })
    .then(
      () => undefined,
      (e: unknown) => e,
    );
  expect(err).toBeInstanceOf(CommanderError);
  expect(stdout).toEqual([]);
  return { exitCode: (err as CommanderError).exitCode, err: stderr.join('') };
}

describe('tuojiang standards water-class', () => {
  it('prints the class, the limiting items and every item class', async () => {
    expect(
      await json(['standards', 'water-class', '--waterbody', 'river', '--pH', '7.1', '--NH3N', '1.2', '--DO', '8', '--temp', '18']),
    ).toEqual({
      class: 'IV',
      limiting: ['NH3N'],
      perParam: { pH: 'I', NH3N: 'IV', DO: 'I' },
    });
  });

  it('accepts every water parameter of the catalogue, including mixed-case and underscored keys', async () => {
    const r = (await json([
      'standards',
      'water-class',
      '--CODMn',
      '3',
      '--fecal_coliform',
      '50000',
      '--F',
      '1.2',
      '--Cr6',
      '0.01',
      '--cond',
      '400',
    ])) as { class: string; perParam: Record<string, string> };
    expect(r.perParam).toEqual({ CODMn: 'II', fecal_coliform: '劣V', F: 'IV', Cr6: 'I' });
    expect(r.class).toBe('IV');
  });

  it('defaults to a river and takes --waterbody lake for TP', async () => {
    expect(await json(['standards', 'water-class', '--TP', '0.1'])).toMatchObject({ class: 'II' });
    stdout.length = 0;
    expect(await json(['standards', 'water-class', '--waterbody', 'lake', '--TP', '0.1'])).toMatchObject({ class: 'IV' });
  });

  it('--reference-items changes which items decide', async () => {
    expect(await json(['standards', 'water-class', '--TN', '3', '--NH3N', '0.1'])).toMatchObject({ class: 'I' });
    stdout.length = 0;
    expect(await json(['standards', 'water-class', '--reference-items', '', '--TN', '3', '--NH3N', '0.1'])).toMatchObject({
      class: '劣V',
      limiting: ['TN'],
    });
  });

  it('prints class null when nothing graded is given', async () => {
    expect(await json(['standards', 'water-class', '--temp', '20'])).toEqual({ class: null, limiting: [], perParam: {} });
  });

  for (const [what, args, message] of [
    ['a non-number', ['--NH3N', 'abc'], /--NH3N' expects a number, got 'abc'/],
    ['an empty value', ['--NH3N', ''], /expects a number/],
    ['a hex number', ['--NH3N', '0x10'], /expects a number/],
    ['Infinity', ['--DO', 'Infinity'], /expects a number/],
    ['a negative concentration', ['--NH3N', '-1'], /must be between 0 and 10000, got -1/],
    ['pH above 14', ['--pH', '15'], /must be between 0 and 14/],
    ['an unknown waterbody', ['--waterbody', 'sea'], /'river' or 'lake', got 'sea'/],
    ['an unknown reference item', ['--reference-items', 'TN,bogus'], /bogus/],
  ] as const) {
    it(`exits with code 2 on ${what}`, async () => {
      const { exitCode, err } = await failure(['standards', 'water-class', ...args]);
      expect(exitCode).toBe(2);
      expect(err).toMatch(message);
    });
  }
});

describe('tuojiang standards aqi', () => {
  it('prints the HJ 633-2026 result', async () => {
    expect(await json(['standards', 'aqi', '--date', '2026-05-01', '--mode', 'daily', '--PM2_5_24h', '80'])).toEqual({
      standard: 'HJ633-2026',
      aqi: 119,
      iaqi: { PM2_5_24h: 119 },
      primary: ['PM2_5'],
      category: '轻度污染',
      categoryEn: 'Lightly polluted',
      level: 3,
      color: 'orange',
      missing: ['SO2', 'NO2', 'PM10', 'CO', 'O3'],
    });
  });

  it('prints aqi null under the 2026 missing-pollutant rule', async () => {
    expect(await json(['standards', 'aqi', '--date', '2026-05-01', '--mode', 'hourly', '--PM2_5_1h', '30'])).toMatchObject({
      aqi: null,
      iaqi: { PM2_5_1h: 43 },
      category: null,
      level: null,
    });
  });

  it('reads a date without a zone as China Standard Time', async () => {
    const std = async (date: string): Promise<unknown> => {
      stdout.length = 0;
      return ((await json(['standards', 'aqi', '--date', date, '--PM2_5_24h', '1'])) as { standard: string }).standard;
    };
    expect(await std('2026-02-28')).toBe('HJ633-2012');
    expect(await std('2026-02-28T23:59:59')).toBe('HJ633-2012');
    expect(await std('2026-02-28 23:59')).toBe('HJ633-2012');
    expect(await std('2026-03-01')).toBe('HJ633-2026');
    expect(await std('2026-02-28T16:00:00Z')).toBe('HJ633-2026');
    expect(await std('2026-02-28T15:59:59Z')).toBe('HJ633-2012');
  });

  it('defaults to hourly mode', async () => {
    const r = (await json(['standards', 'aqi', '--date', '2025-01-01', '--SO2_1h', '150', '--SO2_24h', '50'])) as { iaqi: object };
    expect(r.iaqi).toEqual({ SO2_1h: 50 });
  });

  for (const [what, args, message] of [
    ['a non-number', ['--PM2_5_24h', 'abc'], /--PM2_5_24h' expects a number/],
    ['a negative concentration', ['--CO_1h', '-0.5'], /must be at least 0/],
    ['an unknown mode', ['--mode', 'weekly'], /'hourly' or 'daily', got 'weekly'/],
    ['a bad date', ['--date', 'yesterday'], /--date' expects a date/],
  ] as const) {
    it(`exits with code 2 on ${what}`, async () => {
      const { exitCode, err } = await failure(['standards', 'aqi', ...args]);
      expect(exitCode).toBe(2);
      expect(err).toMatch(message);
    });
  }
});
