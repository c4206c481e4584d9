/**
 * The demo's closing summary from the bureaus' side: per bureau, the incidents it was told of, the
 * reports by kind (初报/续报/终报), the e-mails to its duty list and, apart, its escalations; then,
 * per incident, each section's predicted arrival window against the observed arrival.
 */
import type { RedisClient } from '../lib/redis-client.js';
import type { NotifyConfig } from '../alerts/notify/config.js';
import { IncidentStore } from '../alerts/incidents/store.js';
import type { Incident } from '../alerts/incidents/types.js';
import { cstShort } from '../alerts/incidents/wording.js';
import type { ReceivedMail } from '../devtools/local-services/smtp-sink.js';
import type { StationRegistry } from '../config/station-registry.js';

export interface BureauSummary {
  incidents: number;
  reports: Record<'initial' | 'followup' | 'final', number>;
  dutyEmails: number;
  escalationEmails: number;
  otherEmails: number;
  threads: number;
}

function header(m: ReceivedMail, name: string): string | undefined {
  const v = m.parsed.headers.get(name.toLowerCase());
  // mailparser gives References as an array of ids when there are several.
  return typeof v === 'string' ? v : Array.isArray(v) ? v.join(' ') : undefined;
}

export async function bureauSummary(
  mails: readonly ReceivedMail[],
  config: NotifyConfig,
  redis: RedisClient,
  registry: StationRegistry,
): Promise<{ bureaus: Record<string, BureauSummary>; incidents: Incident[]; lines: string[] }> {
  const bureaus: Record<string, BureauSummary> = {};
  const incidents: Record<string, Set<string>> = {};
  const roots: Record<string, Set<string>> = {};
  for (const m of mails) {
    const b = header(m, 'x-tuojiang-bureau') ?? '?';
    const s = (bureaus[b] ??= {
      incidents: 0,
      reports: { initial: 0, followup: 0, final: 0 },
      dutyEmails: 0,
      escalationEmails: 0,
      otherEmails: 0,
      threads: 0,
    });
    const to = m.envelope.to.map((x) => x.toLowerCase());
    const escalation = (config.recipients.bureaus[b]?.escalation ?? []).some((p) => to.includes(p.email.toLowerCase()));
    if (escalation) s.escalationEmails++;
    else s.dutyEmails++;
    const inc = header(m, 'x-tuojiang-incident');
    const rep = header(m, 'x-tuojiang-report');
    if (!inc) {
      s.otherEmails++;
      continue;
    }
    (incidents[b] ??= new Set()).add(inc);
    if (!escalation && rep) {
      const kind = rep.split(' ')[0] as keyof BureauSummary['reports'];
      if (kind in s.reports) s.reports[kind]++;
      const refs = header(m, 'references');
      (roots[b] ??= new Set()).add(refs ? (refs.split(/\s+/)[0] as string) : (m.parsed.messageId ?? ''));
    }
  }
  for (const [b, s] of Object.entries(bureaus)) {
    s.incidents = incidents[b]?.size ?? 0;
    s.threads = roots[b]?.size ?? 0;
  }
  const lines: string[] = ['  per bureau'];
  for (const [b, s] of Object.entries(bureaus).sort()) {
    lines.push(
      `    ${b.padEnd(10)} incidents ${s.incidents}, reports 初报 ${s.reports.initial} / 续报 ${s.reports.followup} / 终报 ${s.reports.final}, duty e-mails ${s.dutyEmails} (${s.threads} thread${s.threads === 1 ? '' : 's'}), escalations ${s.escalationEmails}${s.otherEmails ? `, other notices ${s.otherEmails}` : ''}`,
    );
  }
  const store = new IncidentStore(redis);
  const known = await store.list(20);
  for (const inc of known) {
    lines.push(
      `  incident ${inc.id} (${inc.status}${inc.closedAt ? `, closed ${cstShort(inc.closedAt)}` : ''}): predicted vs observed arrival`,
    );
    for (const s of inc.sections) {
      const name = registry.get(s.station)?.name.en ?? s.station;
      const pred = s.predicted ? `${cstShort(s.predicted.from)}–${cstShort(s.predicted.to)}` : s.station === inc.origin ? '(origin)' : '–';
      const obs = s.observedAt === null ? 'not reached' : cstShort(s.observedAt);
      const verdict = s.observedAt === null || !s.predicted ? '' : s.miss ? `  MISSED (${s.miss})` : '  inside';
      lines.push(`    ${name.padEnd(28)} predicted ${pred.padEnd(25)} observed ${obs}${verdict}`);
    }
  }
  return { bureaus, incidents: known, lines };
}
