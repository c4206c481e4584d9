/**
 * Drinking-water intakes and other sensitive receptors along a river (config/rivers.yaml
 * `receptors:`): which lie on a river, in river order, and which is the next one a plume at a
 * given river km reaches.
 */
import type { ReceptorConfig, ReceptorKind, RiversFile } from './rivers-schema.js';

export type Receptor = ReceptorConfig;

/** The receptors of `river`, upstream first (by river km, then id); none for an unknown river. */
export function receptorsOf(rivers: RiversFile, river: string): Receptor[] {
  const r = Object.hasOwn(rivers.rivers, river) ? rivers.rivers[river] : undefined;
  return [...(r?.receptors ?? [])].sort((a, b) => a.river_km - b.river_km || a.id.localeCompare(b.id));
}

/**
 * The nearest receptor at or below river km `km` (one at `km` itself counts: a plume at an
 * intake's own section is at the intake), optionally only of the given kinds.
 */
export function nextReceptorDownstream(
  rivers: RiversFile,
  river: string,
  km: number,
  kinds?: readonly ReceptorKind[],
): Receptor | undefined {
  return receptorsOf(rivers, river).find((r) => r.river_km >= km && (kinds === undefined || kinds.includes(r.kind)));
}
