import { TuojiangError } from '../../lib/errors.js';
import { frameToRawReading, stationOfFrame } from '../decode-hj212.js';
import { buildDataAnswer } from '../hj212/answer.js';
import { flagHasSplit, flagWantsAnswer, parseFrame } from '../hj212/frame.js';
import type { Decoded, Decoder } from './decoder.js';

/** An HJ 212 frame starts with `##` (after any whitespace). */
function looksLikeFrame(payload: Buffer): boolean {
  let i = 0;
  while (i < payload.length && (payload[i] === 0x20 || payload[i] === 0x0a || payload[i] === 0x0d || payload[i] === 0x09)) i++;
  return payload[i] === 0x23 && payload[i + 1] === 0x23;
}

/**
 * HJ 212-2017 frames, with each station's tolerances (stations.yaml `hj212:`) chosen by the frame's
 * MN. The data answer is queued as soon as the station is known, so a frame refused later (a bad
 * value) is still answered once its dead letter is durable: re-sending it would not help.
 */
export const hj212Decoder: Decoder = {
  name: 'hj212',
  accepts: looksLikeFrame,
  decode(payload, ctx): Decoded | Promise<Decoded> {
    const { registry, topicInfo, sender } = ctx;
    const tolerance = (mn: string | undefined) => registry.hj212Tolerance(mn);
    const frame = parseFrame(payload, tolerance);
    // Identify the station before anything else so an answer only ever goes to a known station.
    const station = stationOfFrame(frame, topicInfo, registry, sender);
    if (flagWantsAnswer(frame.flag)) ctx.answer(station.id, buildDataAnswer(frame, ctx.receivedAt));
    if (!(flagHasSplit(frame.flag) && frame.pnum !== undefined && frame.pnum > 1)) {
      return { raw: frameToRawReading(frame, topicInfo, registry) };
    }
    if (frame.pno === undefined || frame.pno < 1 || frame.pno > frame.pnum) {
      throw new TuojiangError('MALFORMED_FRAME', `PNO ${frame.pno} outside 1..PNUM ${frame.pnum}`);
    }
    return ctx.splitStore.add(frame, payload.toString('utf8').trim(), ctx.receivedAt, tolerance).then(
      (r): Decoded => {
        if (r.status !== 'complete') return {};
        try {
          return { raw: frameToRawReading(r.frame, topicInfo, registry), onDurable: r.release };
        } catch (e) {
          return { error: e, onDurable: r.release };
        }
      },
      (e: unknown): Decoded => ({ error: e }),
    );
  },
};
