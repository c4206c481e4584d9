import type { RegistryConfig, StationConfig } from './schema.js';
import { FACTOR_CODE_TO_KEY, PARAMETER_BY_KEY } from '../lib/parameters.js';
import { conversionFactor, type Unit } from '../lib/units.js';
import { STRICT, type Hj212Tolerance } from '../lib/hj212-tolerance.js';

export type Station = StationConfig;

/** Lookups over the validated registry: by id, by HJ 212 MN, factor codes and unit scaling per station. */
export class StationRegistry {
  readonly stations: readonly Station[];
  readonly cities: RegistryConfig['cities'];
  readonly rivers: RegistryConfig['rivers'];
  private readonly byId = new Map<string, Station>();
  private readonly byMn = new Map<string, Station>();
  private readonly scale = new Map<string, Map<string, number>>();
  private readonly tolerances = new Map<string, Hj212Tolerance>();

  constructor(config: RegistryConfig) {
    this.stations = config.stations;
    this.cities = config.cities;
    this.rivers = config.rivers;
    for (const s of config.stations) {
      this.byId.set(s.id, s);
      this.byMn.set(s.mn.toUpperCase(), s);
      const factors = new Map<string, number>();
      for (const [param, unit] of Object.entries(s.units)) {
        const info = PARAMETER_BY_KEY.get(param);
        const f = info ? conversionFactor(unit as Unit, info.unit) : undefined;
        if (f !== undefined && f !== 1) factors.set(param, f);
      }
      this.scale.set(s.id, factors);
      this.tolerances.set(s.id, { crc: s.hj212.crc, lenient: new Set(s.hj212.lenient) });
    }
  }

  get(id: string): Station | undefined {
    return this.byId.get(id);
  }

  /** MNs are hex by the standard; loggers differ in case, so the lookup ignores it. */
  byMN(mn: string): Station | undefined {
    return this.byMn.get(mn.toUpperCase());
  }

  /** What the HJ 212 logger with this MN may deviate in; the standard for an unknown MN. */
  hj212Tolerance(mn: string | undefined): Hj212Tolerance {
    const station = mn === undefined ? undefined : this.byMN(mn);
    return (station && this.tolerances.get(station.id)) ?? STRICT;
  }

  /** The canonical key for an HJ 212 factor code at this station, 'ignore', or undefined if unknown. */
  factorKey(station: Station, code: string): string | 'ignore' | undefined {
    if (station.ignore_factors.includes(code)) return 'ignore';
    // factor codes come off the wire: never let one resolve to an inherited member such as "constructor".
    return (Object.hasOwn(station.factor_codes, code) ? station.factor_codes[code] : undefined) ?? FACTOR_CODE_TO_KEY.get(code);
  }

  /** Multiplier from the station's sending unit to the catalogue unit (1 when the same). */
  unitScale(stationId: string, param: string): number {
    return this.scale.get(stationId)?.get(param) ?? 1;
  }

  /** Water sections of a river, upstream first. */
  riverSections(river: string): Station[] {
    return this.stations.filter((s) => s.kind === 'water' && s.river === river).sort((a, b) => (a.river_km ?? 0) - (b.river_km ?? 0));
  }
}
