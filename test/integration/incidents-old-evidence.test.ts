/**
 * Evidence older than the week a closed incident is kept (a logger uploading what it buffered
 * through a long outage, a replay) on real Redis: the incident it closes is issued its final report,
 * and the scope — every section of that river for that pollutant family — keeps working afterwards.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADDR, alertEvent, startNotifyServices, startNotifyStack, type NotifyServices } from '../helpers/notify-stack.js';
import { header } from '../helpers/smtp-sink.js';

const H = 3_600_000;
let services: NotifyServices;

beforeAll(async () => {
  services = await startNotifyServices(false);
});
afterAll(async () => {
  await services?.stopAll();
});

describe('incidents from evidence more than a week old', () => {
  it('close with a 终报 and do not wedge the scope: a new spill on the same river still gets its 初报', async () => {
    const stack = await startNotifyStack(services, {
      incidents: true,
      recipients: (r) => {
        r.incidents.reorder_s = 0;
      },
    });
    try {
      const old = Date.now() - 10 * 24 * H;
      await stack.emit(alertEvent({ station: 'hongyuan', kind: 'firing', at: old }));
      await stack.sink.waitFor((m) => m.length >= 2, 30_000, 'the 初报 of the old spill');
      // Back within limits ten days ago: the close is long due when the clear arrives.
      await stack.emit(alertEvent({ station: 'hongyuan', kind: 'resolved', at: old + H, value: 0.4 }));
      await stack.sink.waitFor(
        (m) => m.filter((x) => header(x, 'x-tuojiang-report').startsWith('final')).length >= 2,
        30_000,
        'the 终报 of the old spill',
      );

      const now = Date.now() - H;
      await stack.emit(alertEvent({ station: 'hongyuan', kind: 'firing', at: now }));
      await stack.sink.waitFor(
        (m) => m.filter((x) => header(x, 'x-tuojiang-report') === 'initial 1').length >= 4,
        30_000,
        'the 初报 of the new spill',
      );
      await stack.idle({ delayed: true });
      for (const addr of [ADDR.chengdu, ADDR.ziyang]) {
        const mails = stack.sink.to(addr).map((m) => `${header(m, 'x-tuojiang-report')} ${header(m, 'x-tuojiang-incident')}`);
        expect(mails).toEqual([
          `initial 1 inc.r.tuojiang.nitrogen.${old}`,
          `final 2 inc.r.tuojiang.nitrogen.${old}`,
          `initial 1 inc.r.tuojiang.nitrogen.${now}`,
        ]);
      }
      const failed = await stack.redis.zcard(`${stack.prefix}:notify-incident:failed`);
      expect(failed).toBe(0);
    } finally {
      await stack.close();
    }
  });
});
