/**
 * The data answer (CN 9014) a station expects when its packet's Flag has bit A set. Sending it is
 * the caller's decision (flagWantsAnswer); a logger that gets no answer resends, and the resent
 * packet is a duplicate the pipeline already absorbs.
 */
import { encodeFrame, epochMsToQn } from './frame.js';
import type { Hj212Frame } from './frame.js';

/**
 * `QN=<request QN>;ST=91;CN=9014;PW=<echo>;MN=<echo>;Flag=4;CP=&&&&` as a complete frame. QN echoes
 * the request so the station can match the answer to it; Flag=4 is version 2017 with no answer
 * wanted. A request without QN (2005 style) gets a QN made from nowMs.
 */
export function buildDataAnswer(frame: Hj212Frame, nowMs: number): string {
  return encodeFrame({
    qn: frame.qn ?? epochMsToQn(nowMs),
    st: '91',
    cn: '9014',
    pw: frame.pw,
    mn: frame.mn,
    flag: 4,
    cp: '',
  });
}
