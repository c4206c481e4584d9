/**
 * Who must hear about an alert, and when the pollution may reach them (decision 0004; for pollution incidents, decision 0010):
 *  - the bureau of the station's own city, always;
 *  - for a pollution alert at a water section, every city downstream on the same river, each with
 *    the estimated arrival time at its first section;
 *  - a boundary section: the bureaus on both sides (its own, and the city of the nearest section
 *    upstream that belongs to another city), always;
 *  - an air station (or any station with `shared_with`): its own city and every city named there.
 * Equipment and silence alerts say nothing about the river, so they go to the own city (and the
 * boundary/shared partners), not downstream. Pure: the same event and configuration always route
 * the same way.
 */
import type { RiversFile } from '../../config/rivers-schema.js';
import type { Station, StationRegistry } from '../../config/station-registry.js';
import { ruleNamed, type RuleName } from '../rules/index.js';
import { travelTime, type TravelRange } from './travel-time.js';

export type RouteRole = 'own' | 'downstream' | 'boundary' | 'shared';

/** An estimate for one downstream section. */
export interface Arrival extends TravelRange {
  station: string;
  city: string;
  riverKm: number;
  distanceKm: number;
  intake: boolean;
}

export interface BureauRoute {
  bureau: string;
  roles: RouteRole[];
  /** Arrival at the first section of this bureau's city below the station (downstream bureaus). */
  arrival?: Arrival;
}

export interface Routing {
  bureaus: BureauRoute[];
  /**
   * Downstream sections worth naming in the notice, upstream first: the first section of each
   * city, every drinking-water intake and every boundary section.
   */
  downstream: Arrival[];
}

/** Whether alerts of this rule at this station travel down the river (the rule says whether it is about the water). */
export function travelsDownstream(station: Station, rule: RuleName): boolean {
  return station.kind === 'water' && station.river !== undefined && station.river_km !== undefined && ruleNamed(rule).travelsDownstream;
}

export function routeEvent(
  station: Station,
  rule: RuleName,
  registry: StationRegistry,
  rivers: RiversFile,
  bureaus: ReadonlySet<string>,
): Routing {
  const routes = new Map<string, BureauRoute>();
  const add = (city: string, role: RouteRole, arrival?: Arrival): void => {
    if (!bureaus.has(city)) return;
    let r = routes.get(city);
    if (!r) routes.set(city, (r = { bureau: city, roles: [] }));
    if (!r.roles.includes(role)) r.roles.push(role);
    if (arrival && !r.arrival) r.arrival = arrival;
  };

  add(station.city, 'own');
  const downstream: Arrival[] = [];
  const river = station.river;
  const km = station.river_km;

  if (station.kind === 'water' && river !== undefined && km !== undefined) {
    const sections = registry.riverSections(river);
    if (station.boundary) {
      // The city across the boundary: normally upstream (the section where the river enters the
      // city); for a boundary section at the downstream end of its city, the next city below.
      const across =
        [...sections].reverse().find((s) => (s.river_km ?? 0) < km && s.city !== station.city) ??
        sections.find((s) => (s.river_km ?? 0) > km && s.city !== station.city);
      if (across) add(across.city, 'boundary');
      add(station.city, 'boundary');
    }
    if (ruleNamed(rule).travelsDownstream) {
      const seenCity = new Set<string>([station.city]);
      for (const s of sections) {
        const skm = s.river_km ?? 0;
        if (skm <= km || s.id === station.id) continue;
        const firstOfCity = !seenCity.has(s.city);
        if (!firstOfCity && !s.drinking_water_intake && !s.boundary) continue;
        const t = travelTime(rivers, river, km, skm);
        if (!t) continue;
        const a: Arrival = {
          station: s.id,
          city: s.city,
          riverKm: skm,
          distanceKm: Math.round((skm - km) * 10) / 10,
          intake: s.drinking_water_intake,
          ...t,
        };
        downstream.push(a);
        if (firstOfCity) {
          seenCity.add(s.city);
          add(s.city, 'downstream', a);
        }
      }
    }
  }
  for (const c of station.shared_with) add(c, 'shared');
  return { bureaus: [...routes.values()], downstream };
}
