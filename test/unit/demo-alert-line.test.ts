import { describe, expect, it } from 'vitest';
import { alertLine } from '../../demo/alert-line.js';

describe('the demo’s alert line', () => {
  it('rounds a value the way people read it, not as the sum that made it', () => {
    expect(alertLine({ to: 'firing', station: 'gongchengpu', parameter: 'NH3N', rule: 'limit', value: 8.149000000000001, limit: 1 })).toBe(
      'ALERT FIRING gongchengpu NH3N [limit] value 8.149 (limit 1)',
    );
    expect(alertLine({ to: 'resolved', station: 'ziyang-city', parameter: 'NH3N', rule: 'rate', value: 0.1 + 0.2, limit: null })).toBe(
      'ALERT RESOLVED ziyang-city NH3N [rate] value 0.3',
    );
    expect(alertLine({ to: 'firing', station: 'hongyuan', parameter: 'station', rule: 'silence', value: null, limit: null })).toBe(
      'ALERT FIRING hongyuan station [silence]',
    );
  });
});
