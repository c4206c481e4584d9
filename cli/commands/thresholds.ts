/**
 * `tuojiang thresholds …`: the unified thresholds as versions in Redis, changed by operators of
 * either city with the other's consent where a limit is loosened (alerts/threshold-store/).
 * Who acts comes from TUOJIANG_OPERATOR / TUOJIANG_CITY (or --operator / --city) and must be an
 * operator of operators.yaml (TUOJIANG_OPERATORS, else the configuration folder's).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { cst } from '../../alerts/messages.js';
import { createOperatorToken, OperatorDirectory, operatorsFilePath } from '../../alerts/threshold-store/operators.js';
import { ThresholdStore, type ProposalInput } from '../../alerts/threshold-store/store.js';
import { effectiveLimits, explicitLimits } from '../../alerts/threshold-store/views.js';
import { formatExplicit, targetPath } from '../../alerts/threshold-store/limits.js';
import type { InputField } from '../../alerts/threshold-store/fields.js';
import type { Actor, Proposal, ThresholdVersion, VersionEntry } from '../../alerts/threshold-store/types.js';
import { THRESHOLDS_FILE, loadThresholdsFile } from '../../alerts/thresholds.js';
import { readEnv } from '../../config/env.js';
import { loadConfig, type LoadedConfig } from '../../config/load.js';
import { isTuojiangError, TuojiangError } from '../../lib/errors.js';
import { openWorld } from '../../runtime/open-world.js';
import { printJson } from '../output.js';
import { PREFIX_HELP } from '../key-prefix.js';

interface Common {
  prefix: string;
  operator?: string;
  city?: string;
  operators?: string;
  json?: boolean;
}

function common(cmd: Command, identity = false): Command {
  cmd.option('--prefix <prefix>', PREFIX_HELP).option('--json', 'print JSON');
  if (identity) {
    cmd
      .option('--operator <id>', 'who acts (default TUOJIANG_OPERATOR)')
      .option('--city <city>', 'the city the operator acts for (default TUOJIANG_CITY)')
      .option('--operators <file>', 'operators list (default TUOJIANG_OPERATORS, else operators.yaml in the configuration folder)');
  }
  return cmd;
}

interface Ctx {
  config: LoadedConfig;
  store: ThresholdStore;
  actor(): Actor;
}

/** The store's errors name input fields (`why`, `exception.until`); on the command line they are flags. */
const FLAG_OF: Record<InputField, string> = {
  station: '--station',
  section: '--section',
  defaults: '--defaults',
  param: '--param',
  value: '--value',
  min: '--min',
  max: '--max',
  clear: '--clear',
  unit: '--unit',
  why: '--why',
  exception: '--exception',
  'exception.reason': '--reason',
  'exception.until': '--until',
  toVersion: '--to-version',
};

export function asFlags(message: string): string {
  return message.replace(/`([A-Za-z.]+)`/g, (m, name: string) => (Object.hasOwn(FLAG_OF, name) ? FLAG_OF[name as InputField] : m));
}

async function withStore<T>(opts: Common, f: (ctx: Ctx) => Promise<T>, seedIfEmpty = false): Promise<T> {
  const config = loadConfig();
  const env = readEnv();
  const { redis, influx } = openWorld({ config, env, use: 'command', influxTimeoutMs: 5000 });
  try {
    await redis.connect();
    const store = new ThresholdStore({ redis, registry: config.registry, prefix: opts.prefix, influx });
    if (seedIfEmpty && (await store.headVersion()) === null)
      await store.seed(loadThresholdsFile(join(config.dir, THRESHOLDS_FILE), config.registry));
    const actor = (): Actor => {
      const dir = new OperatorDirectory(opts.operators ?? operatorsFilePath(config.dir), config.registry);
      return dir.actor(opts.operator ?? process.env.TUOJIANG_OPERATOR, opts.city ?? process.env.TUOJIANG_CITY);
    };
    return await f({ config, store, actor });
  } catch (e) {
    if (isTuojiangError(e)) e.message = asFlags(e.message);
    throw e;
  } finally {
    redis.disconnect();
  }
}

const out = (s: string): void => {
  process.stdout.write(`${s}\n`);
};

function versionLine(v: VersionEntry): string {
  return `v${String(v.version).padEnd(4)} ${cst(v.at)}  ${v.kind.padEnd(13)} ${v.by}${v.city ? ` (${v.city})` : ''}\n       ${v.summary}\n       why: ${v.why}${v.approvals.length ? `\n       approved by ${v.approvals.map((a) => `${a.by} (${a.city})`).join(', ')}` : ''}`;
}

