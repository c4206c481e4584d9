/**
 * Colours of the water classes and AQI categories as drawn on the dashboards.
 */
import { AQI_CATEGORIES, CLASS_ORDER, WATER_CLASS_LABEL_EN, type WaterClass } from '../lib/standards/index.js';

/**
 * GB 3838 defines no colours. These are the ones Chinese water-quality bulletins customarily use
 * (I–II blue, III green, IV yellow, V orange, 劣V red): our convention, not the standard's.
 */
export const WATER_CLASS_COLOR: Readonly<Record<WaterClass, string>> = {
  I: '#1E90FF',
  II: '#00BFFF',
  III: '#22B14C',
  IV: '#F2D600',
  V: '#FF8C00',
  劣V: '#E02020',
};

/**
 * HJ 633 names the category colours (lib/standards/hj633.ts AQI_CATEGORIES[].color); these are the
 * RGB values published with HJ 633-2012 (green 0,228,0 · yellow 255,255,0 · orange 255,126,0 ·
 * red 255,0,0 · purple 153,0,76 · maroon 126,0,35; secondary: not checked against the 2026 text).
 * Grafana's own "green"/"yellow"… are other shades, hence hex.
 */
export const AQI_COLOR_RGB: Readonly<Record<string, string>> = {
  green: '#00E400',
  yellow: '#FFFF00',
  orange: '#FF7E00',
  red: '#FF0000',
  purple: '#99004C',
  maroon: '#7E0023',
};

export function aqiColor(name: string): string {
  const hex = AQI_COLOR_RGB[name];
  if (!hex) throw new Error(`no RGB for AQI colour "${name}" (lib/standards/hj633.ts)`);
  return hex;
}

/** Class I..劣V as the numbers 1..6 that the class queries return. */
export const CLASS_NUMBER: ReadonlyMap<number, WaterClass> = new Map(CLASS_ORDER.map((c, i) => [i + 1, c]));

export const classLabel = (c: WaterClass): string => `${c === '劣V' ? '劣V' : c} ${WATER_CLASS_LABEL_EN[c]}`;

/** The AQI categories, best first, with their drawing colour. */
export const AQI_BANDS = AQI_CATEGORIES.map((c) => ({ ...c, hex: aqiColor(c.color) }));

export const NO_DATA_COLOR = '#8E8E8E';
export const LIMIT_LINE_COLOR = '#C4162A';
