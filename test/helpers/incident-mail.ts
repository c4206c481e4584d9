/**
 * Reading incident reports back out of the SMTP sink: which incident and report each e-mail is
 * (the X-Tuojiang-Incident / X-Tuojiang-Report headers the mailer sets), its thread headers, and
 * the notify clock of a replay (event time, running on at a multiple of the wall clock), so close
 * checks and report intervals follow the evidence and not the day the test happens to run.
 */
import { expect } from 'vitest';
import { header, type ReceivedMail } from './smtp-sink.js';

export interface ReportMail {
  incident: string;
  kind: string;
  seq: number;
  subject: string;
  messageId: string;
  inReplyTo: string;
  references: string[];
  text: string;
  mail: ReceivedMail;
}

export function reportMail(m: ReceivedMail): ReportMail | undefined {
  const incident = header(m, 'x-tuojiang-incident');
  if (!incident) return undefined;
  const [kind = '', seq = '0'] = header(m, 'x-tuojiang-report').split(' ');
  return {
    incident,
    kind,
    seq: Number(seq),
    subject: m.parsed.subject ?? '',
    messageId: m.parsed.messageId ?? '',
    inReplyTo: String(m.parsed.inReplyTo ?? ''),
    references: ([] as string[]).concat(m.parsed.references ?? []),
    text: m.parsed.text ?? '',
    mail: m,
  };
}

/** The incident reports among a list of e-mails (equipment notices and the like left out), as received. */
export function reportMails(mails: ReceivedMail[]): ReportMail[] {
  return mails.map(reportMail).filter((r): r is ReportMail => r !== undefined);
}

/** Reports by incident id, each list in seq order. */
export function byIncident(reports: ReportMail[]): Map<string, ReportMail[]> {
  const out = new Map<string, ReportMail[]>();
  for (const r of reports) out.set(r.incident, [...(out.get(r.incident) ?? []), r]);
  for (const list of out.values()) list.sort((a, b) => a.seq - b.seq);
  return out;
}

/**
 * One incident's reports to one address form one thread: seq 1, 2, … without gap or repeat, each
 * answering the one before and referring to every earlier one.
 */
export function expectOneThread(reports: ReportMail[]): void {
  const sorted = [...reports].sort((a, b) => a.seq - b.seq);
  expect(sorted.map((r) => r.seq)).toEqual(sorted.map((_, k) => k + 1));
  sorted.forEach((r, k) => {
    if (k === 0) {
      expect(r.inReplyTo).toBe('');
      return;
    }
    expect(r.inReplyTo).toBe(sorted[k - 1]?.messageId);
    expect(r.references).toEqual(sorted.slice(0, k).map((x) => x.messageId));
  });
}
