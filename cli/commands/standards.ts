/**
 * `tuojiang standards …`: the standards as a calculator, for operators checking a reading by hand
 * and for scripts. Each command prints one JSON line on stdout; bad input exits with code 2.
 */
import { Option, type Command } from 'commander';
import { ERRORS, isTuojiangError } from '../../lib/errors.js';
import { parametersOf } from '../../lib/parameters.js';
import {
  AQI_INPUT_KEYS,
  DEFAULT_WATER_CLASS_POLICY,
  GRADED_WATER_PARAMS,
  computeAqi,
  waterClass,
  type AqiInputs,
  type AqiMode,
  type Waterbody,
} from '../../lib/standards/index.js';

/** Exit code for bad command-line input (as opposed to 1, a failure while running). */
export const EXIT_BAD_INPUT = 2;
const BAD_INPUT = 'tuojiang.badInput';

/** A plain decimal number; Number() alone would accept '', ' ', '0x1f' and 'Infinity'. */
const NUMBER_TEXT = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

function fail(cmd: Command, message: string): never {
  cmd.error(`error: ${message}`, { exitCode: EXIT_BAD_INPUT, code: BAD_INPUT });
  throw new Error(message); // unreachable: cmd.error exits or throws
}

function parseNumber(cmd: Command, flag: string, text: string, min: number, max?: number): number {
  const value = NUMBER_TEXT.test(text.trim()) ? Number(text) : Number.NaN;
  if (!Number.isFinite(value)) fail(cmd, `option '${flag}' expects a number, got '${text}' (${ERRORS.INVALID_VALUE.code})`);
  if (value < min || (max !== undefined && value > max)) {
    const range = max === undefined ? `at least ${min}` : `between ${min} and ${max}`;
    fail(cmd, `option '${flag}' must be ${range}, got ${text} (${ERRORS.IMPOSSIBLE_VALUE.code})`);
  }
  return value;
}

/**
 * Reads --date: a date alone means midnight in China (UTC+8), as does a date-time without a zone,
 * because the standards switch at local midnight and operators think in local time.
 */
function parseDate(cmd: Command, text: string): Date {
  let iso = text.trim();
  if (/^\d{4}-\d{2}-\d{2}$/.test(iso)) iso += 'T00:00:00+08:00';
  else if (/^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(iso)) iso = `${iso.replace(' ', 'T')}+08:00`;
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) {
    fail(
      cmd,
      `option '--date' expects a date such as 2026-03-01 or 2026-03-01T08:00:00+08:00, got '${text}' (${ERRORS.INVALID_TIMESTAMP.code})`,
    );
  }
  return date;
}

function print(value: unknown): void {
  process.stdout.write(JSON.stringify(value) + '\n');
}

/** Runs a computation, turning the library's own input errors into the CLI's bad-input exit. */
function run<T>(cmd: Command, compute: () => T): T {
  try {
    return compute();
  } catch (e) {
    if (isTuojiangError(e)) fail(cmd, `${e.message} (${e.code})`);
    throw e;
  }
}

function addWaterClass(standards: Command): void {
  const water = parametersOf('water');
  const cmd = standards
    .command('water-class')
    .description('GB 3838-2002 single-factor water class of one sample (mg/L; fecal coliform per L)')
    .option('--waterbody <kind>', 'river or lake (decides the TP limits)', 'river')
    .option(
      '--reference-items <keys>',
      `comma-separated items reported but not deciding the class ('' for none)`,
      DEFAULT_WATER_CLASS_POLICY.referenceItems.join(','),
    );
  const flags = water.map((p) => {
    const option = new Option(`--${p.key} <value>`, p.unit === p.key ? p.nameEn : `${p.nameEn} (${p.unit})`);
    cmd.addOption(option);
    return { param: p, attribute: option.attributeName() };
  });
  cmd.action((opts: Record<string, string | undefined>, self: Command) => {
    const waterbody = opts.waterbody;
    if (waterbody !== 'river' && waterbody !== 'lake') {
      fail(self, `option '--waterbody' must be 'river' or 'lake', got '${String(waterbody)}'`);
    }
    const referenceItems = (opts.referenceItems ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '');
    const unknown = referenceItems.filter((k) => !GRADED_WATER_PARAMS.includes(k));
    if (unknown.length > 0) {
      fail(self, `option '--reference-items': not GB 3838 items: ${unknown.join(', ')} (${ERRORS.UNKNOWN_PARAMETER.code})`);
    }
    const values: Record<string, number> = {};
    for (const { param, attribute } of flags) {
      const text = opts[attribute];
      if (text !== undefined) values[param.key] = parseNumber(self, `--${param.key}`, text, param.min, param.max);
    }
    print(run(self, () => waterClass(values, { waterbody: waterbody as Waterbody, policy: { referenceItems } })));
  });
}

function addAqi(standards: Command): void {
  const cmd = standards
    .command('aqi')
    .description(
      'HJ 633 AQI (µg/m³; CO mg/m³), by the version in force on --date. hourly: 2012 uses SO2/NO2/CO/O3 1h ' +
        'and PM 24h sliding means (SO2_24h only when SO2 1h > 800); 2026 uses the six 1h values. ' +
        'daily: 24h means and O3 8h (2012 also O3 1h).',
    )
    .option('--date <date>', 'date of the reading; a date or time without a zone is China Standard Time (default: now)')
    .option('--mode <mode>', 'hourly (real-time) or daily', 'hourly');
  const flags = AQI_INPUT_KEYS.map((key) => {
    const option = new Option(`--${key} <value>`, key.startsWith('CO_') ? 'mg/m³' : 'µg/m³');
    cmd.addOption(option);
    return { key, attribute: option.attributeName() };
  });
  cmd.action((opts: Record<string, string | undefined>, self: Command) => {
    const mode = opts.mode;
    if (mode !== 'hourly' && mode !== 'daily') fail(self, `option '--mode' must be 'hourly' or 'daily', got '${String(mode)}'`);
    const date = opts.date === undefined ? new Date() : parseDate(self, opts.date);
    const inputs: AqiInputs = {};
    for (const { key, attribute } of flags) {
      const text = opts[attribute];
      if (text !== undefined) inputs[key] = parseNumber(self, `--${key}`, text, 0);
    }
    print(run(self, () => computeAqi(inputs, { date, mode: mode as AqiMode })));
  });
}

export function registerStandardsCommands(program: Command): void {
  const standards = program.command('standards').description('GB 3838 water class and HJ 633 AQI calculators');
  addWaterClass(standards);
  addAqi(standards);
}
