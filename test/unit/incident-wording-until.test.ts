/**
 * The time to the next intake on a page read hours after the report (the ack page): ahead, under
 * way, or passed; the e-mail's wording (relative to the report's time) is unchanged.
 */
import { describe, expect, it } from 'vitest';
import { hoursFrom, untilText } from '../../alerts/incidents/wording.js';

const H = 3_600_000;
const T = Date.parse('2026-12-05T00:00:00+08:00');
const W = { from: T + 10 * H, to: T + 20 * H };

describe('untilText', () => {
  it('ahead of the window: as the e-mail says it, from now', () => {
    expect(untilText(T, W, 'zh')).toBe('约 10–20 小时后');
    expect(untilText(T + 4 * H, W, 'en')).toBe('in about 6–16 h');
    expect(untilText(T, W, 'zh')).toBe(hoursFrom(T, W, 'zh'));
  });

  it('inside the window: says so and until when, never "in 0–5 h"', () => {
    expect(untilText(T + 12 * H, W, 'zh')).toBe('已进入预计到达时段，至 12-05 20:00');
    expect(untilText(T + 12 * H, W, 'en')).toBe('inside the expected window, until 12-05 20:00 CST');
  });

  it('past the window without an arrival: how long past', () => {
    expect(untilText(T + 23 * H, W, 'zh')).toBe('已超过预计时段约 3 小时，尚未到达');
    expect(untilText(T + 20 * H + 60_000, W, 'en')).toBe('about 1 h past the expected window, not arrived');
  });
});
