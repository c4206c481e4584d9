import { describe, expect, it } from 'vitest';
import { quietUntil } from '../../alerts/notify/quiet-hours.js';

const at = (cst: string) => Date.parse(`${cst}+08:00`);

describe('quiet hours (China Standard Time)', () => {
  const night = { from: '23:00', to: '07:00' };

  it('across midnight: held until 07:00 the next morning, or the same morning', () => {
    expect(quietUntil(at('2026-05-01T23:00:00'), night)).toBe(at('2026-05-02T07:00:00'));
    expect(quietUntil(at('2026-05-01T23:59:59'), night)).toBe(at('2026-05-02T07:00:00'));
    expect(quietUntil(at('2026-05-02T00:00:00'), night)).toBe(at('2026-05-02T07:00:00'));
    expect(quietUntil(at('2026-05-02T06:59:59'), night)).toBe(at('2026-05-02T07:00:00'));
  });

  it('outside them (the end is exclusive, the start inclusive): not held', () => {
    expect(quietUntil(at('2026-05-02T07:00:00'), night)).toBeNull();
    expect(quietUntil(at('2026-05-02T12:00:00'), night)).toBeNull();
    expect(quietUntil(at('2026-05-02T22:59:59'), night)).toBeNull();
  });

  it('within one day, and none at all', () => {
    const lunch = { from: '12:00', to: '13:30' };
    expect(quietUntil(at('2026-05-02T12:10:00'), lunch)).toBe(at('2026-05-02T13:30:00'));
    expect(quietUntil(at('2026-05-02T13:30:00'), lunch)).toBeNull();
    expect(quietUntil(at('2026-05-02T11:59:00'), lunch)).toBeNull();
    expect(quietUntil(at('2026-05-02T03:00:00'), null)).toBeNull();
  });
});