function proposalLine(p: Proposal): string {
  const state =
    p.status === 'pending'
      ? `needs ${p.needs.join(' + ')}, expires ${cst(p.expiresAt)}`
      : `${p.status}${p.appliedVersion ? ` as v${p.appliedVersion}` : ''}${p.closed ? ` (${p.closed.by}: ${p.closed.why})` : ''}`;
  return (
    `${p.id.padEnd(5)} ${p.kind.padEnd(9)} ${targetPath(p.target)}  ${formatExplicit(p.from, p.unit)} → ${formatExplicit(p.to, p.unit)}  by ${p.by} (${p.city})  ${state}` +
    `${p.exception ? `\n      exception until ${cst(p.exception.until)}: ${p.exception.reason}` : ''}\n      why: ${p.why}` +
    `${p.approvals.length ? `\n      approved by ${p.approvals.map((a) => `${a.by} (${a.city})`).join(', ')}` : ''}`
  );
}

function printVersion(v: ThresholdVersion): void {
  out(versionLine(v));
  const limits = explicitLimits(v.config);
  out(
    limits.length
      ? `explicit limits:\n${limits.map((l) => `  ${l.path.padEnd(36)} ${formatExplicit(l.limit, l.unit)}`).join('\n')}`
      : 'explicit limits: none (every limit from the standards)',
  );
  out(
    v.exceptions.length
      ? `exceptions in force:\n${v.exceptions.map((e) => `  ${e.id.padEnd(5)} ${targetPath(e.target)} ${formatExplicit(e.value)} until ${cst(e.until)} (${e.reason}), then ${formatExplicit(e.restore)}`).join('\n')}`
      : 'exceptions in force: none',
  );
}

function proposalInput(o: Record<string, unknown>): ProposalInput {
  const input: ProposalInput = {
    param: o.param,
    why: o.why,
    unit: o.unit,
    value: o.value,
    min: o.min,
    max: o.max,
    clear: o.clear === true,
    ...(o.station !== undefined ? { station: o.station } : {}),
    ...(o.section !== undefined ? { section: o.section } : {}),
    ...(o.defaults ? { defaults: true } : {}),
  };
  if (o.exception) input.exception = { reason: o.reason, until: o.until };
  else if (o.reason !== undefined || o.until !== undefined)
    throw new TuojiangError(
      'THRESHOLD_EXCEPTION_INVALID',
      '--reason and --until belong to an exception: add --exception (only for a limit looser than the national standard)',
    );
  return input;
}

function versionNumber(flag: string, s: string): number {
  const n = Number(s.replace(/^v/, ''));
  if (!Number.isInteger(n) || n < 1)
    throw new TuojiangError('THRESHOLD_VERSION_NOT_FOUND', `${flag}: a version number such as 3 or v3, got "${s}"`);
  return n;
}

