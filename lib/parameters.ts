/**
 * The catalogue of canonical parameters (README, wire contract): key, medium, unit, the HJ 212
 * factor codes that carry it, and the plausible range outside which a value is refused.
 * Everything that names a parameter (decoders, validation, standards, dashboards) reads it from here.
 */
export type Medium = 'water' | 'air';

export interface ParameterInfo {
  key: string;
  medium: Medium;
  unit: string;
  nameZh: string;
  nameEn: string;
  /** HJ 212-2017 factor code(s), and 2005-style codes where the standard gives them (docs/domain.md §3). */
  hj212?: readonly string[];
  /**
   * Inclusive plausible range, in `unit`. The lower end is physical (no negative concentration); the
   * upper end lies far above any pollution event on record yet far below float overflow, so that a
   * logger's scaling error (1e308) can never turn InfluxDB's mean()/sum() into +Inf. Each bound is
   * justified in docs/parameters.md; a value outside is refused alone (TJ_IMPLAUSIBLE_VALUE).
   */
  min: number;
  max: number;
}

const W = (key: string, unit: string, nameZh: string, nameEn: string, hj212: string[], max: number, min = 0): ParameterInfo => ({
  key,
  medium: 'water',
  unit,
  nameZh,
  nameEn,
  hj212,
  min,
  max,
});
const A = (key: string, unit: string, nameZh: string, nameEn: string, hj212: string[], max: number): ParameterInfo => ({
  key,
  medium: 'air',
  unit,
  nameZh,
  nameEn,
  hj212,
  min: 0,
  max,
});

export const PARAMETERS: readonly ParameterInfo[] = [
  W('temp', '°C', '水温', 'Water temperature', ['w01010'], 60, -5),
  W('pH', 'pH', 'pH', 'pH', ['w01001', '001'], 14),
  W('DO', 'mg/L', '溶解氧', 'Dissolved oxygen', ['w01009'], 50),
  W('cond', 'µS/cm', '电导率', 'Conductivity', ['w01014'], 500_000),
  W('turb', 'NTU', '浊度', 'Turbidity', ['w01003'], 100_000),
  W('CODMn', 'mg/L', '高锰酸盐指数', 'Permanganate index', ['w01019'], 10_000),
  W('COD', 'mg/L', '化学需氧量', 'Chemical oxygen demand', ['w01018', '011'], 200_000),
  W('BOD5', 'mg/L', '五日生化需氧量', 'Five-day BOD', ['w01017', '010'], 100_000),
  W('NH3N', 'mg/L', '氨氮', 'Ammonia nitrogen', ['w21003', '060'], 10_000),
  W('TP', 'mg/L', '总磷', 'Total phosphorus', ['w21011', '101'], 1_000),
  W('TN', 'mg/L', '总氮', 'Total nitrogen', ['w21001', '065'], 10_000),
  W('Cu', 'mg/L', '铜', 'Copper', [], 1_000),
  W('Zn', 'mg/L', '锌', 'Zinc', [], 1_000),
  W('F', 'mg/L', '氟化物', 'Fluoride', [], 10_000),
  W('Se', 'mg/L', '硒', 'Selenium', [], 100),
  W('As', 'mg/L', '砷', 'Arsenic', [], 1_000),
  W('Hg', 'mg/L', '汞', 'Mercury', [], 100),
  W('Cd', 'mg/L', '镉', 'Cadmium', [], 100),
  W('Cr6', 'mg/L', '六价铬', 'Chromium (VI)', [], 1_000),
  W('Pb', 'mg/L', '铅', 'Lead', [], 100),
  W('CN', 'mg/L', '氰化物', 'Cyanide', [], 1_000),
  W('phenol', 'mg/L', '挥发酚', 'Volatile phenol', [], 10_000),
  W('petroleum', 'mg/L', '石油类', 'Petroleum', [], 1_000_000),
  W('LAS', 'mg/L', '阴离子表面活性剂', 'Anionic surfactant (LAS)', [], 10_000),
  W('sulfide', 'mg/L', '硫化物', 'Sulfide', [], 10_000),
  W('fecal_coliform', 'per L', '粪大肠菌群', 'Fecal coliform', [], 1e11),
  A('PM2_5', 'µg/m³', '细颗粒物', 'PM2.5', ['a34004'], 20_000),
  A('PM10', 'µg/m³', '可吸入颗粒物', 'PM10', ['a34002'], 50_000),
  A('SO2', 'µg/m³', '二氧化硫', 'Sulphur dioxide', ['a21026'], 100_000),
  A('NO2', 'µg/m³', '二氧化氮', 'Nitrogen dioxide', ['a21004'], 100_000),
  A('CO', 'mg/m³', '一氧化碳', 'Carbon monoxide', ['a21005'], 1_000),
  A('O3', 'µg/m³', '臭氧', 'Ozone', ['a05024'], 10_000),
];

export const PARAMETER_BY_KEY: ReadonlyMap<string, ParameterInfo> = new Map(PARAMETERS.map((p) => [p.key, p]));

/** Default HJ 212 factor code -> canonical key; stations may add their own mappings in the registry. */
export const FACTOR_CODE_TO_KEY: ReadonlyMap<string, string> = new Map(
  PARAMETERS.flatMap((p) => (p.hj212 ?? []).map((code) => [code, p.key] as const)),
);

export function parametersOf(medium: Medium): ParameterInfo[] {
  return PARAMETERS.filter((p) => p.medium === medium);
}

/** HJ 212 data flags (docs/domain.md §3). */
export const DATA_FLAGS = ['N', 'F', 'M', 'S', 'D', 'C', 'T', 'B'] as const;
export type DataFlag = (typeof DATA_FLAGS)[number];
export function isDataFlag(s: unknown): s is DataFlag {
  return typeof s === 'string' && (DATA_FLAGS as readonly string[]).includes(s);
}
/** Flags whose values describe the river (T is a real value above the measuring range). */
export const POLLUTION_RELEVANT_FLAGS: ReadonlySet<DataFlag> = new Set(['N', 'T']);
