/**
 * A flood of dead letters from one station writes a line per window, not one per dead letter, and
 * the next line says how many were not logged; other stations and reasons still get their own lines.
 */
import { describe, expect, it } from 'vitest';
import { DeadLetterLog } from '../../ingest/dead-letter-log.js';
import type { DeadLetter } from '../../ingest/journal.js';
import { capturedLogger as capture } from '../helpers/captured-log.js';

const dead = (station: string | undefined, reason: string): DeadLetter => ({
  reason,
  message: `${reason} from ${station ?? 'nobody'}`,
  topic: `tuojiang/water/${station ?? 'x'}`,
  payload: Buffer.from('x'),
  receivedAt: 0,
  station,
});

describe('DeadLetterLog', () => {
  it('logs the first dead letter of a station and reason per window, then how many it did not', async () => {
    const { lines, log } = capture();
    let now = 1_000;
    const dl = new DeadLetterLog(log, 10_000, () => now);
    for (let i = 0; i < 500; i++) dl.write(dead('zhaozhen', 'TJ_SPLIT_LIMIT'));
    dl.write(dead('huaikou', 'TJ_SPLIT_LIMIT'));
    dl.write(dead('zhaozhen', 'TJ_MALFORMED_FRAME'));
    dl.write(dead(undefined, 'TJ_UNKNOWN_STATION'));
    now += 9_999;
    dl.write(dead('zhaozhen', 'TJ_SPLIT_LIMIT'));
    now += 1;
    dl.write(dead('zhaozhen', 'TJ_SPLIT_LIMIT'));
    await new Promise((r) => setImmediate(r));

    expect(lines.map((l) => [l.station, l.code, l.notLogged])).toEqual([
      ['zhaozhen', 'TJ_SPLIT_LIMIT', undefined],
      ['huaikou', 'TJ_SPLIT_LIMIT', undefined],
      ['zhaozhen', 'TJ_MALFORMED_FRAME', undefined],
      [undefined, 'TJ_UNKNOWN_STATION', undefined],
      ['zhaozhen', 'TJ_SPLIT_LIMIT', 500],
    ]);
    expect(lines[4]!.msg).toMatch(/^TJ_SPLIT_LIMIT from zhaozhen \(and 500 more dead letters of this station and reason not logged/);
    expect(lines[0]!.msg).toBe('TJ_SPLIT_LIMIT from zhaozhen');
    expect(lines.every((l) => l.level === 40 && l.event === 'reading dead-lettered')).toBe(true);
  });
});
