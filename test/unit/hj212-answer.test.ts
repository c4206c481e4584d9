import { describe, expect, it } from 'vitest';
import { hj212Crc } from '../../ingest/hj212/crc.js';
import { encodeFrame, epochMsToQn, flagHasSplit, flagVersion, flagWantsAnswer, parseFrame } from '../../ingest/hj212/frame.js';
import { buildDataAnswer } from '../../ingest/hj212/answer.js';

const REQUEST = parseFrame(
  encodeFrame({
    qn: '20260301080000123',
    st: '21',
    cn: '2061',
    pw: '123456',
    mn: '010000A8900016F000169DC0',
    flag: 5,
    cp: 'DataTime=20260301070000;w21003-Avg=0.42,w21003-Flag=N',
  }),
);
const NOW = Date.UTC(2026, 2, 1, 0, 0, 5, 250);

describe('buildDataAnswer (CN 9014)', () => {
  it('echoes QN, PW and MN with ST=91, CN=9014, Flag=4 and an empty CP', () => {
    const segment = 'QN=20260301080000123;ST=91;CN=9014;PW=123456;MN=010000A8900016F000169DC0;Flag=4;CP=&&&&';
    expect(buildDataAnswer(REQUEST, NOW)).toBe(`##${String(segment.length).padStart(4, '0')}${segment}${hj212Crc(segment)}\r\n`);
  });

  it('is a valid frame: length, CRC and fields parse back', () => {
    const answer = buildDataAnswer(REQUEST, NOW);
    const m = /^##(\d{4})(.*)([0-9A-F]{4})\r\n$/.exec(answer);
    expect(m).not.toBeNull();
    expect(Number(m![1])).toBe(Buffer.byteLength(m![2]!));
    expect(m![3]).toBe(hj212Crc(m![2]!));
    const f = parseFrame(answer);
    expect(f).toMatchObject({ qn: REQUEST.qn, st: '91', cn: '9014', pw: '123456', mn: REQUEST.mn, flag: 4 });
    expect(f.cp).toEqual({ items: {}, other: {} });
    expect(flagWantsAnswer(f.flag)).toBe(false);
    expect(flagHasSplit(f.flag)).toBe(false);
    expect(flagVersion(f.flag)).toBe(1);
  });

  it('makes a QN from nowMs when the request has none, and omits an absent PW', () => {
    const old = parseFrame(encodeFrame({ st: '32', cn: '2011', mn: '88888880000001', cp: 'DataTime=20040516020111;060-Rtd=0.4' }));
    const f = parseFrame(buildDataAnswer(old, NOW));
    expect(f.qn).toBe(epochMsToQn(NOW));
    expect(f.qn).toBe('20260301080005250');
    expect(f.pw).toBeUndefined();
    expect(f.mn).toBe('88888880000001');
  });
});
