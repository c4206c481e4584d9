/**
 * A real SMTP server in-process (smtp-server) that keeps every message it accepts, parsed with
 * mailparser, and can also save each as an .eml file in a folder (the demo's `demo-out/mail/`).
 * Tests steer it: refuse with a reply code for a while (4xx outage, 5xx for an address), or run a
 * hook after a message is stored and before the 250 reply goes out (to kill the sender "right
 * after the SMTP server accepted").
 */
import { mkdir, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer, type SMTPServerAddress, type SMTPServerSession } from 'smtp-server';

export interface ReceivedMail {
  /** Sequence number, from 1, in the order accepted. */
  n: number;
  envelope: { from: string; to: string[] };
  raw: Buffer;
  parsed: ParsedMail;
  /** When the end of the data arrived (before parsing). */
  receivedAt: number;
  /** Where it was saved, when the sink writes .eml files. */
  file?: string;
  /** The session ran over TLS (STARTTLS). */
  secure: boolean;
  /** The user the client logged in as. */
  user?: string;
}

export interface RefusalRule {
  /** Reply code: 4xx (try later) or 5xx (never). */
  code: number;
  message?: string;
  /** At which command: RCPT TO (default) or after DATA. */
  at?: 'rcpt' | 'data';
  /** Only for this recipient address (default: every one). */
  to?: string;
  /** Until this wall-clock time (default: until removed). */
  until?: number;
}

export interface SmtpSinkOptions {
  /** Save every accepted message as `{n}-{message id}.eml` here. */
  dir?: string;
  /** Require this login (AUTH PLAIN/LOGIN). */
  auth?: { user: string; pass: string };
  /** Offer STARTTLS (with smtp-server's built-in self-signed certificate). */
  starttls?: boolean;
  port?: number;
  host?: string;
  /** Called for each message when it is stored, before the 250 reply goes out. */
  afterStore?: (m: ReceivedMail) => void | Promise<void>;
  /**
   * Reply 250 as soon as the data is in, and parse (and save, and call afterStore) after: the
   * client does not wait for mailparser (benchmarks). Default false: stored, then 250.
   */
  replyBeforeParse?: boolean;
  /**
   * Parse the header block only (no mailparser: cheap, for benchmarks): `parsed` then holds
   * `headers` (lower-case names), `subject` and `messageId`, nothing else.
   */
  headersOnly?: boolean;
  /** Called at each RCPT TO before the reply (the client is mid-transaction, no data sent yet). */
  beforeRcptReply?: (to: string) => void | Promise<void>;
}

export interface SmtpSink {
  readonly port: number;
  /** An SMTP_URL for it (with the credentials when `auth` is set). */
  readonly url: string;
  readonly messages: ReceivedMail[];
  refuse(rule: RefusalRule): () => void;
  /** Replies refused so far (for assertions that a refusal really happened). */
  readonly refusals: Array<{ code: number; at: 'rcpt' | 'data'; to: string; t: number }>;
  afterStore(hook: SmtpSinkOptions['afterStore'] | undefined): void;
  beforeRcptReply(hook: SmtpSinkOptions['beforeRcptReply'] | undefined): void;
  /** Waits until `pred` holds for the messages received (polling; never a timing assertion). */
  waitFor(pred: (msgs: ReceivedMail[]) => boolean, timeoutMs?: number, what?: string): Promise<ReceivedMail[]>;
  to(address: string): ReceivedMail[];
  close(): Promise<void>;
}

function smtpError(code: number, message: string): Error & { responseCode: number } {
  return Object.assign(new Error(message), { responseCode: code });
}

