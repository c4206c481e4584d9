/**
 * Unit conversion to the catalogue units, for stations whose loggers send other units (registry
 * `units:`). Only conversions that are pure scale factors are supported: a station that sends
 * something else must be fixed at the logger, not guessed at here.
 */
export const SUPPORTED_UNITS = [
  'mg/L',
  'µg/L',
  'ug/L',
  'µg/m³',
  'ug/m3',
  'mg/m³',
  'mg/m3',
  '°C',
  'µS/cm',
  'uS/cm',
  'mS/cm',
  'NTU',
  'pH',
  'per L',
  'per 100 mL',
] as const;
export type Unit = (typeof SUPPORTED_UNITS)[number];

const CANONICAL: Record<Unit, { to: string; factor: number }> = {
  'mg/L': { to: 'mg/L', factor: 1 },
  'µg/L': { to: 'mg/L', factor: 0.001 },
  'ug/L': { to: 'mg/L', factor: 0.001 },
  'µg/m³': { to: 'µg/m³', factor: 1 },
  'ug/m3': { to: 'µg/m³', factor: 1 },
  'mg/m³': { to: 'mg/m³', factor: 1 },
  'mg/m3': { to: 'mg/m³', factor: 1 },
  '°C': { to: '°C', factor: 1 },
  'µS/cm': { to: 'µS/cm', factor: 1 },
  'uS/cm': { to: 'µS/cm', factor: 1 },
  'mS/cm': { to: 'µS/cm', factor: 1000 },
  NTU: { to: 'NTU', factor: 1 },
  pH: { to: 'pH', factor: 1 },
  'per L': { to: 'per L', factor: 1 },
  'per 100 mL': { to: 'per L', factor: 10 },
};

/** The factor turning a value in `from` into the catalogue unit `to`, or undefined if incompatible. */
export function conversionFactor(from: Unit, to: string): number | undefined {
  const c = CANONICAL[from];
  return c.to === to ? c.factor : undefined;
}
