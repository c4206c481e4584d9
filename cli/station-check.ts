/**
 * What a station still lacks before its readings are stored, shown and sent to its bureau: one
 * line per thing that embeds the station list, with the command that fixes it. `tuojiang stations
 * check` prints it; `tuojiang stations add` prints it after adding.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadNotifyConfig } from '../alerts/notify/config.js';
import type { LoadedConfig } from '../config/load.js';
import { contextFromConfig } from '../dashboards/context.js';
import { GAZETTEER_SUBDIR, generatedFiles, isFresh, staleness } from '../dashboards/generate.js';
import { passwordFileUsers } from '../lib/mosquitto-password.js';

export interface CheckLine {
  what: string;
  status: 'ok' | 'missing' | 'not checked';
  detail: string;
  /** The command that fixes it (compose form). */
  fix?: string;
}

export interface CheckOptions {
  config: LoadedConfig;
  /** The stations' broker password file (listener 1883). */
  passwdFile: string;
  /** Where Grafana's dashboards and gazetteer are generated for this site. */
  generatedDir: string;
}

export async function checkStation(id: string, o: CheckOptions): Promise<CheckLine[]> {
  const station = o.config.registry.stations.find((s) => s.id === id);
  if (!station) {
    return [
      {
        what: 'registry',
        status: 'missing',
        detail: `${id} is not in stations.yaml`,
        fix: `docker compose run --rm ops stations add ${id} --kind … --city … (tuojiang stations add --help)`,
      },
    ];
  }
  const lines: CheckLine[] = [
    { what: 'registry', status: 'ok', detail: `stations.yaml: ${station.kind}, ${station.city}, MN ${station.mn}` },
  ];

  const users = existsSync(o.passwdFile) ? await passwordFileUsers(o.passwdFile) : undefined;
  lines.push(
    users?.includes(id)
      ? {
          what: 'broker account',
          status: 'ok',
          detail: `${o.passwdFile} (reload the broker after a change: docker compose kill -s SIGHUP mosquitto)`,
        }
      : {
          what: 'broker account',
          status: 'missing',
          detail: users ? `no account ${id} in ${o.passwdFile}` : `${o.passwdFile} does not exist (mosquitto-init creates it)`,
          fix: `printf '%s\\n' "$PASSWORD" | docker compose run --rm -T ops stations password ${id}; docker compose kill -s SIGHUP mosquitto`,
        },
  );

  const acl = join(o.config.dir, 'mosquitto', 'acl');
  const topic = `tuojiang/${station.kind}/%u`;
  const aclText = existsSync(acl) ? readFileSync(acl, 'utf8') : '';
  lines.push(
    new RegExp(`^pattern (write|readwrite) ${topic.replace(/[+/%]/g, (c) => `\\${c}`)}$`, 'm').test(aclText)
      ? { what: 'broker ACL', status: 'ok', detail: `${acl}: ${station.kind} stations may publish to ${topic.replace('%u', id)}` }
      : {
          what: 'broker ACL',
          status: 'missing',
          detail: `${acl} has no \`pattern write ${topic}\``,
          fix: `add \`pattern write ${topic}\` to ${acl}; docker compose kill -s SIGHUP mosquitto`,
        },
  );

  const files = generatedFiles(contextFromConfig(o.config));
  const fresh = isFresh(await staleness(o.generatedDir, files));
  const gazetteer = files.find((f) => f.path.startsWith(`${GAZETTEER_SUBDIR}/`) && f.path.endsWith('.json'));
  lines.push(
    fresh && gazetteer?.content.includes(`"${id}"`)
      ? { what: 'dashboards and gazetteer', status: 'ok', detail: `${o.generatedDir} is generated from this stations.yaml` }
      : {
          what: 'dashboards and gazetteer',
          status: 'missing',
          detail: `${o.generatedDir} was generated from another stations.yaml (the station lists, maps and variables lack ${id})`,
          fix: 'docker compose run --rm ops dashboards build --out /app/generated; docker compose restart grafana',
        },
  );

  const recipients = loadNotifyConfig(o.config.dir, o.config.registry).recipients as { bureaus: Record<string, unknown> };
  lines.push(
    recipients.bureaus[station.city]
      ? { what: 'bureau', status: 'ok', detail: `recipients.yaml: the ${station.city} bureau receives its notices` }
      : {
          what: 'bureau',
          status: 'missing',
          detail: `recipients.yaml has no bureau for ${station.city}: nobody would be told`,
          fix: `add bureaus.${station.city} to recipients.yaml; docker compose restart notify api`,
        },
  );

  // The HJ 212 TCP listener (HJ212_TCP_PORT) keeps its own per-station password; this version of
  // the check does not read it.
  lines.push({
    what: 'HJ 212 password',
    status: 'not checked',
    detail: 'only for loggers that connect over HJ 212 TCP: see docs/operations.md, Add a station',
  });
  return lines;
}

export function formatCheck(id: string, lines: CheckLine[]): string {
  const mark = { ok: '✓', missing: '✗', 'not checked': '·' } as const;
  const width = Math.max(...lines.map((l) => l.what.length));
  const out = [`station ${id}:`];
  for (const l of lines) {
    out.push(`  ${mark[l.status]} ${l.what.padEnd(width)}  ${l.detail}`);
    if (l.fix && l.status === 'missing') out.push(`    ${' '.repeat(width)}  do: ${l.fix}`);
  }
  const missing = lines.filter((l) => l.status === 'missing').length;
  out.push(missing === 0 ? '  nothing missing' : `  ${missing} thing(s) missing`);
  return `${out.join('\n')}\n`;
}
