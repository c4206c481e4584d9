/**
 * Links into the dashboards, for alert notices (every notice links to the Grafana panel, decision 0004): the
 * section-detail panel of a parameter, around the time of an alert. Panel ids come from the same
 * generator as the committed JSON, so a link always opens the right panel.
 */
import type { BuildContext } from './context.js';
import type { Panel } from './model.js';
import { SECTION_DETAIL_UID, sectionDetail } from './section-detail.js';
import { AIR_UID, air } from './air.js';

const flat = (ps: readonly Panel[]): Panel[] => ps.flatMap((p) => [p, ...flat(p.panels ?? [])]);

/** Panel id of the time series of `param` on a dashboard, found by the field its first query averages. */
function panelIdFor(panels: readonly Panel[], param: string): number | undefined {
  return flat(panels).find((p) => p.type === 'timeseries' && p.targets?.[0]?.query.startsWith(`SELECT mean("${param}")`))?.id;
}

export interface PanelLinkOptions {
  /** Grafana's root URL, e.g. https://grafana.example/grafana */
  grafanaUrl: string;
  station: string;
  parameter: string;
  /** The alert's event time, epoch ms; the link shows 12 h before to 2 h after. */
  at: number;
}

/** A link to the parameter's panel for the station (section detail for water, the air dashboard for air). */
export function panelLink(ctx: BuildContext, o: PanelLinkOptions): string {
  const station = ctx.registry.get(o.station);
  if (!station) throw new Error(`unknown station ${o.station}`);
  const base = o.grafanaUrl.replace(/\/+$/, '');
  const range = `from=${o.at - 12 * 3_600_000}&to=${o.at + 2 * 3_600_000}`;
  if (station.kind === 'water') {
    const id = panelIdFor(sectionDetail(ctx).dashboard.panels, o.parameter);
    const view = id !== undefined ? `&viewPanel=${id}` : '';
    return `${base}/d/${SECTION_DETAIL_UID}?var-station=${encodeURIComponent(o.station)}${view}&${range}`;
  }
  const id = panelIdFor(air(ctx).dashboard.panels, o.parameter);
  const view = id !== undefined ? `&viewPanel=${id}` : '';
  return `${base}/d/${AIR_UID}?var-station=${encodeURIComponent(o.station)}&var-city=${encodeURIComponent(station.city)}${view}&${range}`;
}
