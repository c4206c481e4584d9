/**
 * Generates the committed files under dashboards/generated/: one JSON per dashboard (read by
 * Grafana's file provisioning and by `tuojiang dashboards push`) and the station gazetteer and
 * GeoJSON the geomap uses. Output is deterministic: the same config and standards give the same
 * bytes, so a test can tell when the committed files are stale.
 */
import { mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { airAssessment } from './air-assessment.js';
import { air } from './air.js';
import { basinOverview } from './basin-overview.js';
import { GAZETTEER_FILE, GEOJSON_FILE, stationLabel, type BuildContext } from './context.js';
import type { Dashboard } from './model.js';
import type { BuiltDashboard } from './panels.js';
import { pipelineHealth } from './pipeline-health.js';
import { sectionDetail } from './section-detail.js';
import { upstreamDownstream } from './upstream-downstream.js';
import { waterAssessment } from './water-assessment.js';

/** dashboards/generated in the repository (also when running from dist/). */
export const GENERATED_DIR = join(dirname(fileURLToPath(import.meta.url)).replace(/[/\\]dist[/\\]dashboards$/, '/dashboards'), 'generated');
export const DASHBOARDS_SUBDIR = 'dashboards';
export const GAZETTEER_SUBDIR = 'gazetteer';

export function buildDashboards(ctx: BuildContext): BuiltDashboard[] {
  return [
    basinOverview(ctx),
    sectionDetail(ctx),
    upstreamDownstream(ctx),
    air(ctx),
    waterAssessment(ctx),
    airAssessment(ctx),
    pipelineHealth(),
  ];
}

/** Grafana's worldmap-style gazetteer: the geomap's "lookup" location mode finds stations by id. */
export function gazetteer(ctx: BuildContext): Array<{ key: string; latitude: number; longitude: number; name: string }> {
  return ctx.registry.stations.map((s) => ({
    key: s.id,
    latitude: s.coordinates.lat,
    longitude: s.coordinates.lon,
    name: stationLabel(s),
  }));
}

/** Every registered station as a GeoJSON point: the map's grey base layer, so stations without data still show. */
export function stationsGeoJson(ctx: BuildContext): object {
  return {
    type: 'FeatureCollection',
    features: ctx.registry.stations.map((s) => ({
      type: 'Feature',
      id: s.id,
      geometry: { type: 'Point', coordinates: [s.coordinates.lon, s.coordinates.lat] },
      properties: {
        id: s.id,
        name: stationLabel(s),
        kind: s.kind,
        city: s.city,
        ...(s.river_km !== undefined ? { river_km: s.river_km } : {}),
        ...(s.boundary ? { boundary: true } : {}),
      },
    })),
  };
}

export interface GeneratedFile {
  /** Relative to the generated dir, with forward slashes. */
  path: string;
  content: string;
}

const json = (x: unknown): string => `${JSON.stringify(x, null, 2)}\n`;

export function dashboardFileName(d: Dashboard): string {
  return `${DASHBOARDS_SUBDIR}/${d.uid}.json`;
}

export function generatedFiles(ctx: BuildContext): GeneratedFile[] {
  return [
    ...buildDashboards(ctx).map((b) => ({ path: dashboardFileName(b.dashboard), content: json(b.dashboard) })),
    { path: `${GAZETTEER_SUBDIR}/${GAZETTEER_FILE}`, content: json(gazetteer(ctx)) },
    { path: `${GAZETTEER_SUBDIR}/${GEOJSON_FILE}`, content: json(stationsGeoJson(ctx)) },
  ];
}

async function listed(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const sub of [DASHBOARDS_SUBDIR, GAZETTEER_SUBDIR]) {
    const names = await readdir(join(dir, sub)).catch(() => [] as string[]);
    out.push(...names.filter((n) => n.endsWith('.json') || n.endsWith('.geojson')).map((n) => `${sub}/${n}`));
  }
  return out;
}

export interface Staleness {
  missing: string[];
  changed: string[];
  /** Files in the generated dir that the generator no longer makes (e.g. a removed dashboard). */
  extra: string[];
}

export async function staleness(dir: string, files: readonly GeneratedFile[]): Promise<Staleness> {
  const result: Staleness = { missing: [], changed: [], extra: [] };
  for (const f of files) {
    const have = await readFile(join(dir, f.path), 'utf8').catch(() => undefined);
    if (have === undefined) result.missing.push(f.path);
    else if (have !== f.content) result.changed.push(f.path);
  }
  const wanted = new Set(files.map((f) => f.path));
  result.extra = (await listed(dir)).filter((p) => !wanted.has(p));
  return result;
}

export const isFresh = (s: Staleness): boolean => s.missing.length + s.changed.length + s.extra.length === 0;

/** Writes what changed and removes files the generator no longer makes. */
export async function writeGenerated(dir: string, files: readonly GeneratedFile[]): Promise<Staleness> {
  const s = await staleness(dir, files);
  for (const p of [...s.missing, ...s.changed]) {
    const f = files.find((x) => x.path === p) as GeneratedFile;
    await mkdir(dirname(join(dir, p)), { recursive: true });
    await writeFile(join(dir, p), f.content);
  }
  for (const p of s.extra) await rm(join(dir, p));
  return s;
}

/** The committed dashboards, as Grafana would read them. */
export async function readGeneratedDashboards(dir = GENERATED_DIR): Promise<Dashboard[]> {
  const names = (await readdir(join(dir, DASHBOARDS_SUBDIR))).filter((n) => n.endsWith('.json')).sort();
  return Promise.all(names.map(async (n) => JSON.parse(await readFile(join(dir, DASHBOARDS_SUBDIR, n), 'utf8')) as Dashboard));
}
