/**
 * What every dashboard is generated from: the station registry, the unified thresholds in force,
 * and the date whose standards the dashboards draw (GB 3095 limits and HJ 633 breakpoints change
 * with the date; committed dashboards are regenerated when they do, see generate.ts).
 */
import { join } from 'node:path';
import { loadThresholdsFile, stationProfile, THRESHOLDS_FILE, type StationProfile, type ThresholdSet } from '../alerts/thresholds.js';
import { loadConfig, type LoadedConfig } from '../config/load.js';
import { StationRegistry, type Station } from '../config/station-registry.js';
import { aqiStandardFor, type AqiStandard } from '../lib/standards/index.js';

export interface BuildContext {
  registry: StationRegistry;
  thresholds: ThresholdSet;
  asOf: Date;
  /** Where Grafana serves the station gazetteer (geomap lookup) and the GeoJSON of all stations. */
  gazetteerUrl: string;
  geojsonUrl: string;
}

export const GAZETTEER_FILE = 'tuojiang-stations.json';
export const GEOJSON_FILE = 'tuojiang-stations.geojson';
/** Grafana serves files mounted under its public/ folder at this path (see provisioning/README.md). */
export const GRAFANA_PUBLIC_GAZETTEER_DIR = 'public/gazetteer';

export function contextFromConfig(config: LoadedConfig = loadConfig(), asOf: Date = new Date()): BuildContext {
  return {
    registry: new StationRegistry(config.registry),
    thresholds: loadThresholdsFile(join(config.dir, THRESHOLDS_FILE), config.registry),
    asOf,
    gazetteerUrl: `${GRAFANA_PUBLIC_GAZETTEER_DIR}/${GAZETTEER_FILE}`,
    geojsonUrl: `${GRAFANA_PUBLIC_GAZETTEER_DIR}/${GEOJSON_FILE}`,
  };
}

export function profileOf(ctx: BuildContext, s: Station): StationProfile {
  return stationProfile(ctx.thresholds, s);
}

/** Water sections in river order (upstream first, by river, then river km). */
export function waterSections(ctx: BuildContext): Station[] {
  return ctx.registry.stations
    .filter((s) => s.kind === 'water')
    .slice()
    .sort((a, b) => (a.river ?? '').localeCompare(b.river ?? '') || (a.river_km ?? 0) - (b.river_km ?? 0) || a.id.localeCompare(b.id));
}

export function airStations(ctx: BuildContext): Station[] {
  return ctx.registry.stations.filter((s) => s.kind === 'air');
}

export function aqiStandard(ctx: BuildContext): AqiStandard {
  return aqiStandardFor(ctx.asOf);
}

/** "km 052 宏缘 Hongyuan": zero-padded so that sorting by name is sorting by river km. */
export function sectionLabel(s: Station): string {
  const km = s.river_km !== undefined ? `km ${String(Math.round(s.river_km)).padStart(3, '0')} ` : '';
  return `${km}${s.name.zh} ${s.name.en}${s.boundary ? ' ◆ boundary 界' : ''}`;
}

export function stationLabel(s: Station): string {
  return s.kind === 'water' ? sectionLabel(s) : `${s.name.zh} ${s.name.en}`;
}
