import { describe, expect, it } from 'vitest';
import { aqiLevel, exceedanceRatio, severityOf } from '../../alerts/notify/severity.js';
import { StationRegistry } from '../../config/station-registry.js';
import { alertEvent, shipped, testRecipients } from '../helpers/notify-stack.js';

const registry = new StationRegistry(shipped.registry);
const policy = testRecipients().severity;
const T0 = Date.parse('2026-05-01T00:00:00+08:00');
const sev = (station: string, e: Partial<Parameters<typeof alertEvent>[0]>) =>
  severityOf(alertEvent({ station, kind: 'firing', at: T0, ...e }), registry.get(station)!, policy);

describe('severity', () => {
  it('a limit exceeded by the configured factor (2) is severe, less is a warning', () => {
    expect(sev('hongyuan', { value: 1.99, limit: 1 })).toBe('warning');
    expect(sev('hongyuan', { value: 2, limit: 1 })).toBe('severe');
    expect(sev('hongyuan', { value: 51.3, limit: 1 })).toBe('severe');
  });

  it('a lower bound (DO) is severe at half the limit or less', () => {
    const detail = { unit: 'mg/L', limitKind: 'min' as const, limitText: '≥ 5' };
    expect(exceedanceRatio({ value: 2.5, limit: 5, detail })).toBe(2);
    expect(sev('hongyuan', { parameter: 'DO', value: 2.5, limit: 5, detail })).toBe('severe');
    expect(sev('hongyuan', { parameter: 'DO', value: 4, limit: 5, detail })).toBe('warning');
  });

  it('toxic items and drinking-water intakes are severe at any exceedance', () => {
    expect(sev('hongyuan', { parameter: 'Hg', value: 0.00011, limit: 0.0001 })).toBe('severe');
    expect(sev('shiqiao', { value: 0.81, limit: 0.8 })).toBe('severe');
  });

  it('water class: 劣V is severe; AQI: 重度污染 and worse', () => {
    expect(sev('hongyuan', { rule: 'water_class', parameter: 'class', value: 6, limit: 3, detail: { cls: '劣V', target: 'III' } })).toBe(
      'severe',
    );
    expect(sev('hongyuan', { rule: 'water_class', parameter: 'class', value: 5, limit: 3, detail: { cls: 'V', target: 'III' } })).toBe(
      'warning',
    );
    expect(sev('ziyang-yanjiang', { rule: 'aqi', parameter: 'AQI', value: 201, limit: 101, detail: {} })).toBe('severe');
    expect(sev('ziyang-yanjiang', { rule: 'aqi', parameter: 'AQI', value: 200, limit: 101, detail: {} })).toBe('warning');
    expect([0, 50, 51, 100, 101, 150, 151, 200, 201, 300, 301].map(aqiLevel)).toEqual([1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6]);
  });

  it('resolves, equipment and silence are information', () => {
    expect(severityOf(alertEvent({ station: 'hongyuan', kind: 'resolved', at: T0, value: 9 }), registry.get('hongyuan')!, policy)).toBe(
      'info',
    );
    expect(sev('hongyuan', { rule: 'silence', parameter: 'silence', value: 40, limit: 30, detail: { lastSeenAt: null } })).toBe('info');
  });
});