export async function startSmtpSink(o: SmtpSinkOptions = {}): Promise<SmtpSink> {
  const messages: ReceivedMail[] = [];
  const refusals: SmtpSink['refusals'] = [];
  const rules = new Set<RefusalRule>();
  let hook = o.afterStore;
  let rcptHook = o.beforeRcptReply;
  if (o.dir) await mkdir(o.dir, { recursive: true });

  const refusal = (at: 'rcpt' | 'data', to: string): RefusalRule | undefined => {
    const now = Date.now();
    for (const r of rules) {
      if (r.until !== undefined && now >= r.until) {
        rules.delete(r);
        continue;
      }
      if ((r.at ?? 'rcpt') === at && (!r.to || r.to.toLowerCase() === to.toLowerCase())) return r;
    }
    return undefined;
  };

  const server = new SMTPServer({
    secure: false,
    authOptional: !o.auth,
    ...(o.starttls ? {} : { disabledCommands: o.auth ? ['STARTTLS'] : ['STARTTLS', 'AUTH'] }),
    allowInsecureAuth: true,
    logger: false,
    size: 10 * 1024 * 1024,
    onAuth(auth, _session, cb) {
      if (o.auth && auth.username === o.auth.user && auth.password === o.auth.pass) cb(null, { user: auth.username ?? '' });
      else cb(smtpError(535, 'authentication failed'));
    },
    onRcptTo(address: SMTPServerAddress, _session: SMTPServerSession, cb) {
      void (async () => {
        await rcptHook?.(address.address);
        const r = refusal('rcpt', address.address);
        if (r) {
          refusals.push({ code: r.code, at: 'rcpt', to: address.address, t: Date.now() });
          cb(smtpError(r.code, r.message ?? (r.code >= 500 ? 'mailbox unavailable' : 'try again later')));
        } else cb();
      })().catch(() => cb(smtpError(451, 'sink error')));
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const to = session.envelope.rcptTo.map((a) => a.address);
        const r = refusal('data', to[0] ?? '');
        if (r) {
          refusals.push({ code: r.code, at: 'data', to: to[0] ?? '', t: Date.now() });
          cb(smtpError(r.code, r.message ?? (r.code >= 500 ? 'message refused' : 'try again later')));
          return;
        }
        const raw = Buffer.concat(chunks);
        const receivedAt = Date.now();
        if (o.replyBeforeParse) cb(null, 'OK: queued');
        void (async () => {
          const parsed = o.headersOnly ? parseHeadersOnly(raw) : await simpleParser(raw);
          const m: ReceivedMail = {
            n: messages.length + 1,
            envelope: { from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '', to },
            raw,
            parsed,
            receivedAt,
            secure: session.secure,
            ...(session.user !== undefined ? { user: String(session.user) } : {}),
          };
          if (o.dir) {
            const id = (parsed.messageId ?? `m${m.n}`).replace(/[^A-Za-z0-9.@_-]/g, '');
            m.file = join(o.dir, `${String(m.n).padStart(4, '0')}-${id}.eml`);
            await writeFile(m.file, raw);
          }
          messages.push(m);
          await hook?.(m);
          if (!o.replyBeforeParse) cb(null, 'OK: queued');
        })().catch((e: unknown) => {
          if (!o.replyBeforeParse) cb(smtpError(451, `sink error: ${(e as Error).message}`));
        });
      });
    },
  });
  server.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject);
    server.listen(o.port ?? 0, o.host ?? '127.0.0.1', () => resolve());
  });
  const port = (server.server.address() as AddressInfo).port;
  const cred = o.auth ? `${encodeURIComponent(o.auth.user)}:${encodeURIComponent(o.auth.pass)}@` : '';
  const tlsQuery = o.starttls ? '?tls.rejectUnauthorized=false' : '';

  return {
    port,
    url: `smtp://${cred}${o.host ?? '127.0.0.1'}:${port}${tlsQuery}`,
    messages,
    refusals,
    refuse(rule) {
      rules.add(rule);
      return () => rules.delete(rule);
    },
    afterStore(h) {
      hook = h;
    },
    beforeRcptReply(h) {
      rcptHook = h;
    },
    async waitFor(pred, timeoutMs = 30_000, what = 'mail') {
      const until = Date.now() + timeoutMs;
      while (!pred(messages)) {
        if (Date.now() > until)
          throw new Error(
            `timed out after ${timeoutMs} ms waiting for ${what}; have ${messages.length}: ${messages.map((m) => `${m.envelope.to.join(',')} «${m.parsed.subject}»`).join(' | ')}`,
          );
        await new Promise((r) => setTimeout(r, 50));
      }
      return messages;
    },
    to(address) {
      return messages.filter((m) => m.envelope.to.some((t) => t.toLowerCase() === address.toLowerCase()));
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function parseHeadersOnly(raw: Buffer): ParsedMail {
  const text = raw.toString('utf8');
  const end = text.search(/\r?\n\r?\n/);
  const block = (end < 0 ? text : text.slice(0, end)).replace(/\r?\n[ \t]+/g, ' ');
  const headers = new Map<string, string>();
  for (const line of block.split(/\r?\n/)) {
    const i = line.indexOf(':');
    if (i > 0) headers.set(line.slice(0, i).trim().toLowerCase(), line.slice(i + 1).trim());
  }
  return {
    headers,
    headerLines: [],
    attachments: [],
    subject: headers.get('subject'),
    messageId: headers.get('message-id'),
  } as unknown as ParsedMail;
}

/** A header of a received mail as a string ('' when absent). */
export function header(m: ReceivedMail, name: string): string {
  const v = m.parsed.headers.get(name.toLowerCase());
  return typeof v === 'string' ? v : v === undefined ? '' : String(v);
}
