/**
 * CONTRIBUTING.md's recipes, followed literally where they can be: the template channel compiles
 * against the Channel interface (tsc runs over test/) and behaves as the recipe says against a
 * real HTTP server — delivered once after the commit, 5xx retried, 4xx refused, a hang-up after
 * the body uncertain. (That a channel's rendering gives the same bytes on every attempt is shown
 * for the webhook in notify-channels.test.ts.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Batch } from '../../alerts/notify/channels/channel.js';
import { DeliveryError } from '../../alerts/notify/channels/channel.js';
import { plainTextChannel } from '../templates/channel-template.js';
import { startHttpRecorder, type HttpRecorder } from '../helpers/http-recorder.js';

let server: HttpRecorder;
beforeAll(async () => {
  server = await startHttpRecorder({ status: 204 });
});
afterAll(async () => server?.close());

const batch = { batchId: 'b-template-1', recipient: { key: 'k', bureau: 'chengdu', name: 'Duty', email: 'duty@x.test', list: 'duty' }, items: [], closedAt: 0 } as Batch;
const body = Buffer.from('【告警】沱江 NH3N 1.6 mg/L\n\ntext');

async function outcome(commit: () => Promise<void> = async () => undefined) {
  const channel = plainTextChannel({ env: { TJ_PLAIN_TEXT_URL: `${server.url}/notices` } });
  return channel.send(body, batch, commit, AbortSignal.timeout(5000)).catch((e: unknown) => e);
}

describe('the template channel of CONTRIBUTING.md', () => {
  it('delivers once, after the commit, with the batch id as idempotency key', async () => {
    let before = -1;
    const r = await outcome(async () => { before = server.requests.length; });
    expect(r).toEqual({ ref: 'b-template-1', response: 'HTTP 204' });
    expect(before).toBe(0);
    expect(server.requests).toHaveLength(1);
    expect(server.requests[0]!.headers['idempotency-key']).toBe('b-template-1');
    expect(server.requests[0]!.body.equals(body)).toBe(true);
  });

  it('maps the answers to the shared verdicts: 5xx retry, 4xx refused, no answer uncertain', async () => {
    server.script({ status: 503 }, { status: 400 }, { hangUp: true });
    expect(await outcome()).toMatchObject({ verdict: 'retry' });
    expect(await outcome()).toMatchObject({ verdict: 'refused-permanently' });
    const hung = await outcome();
    expect(hung).toBeInstanceOf(DeliveryError);
    expect(hung).toMatchObject({ verdict: 'uncertain' });
  });

  it('refuses to start without its URL, naming the variable', () => {
    expect(() => plainTextChannel({ env: {} })).toThrow(/TJ_PLAIN_TEXT_URL is not set/);
  });
});