export function registerThresholdsCommands(program: Command): void {
  const t = program
    .command('thresholds')
    .description("the unified thresholds: versions, proposals and the other city's consent (both cities, one standard)");

  common(t.command('seed').description('create version 1 from thresholds.yaml if the store is empty (the alerts workers do this on start)'))
    .option('--file <path>', 'thresholds file (default thresholds.yaml in the configuration folder)')
    .action(async (opts: Common & { file?: string }) => {
      await withStore(opts, async ({ config, store }) => {
        const r = await store.seed(loadThresholdsFile(opts.file ?? join(config.dir, THRESHOLDS_FILE), config.registry));
        if (opts.json) printJson(r);
        else
          out(
            r.seeded
              ? `seeded version 1 from ${opts.file ?? THRESHOLDS_FILE}`
              : `the store already has versions (head v${r.version}): nothing seeded`,
          );
      });
    });

  common(
    t
      .command('list')
      .description('the version in force, its explicit limits and exceptions, pending proposals, and changes the other city made'),
    true,
  )
    .option('--days <n>', 'announcements from this many days back', '7')
    .action(async (opts: Common & { days: string }) => {
      await withStore(opts, async ({ store }) => {
        const v = await store.current();
        const pending = await store.proposals('pending');
        const city = opts.city ?? process.env.TUOJIANG_CITY;
        const since = Date.now() - Number(opts.days) * 86_400_000;
        const announced = city ? await store.announcements(city, since) : [];
        if (opts.json) {
          const { config: _c, ...entry } = v;
          printJson({ current: entry, explicit: explicitLimits(v.config), pending, announcements: announced });
          return;
        }
        printVersion(v);
        out(pending.length ? `pending proposals:\n${pending.map((p) => `  ${proposalLine(p)}`).join('\n')}` : 'pending proposals: none');
        if (city)
          out(
            announced.length
              ? `changes announced to ${city} (${opts.days} days):\n${announced.map((a) => `  ${versionLine(a)}`).join('\n')}`
              : `changes announced to ${city} (${opts.days} days): none`,
          );
      });
    });

  common(
    t
      .command('show [ref]')
      .description('a version (number, default the one in force) or a proposal (p…); --station: every limit in force there'),
  )
    .option('--station <id>', 'the limits in force at this station, and where each comes from')
    .action(async (ref: string | undefined, opts: Common & { station?: string }) => {
      await withStore(opts, async ({ config, store }) => {
        if (ref && /^p\d+$/.test(ref)) {
          const p = await store.proposal(ref);
          if (opts.json) printJson(p);
          else
            out(
              `${proposalLine(p)}\n      ${p.summary}\n      effects: ${p.effects.map((e) => `${e.station}${e.period === 'day' ? ' (daily)' : ''} ${e.before} → ${e.after}`).join('; ')}`,
            );
          return;
        }
        const v = await store.version(ref ? versionNumber('version', ref) : undefined);
        if (opts.station) {
          const rows = effectiveLimits(config.registry, v, opts.station, Date.now());
          if (opts.json) printJson({ version: v.version, station: opts.station, limits: rows });
          else {
            out(`limits in force at ${opts.station}, version ${v.version}:`);
            for (const r of rows)
              out(
                `  ${r.param.padEnd(15)} ${r.period.padEnd(5)} ${r.limit.padEnd(18)} ${r.basis.padEnd(32)} national ${r.national ?? '–'}`,
              );
          }
          return;
        }
        if (opts.json) printJson(v);
        else printVersion(v);
      });
    });

  common(t.command('propose').description('change one limit: a tightening applies at once; a loosening waits for the other city'), true)
    .option('--station <id>', 'scope: one station')
    .option('--section <name|index>', 'scope: a river section of thresholds.yaml')
    .option('--defaults', 'scope: every station (the defaults)')
    .requiredOption('--param <key>', 'parameter key, e.g. NH3N, DO, pH, PM2_5')
    .option('--value <n>', 'the new limit (DO: a lower bound; others: an upper bound)')
    .option('--min <n>', 'lower bound (DO; pH with --max)')
    .option('--max <n>', 'upper bound (pH with --min)')
    .option('--clear', 'remove the explicit limit at this scope (the inherited or standard limit applies)')
    .option('--unit <unit>', "unit of the value (default the parameter's: mg/L, µg/m³ …; µg/L is converted)")
    .option('--why <text>', 'why (recorded and shown to the other city)')
    .option('--exception', 'a limit looser than the national standard, for a limited time: needs both cities')
    .option('--reason <text>', 'exception: why the river can bear it')
    .option('--until <when>', 'exception: end, ISO 8601 with a zone')
    .action(async (opts: Common & Record<string, unknown>) => {
      await withStore(
        opts,
        async ({ store, actor }) => {
          const who = actor();
          const input = proposalInput(opts);
          await store.sweep();
          const r = await store.propose(who, input);
          if (opts.json) printJson(r);
          else if (r.outcome === 'applied')
            out(
              `applied as version ${r.version.version} (in force within seconds; announced to ${r.version.announce.join(', ')})\n  ${r.version.summary}`,
            );
          else
            out(
              `proposal ${r.proposal.id} waits for ${r.proposal.needs.join(' + ')} (expires ${cst(r.proposal.expiresAt)}); nothing changes until then\n  ${r.proposal.summary}`,
            );
        },
        true,
      );
    });

  common(
    t
      .command('restore')
      .description(
        "put back, on your own city's stations, a limit you had before the other city changed it alone: applies at once, no consent needed",
      ),
    true,
  )
    .option('--station <id>', 'scope: one station')
    .option('--section <name|index>', 'scope: a river section of thresholds.yaml')
    .option('--defaults', 'scope: every station (the defaults)')
    .requiredOption('--param <key>', 'parameter key, e.g. NH3N')
    .option('--to-version <n>', 'put back the limit this key had in that version (the e-mail names it)')
    .option('--value <n>', 'the limit to put back (DO: a lower bound; others: an upper bound)')
    .option('--min <n>', 'lower bound (DO; pH with --max)')
    .option('--max <n>', 'upper bound (pH with --min)')
    .option('--clear', 'remove the explicit limit at this scope')
    .option('--unit <unit>', 'unit of the value')
    .requiredOption('--why <text>', 'why (recorded and shown to the other city)')
    .action(async (opts: Common & Record<string, unknown>) => {
      await withStore(opts, async ({ store, actor }) => {
        const who = actor();
        await store.sweep();
        const r = await store.restore(who, {
          ...proposalInput(opts),
          ...(opts.toVersion !== undefined ? { toVersion: opts.toVersion } : {}),
        });
        if (opts.json) printJson(r);
        else
          out(
            `restored as version ${r.version.version}, undoing ${(r.version.restores ?? []).map((n) => `v${n}`).join(', ')} (in force within seconds; announced to ${r.version.announce.join(', ')})\n  ${r.version.summary}`,
          );
      });
    });

  common(t.command('approve <id>').description('approve a proposal of the other city (exceptions: one operator of each city)'), true)
    .option('--comment <text>', 'recorded with the approval')
    .action(async (id: string, opts: Common & { comment?: string }) => {
      await withStore(opts, async ({ store, actor }) => {
        const who = actor();
        const r = await store.approve(who, id, opts.comment);
        if (opts.json) printJson(r);
        else if (r.outcome === 'applied') out(`approved: applied as version ${r.version.version}\n  ${r.version.summary}`);
        else out(`approval recorded; ${id} still needs ${r.proposal.needs.join(' + ')}`);
      });
    });

  common(t.command('reject <id>').description('reject a pending proposal (its own city withdrawing it also rejects it)'), true)
    .requiredOption('--why <text>', 'why (recorded)')
    .action(async (id: string, opts: Common & { why: string }) => {
      await withStore(opts, async ({ store, actor }) => {
        const p = await store.reject(actor(), id, opts.why);
        if (opts.json) printJson(p);
        else out(`rejected ${id}`);
      });
    });

  common(t.command('history').description('every version: who, when, why, old → new, approvals'))
    .option('--station <id>', 'only changes reaching this station')
    .option('--param <key>', 'only changes of this parameter')
    .option('--limit <n>', 'the newest N only')
    .action(async (opts: Common & { station?: string; param?: string; limit?: string }) => {
      await withStore(opts, async ({ store }) => {
        const h = await store.history({
          ...(opts.station ? { station: opts.station } : {}),
          ...(opts.param ? { param: opts.param } : {}),
          ...(opts.limit ? { limit: Number(opts.limit) } : {}),
        });
        if (opts.json) for (const v of h) printJson(v);
        else for (const v of h) out(versionLine(v));
      });
    });

  common(
    t
      .command('diff <from> [to]')
      .description('what differs between two versions (to: default the one in force), key by key, and the versions between'),
  ).action(async (from: string, to: string | undefined, opts: Common) => {
    await withStore(opts, async ({ store }) => {
      const d = await store.diff(versionNumber('from', from), to ? versionNumber('to', to) : undefined);
      if (opts.json) {
        printJson(d);
        return;
      }
      out(`v${d.from} → v${d.to}: ${d.changes.length} key(s) differ`);
      for (const c of d.changes)
        out(
          `  ${c.path}: ${c.from === undefined ? '(none)' : JSON.stringify(c.from)} → ${c.to === undefined ? '(none)' : JSON.stringify(c.to)}`,
        );
      for (const e of d.exceptions.added) out(`  + exception ${e.id} ${targetPath(e.target)} until ${cst(e.until)}`);
      for (const e of d.exceptions.removed) out(`  - exception ${e.id} ${targetPath(e.target)}`);
      if (d.versions.length) out(`versions between:\n${d.versions.map((v) => `  ${versionLine(v)}`).join('\n')}`);
    });
  });

  common(t.command('export').description('a version (default the one in force) as thresholds.yaml'))
    .option('--version <n>', 'version number')
    .option('--out <file>', 'write to this file instead of stdout')
    .action(async (opts: Common & { version?: string; out?: string }) => {
      await withStore(opts, async ({ store }) => {
        const yaml = await store.exportYaml(opts.version ? versionNumber('--version', opts.version) : undefined);
        if (opts.out) writeFileSync(opts.out, yaml);
        else process.stdout.write(yaml);
      });
    });

  const token = t.command('token').description('API tokens of operators (only their SHA-256 is stored)');
  token
    .command('create')
    .description('create a token for an operator of operators.yaml: prints it once, records its SHA-256')
    .requiredOption('--operator <id>', 'operator id')
    .option('--label <text>', 'a note kept with the hash (e.g. the laptop it is for)')
    .option('--operators <file>', 'operators list (default TUOJIANG_OPERATORS, else operators.yaml in the configuration folder)')
    .option('--json', 'print JSON')
    .action((opts: { operator: string; label?: string; operators?: string; json?: boolean }) => {
      const config = loadConfig();
      const file = opts.operators ?? operatorsFilePath(config.dir);
      const { token: secret, operator } = createOperatorToken(file, config.registry, opts.operator, opts.label);
      if (opts.json) printJson({ operator: operator.id, city: operator.city, token: secret, file });
      else {
        out(secret);
        process.stderr.write(
          `token for ${operator.id} (${operator.city}) recorded in ${file} as its SHA-256; it is shown only now: send it as "Authorization: Bearer <token>"\n`,
        );
      }
    });
}
