/**
 * SMTP through nodemailer's pooled transport, with one addition that makes "never two e-mails"
 * possible: a commit gate. The message's final bytes are held back until `commit()` (a durable
 * mark in Redis that the message is being handed over) has succeeded; only then do they, and the
 * end-of-data dot after them, reach the server. The gate is the outermost stream of the message,
 * which nodemailer reads only once the server has accepted DATA, so:
 *  - a failure before the commit means the server cannot have accepted the message (without the
 *    dot it discards the transaction): safe to send again;
 *  - after the commit, an error that carries an SMTP reply (4xx/5xx to the data) means the server
 *    refused it; anything else (the process died, the connection broke before the reply) leaves
 *    the outcome unknown, and the caller must not send again.
 * Retries are not nodemailer's: BullMQ retries the job with backoff.
 */
import { Readable } from 'node:stream';
import nodemailer from 'nodemailer';
import type { Logger } from '../../lib/logger.js';

export interface OutgoingMail {
  from: string;
  to: { name: string; address: string };
  subject: string;
  text: string;
  html: string;
  messageId: string;
  date: Date;
  headers: Record<string, string>;
  attachments: Array<{ filename: string; content: string; contentType: string }>;
}

export interface SendResult {
  messageId: string;
  response: string;
}

/** A failed send: the nodemailer error, and whether the message had been handed over. */
export class SendError extends Error {
  constructor(
    override readonly cause: Error & { code?: string; responseCode?: number; permanent?: boolean; response?: string },
    readonly committed: boolean,
  ) {
    super(cause.message);
    this.name = 'SendError';
  }

  get responseCode(): number | undefined {
    return this.cause.responseCode;
  }

  /**
   * refused-permanently: a 5xx reply (final, dead-letter); retry: a 4xx reply, or no reply before
   * the hand-over (connection refused, timeout, TLS, auth ...); uncertain: no reply after it.
   */
  get verdict(): 'refused-permanently' | 'retry' | 'uncertain' {
    const code = this.cause.responseCode;
    if (code !== undefined) return (this.cause.permanent ?? code >= 500) ? 'refused-permanently' : 'retry';
    return this.committed ? 'uncertain' : 'retry';
  }
}

export interface MailTransport {
  /** Sends one message; `commit` is awaited before its last bytes go out. Throws SendError. */
  send(mail: OutgoingMail, commit: () => Promise<void>, signal?: AbortSignal): Promise<SendResult>;
  close(): Promise<void>;
}

export interface SmtpTransportOptions {
  /** SMTP_URL: smtp://user:pass@host:port (STARTTLS when offered) or smtps://… ; query keys such as tls.rejectUnauthorized=false pass through. */
  url: string;
  maxConnections?: number;
  /** Every SMTP wait (connect, greeting, each reply) is bounded by this. */
  timeoutMs?: number;
  log?: Logger;
}

/** Holds the last chunk of `input` until `commit` resolves; read only when the server took DATA. */
export function commitGate(input: Readable, commit: () => Promise<void>): Readable {
  return Readable.from(
    (async function* gate() {
      let held: Buffer | undefined;
      for await (const chunk of input) {
        if (held) yield held;
        held = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string);
      }
      await commit();
      if (held) yield held;
    })(),
    { objectMode: false },
  );
}

type GatedMail = { tjCommit?: () => Promise<void> };

export function createSmtpTransport(o: SmtpTransportOptions): MailTransport {
  const timeout = o.timeoutMs ?? 30_000;
  const transporter = nodemailer.createTransport({
    url: o.url,
    pool: true,
    maxConnections: o.maxConnections ?? 4,
    maxMessages: 100,
    connectionTimeout: timeout,
    greetingTimeout: timeout,
    socketTimeout: timeout,
    // nodemailer does not retry; BullMQ does, with backoff, and knows what was handed over.
    logger: false,
  } as unknown as Parameters<typeof nodemailer.createTransport>[0]);
  transporter.use('stream', (mail, done) => {
    const commit = (mail.data as GatedMail).tjCommit;
    if (commit) mail.message.processFunc((input: Readable) => commitGate(input, commit));
    done();
  });
  transporter.on('error', (e: Error) => o.log?.warn({ err: e.message }, 'smtp pool error'));

  return {
    async send(mail, commit, signal) {
      let committed = false;
      const tjCommit = async (): Promise<void> => {
        await commit();
        committed = true;
      };
      try {
        const info = (await transporter.sendMail({
          from: mail.from,
          to: { name: mail.to.name, address: mail.to.address },
          subject: mail.subject,
          text: mail.text,
          html: mail.html,
          messageId: mail.messageId,
          date: mail.date,
          headers: mail.headers,
          attachments: mail.attachments,
          envelope: { from: envelopeFrom(mail.from), to: [mail.to.address] },
          ...(signal ? { signal } : {}),
          tjCommit,
        } as Parameters<typeof transporter.sendMail>[0])) as { messageId: string; response: string };
        return { messageId: info.messageId, response: info.response };
      } catch (e) {
        throw new SendError(e as SendError['cause'], committed);
      }
    },
    async close() {
      transporter.close();
    },
  };
}

/** The bare address of a From header (`Name <a@b>` -> a@b). */
export function envelopeFrom(from: string): string {
  return /<([^>]+)>\s*$/.exec(from)?.[1] ?? from.trim();
}
