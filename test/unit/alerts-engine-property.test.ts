/**
 * Any reading the ingest accepts must be one the alert engine can apply. A reading that made
 * `applyReadings` throw would fail its check job, and stay first in its series' inbox: every later
 * job of that series would snapshot it and throw again, and the station's alerts would stop for
 * good. So: readings generated freely (any catalogue parameter of the medium, extreme and odd
 * numbers, flags, times back and forth, every period), passed through `validateReading` as the
 * ingest does, then applied one by one as check jobs apply them (muted now and then), with the
 * state stored as JSON between steps as Redis keeps it.
 */
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyReadings, emptySeriesState, type SeriesState } from '../../alerts/series-engine.js';
import { loadThresholdsFile } from '../../alerts/thresholds.js';
import { loadConfig } from '../../config/load.js';
import { StationRegistry } from '../../config/station-registry.js';
import { validateReading } from '../../ingest/validate-reading.js';
import { DATA_FLAGS, PARAMETERS, type Medium } from '../../lib/parameters.js';
import type { Reading } from '../../lib/reading.js';
import { propertyRuns } from '../helpers/property-runs.js';

const { dir, registry: registryConfig } = loadConfig();
const registry = new StationRegistry(registryConfig);
const thresholds = loadThresholdsFile(join(dir, 'thresholds.yaml'), registryConfig);
const T0 = Date.parse('2026-05-01T00:00:00+08:00');
const STATES = new Set(['ok', 'pending', 'firing', 'resolved']);
const RUNS = propertyRuns(1500);

const value = fc.oneof(
  fc.double(),
  fc.integer({ min: -10, max: 100_000 }).map((x) => x / 10),
  fc.constantFrom(0, -0, 5e-324, 1e-300, 1e300, -1, Number.MAX_VALUE),
);

function readingsOf(medium: Medium) {
  const keys = PARAMETERS.filter((p) => p.medium === medium).map((p) => p.key);
  const stations = registry.stations.filter((s) => s.kind === medium);
  return fc.record({
    station: fc.constantFrom(...stations),
    period: fc.constantFrom('rt' as const, 'min' as const, 'hour' as const, 'day' as const),
    rows: fc.array(
      fc.record({
        dt: fc.integer({ min: -3_600_000, max: 7_200_000 }),
        values: fc.dictionary(fc.constantFrom(...keys), value, { maxKeys: keys.length }),
        flags: fc.dictionary(fc.constantFrom(...keys), fc.constantFrom(...DATA_FLAGS), { maxKeys: 4 }),
      }),
      { minLength: 1, maxLength: 16 },
    ),
  });
}

describe.each(['water', 'air'] as const)('the alert engine on any %s reading the ingest accepts', (medium) => {
  it('applies it without throwing, reports only transitions of those readings, and keeps a state that survives JSON', () => {
    let applied = 0;
    let events = 0;
    fc.assert(
      fc.property(readingsOf(medium), ({ station, period, rows }) => {
        const accepted: Reading[] = [];
        let ts = T0;
        for (const row of rows) {
          ts += row.dt;
          try {
            const v = validateReading(
              { station, ts, period, values: row.values, flags: row.flags, source: 'json' },
              { registry, now: T0 + 30 * 86_400_000, futureToleranceMs: 600_000 },
            );
            accepted.push(v.reading);
          } catch {
            // Refused at the ingest (a dead letter): never reaches the engine.
          }
        }
        let state: SeriesState = emptySeriesState();
        accepted.forEach((r, i) => {
          const result = applyReadings(state, [r], { station, thresholds, isMuted: () => i % 3 === 2 });
          events += result.events.length;
          for (const e of result.events) {
            expect(e.at).toBe(r.ts);
            expect(STATES.has(e.to)).toBe(true);
            expect(e.station).toBe(station.id);
          }
          state = JSON.parse(JSON.stringify(result.state)) as SeriesState;
          applied++;
        });
      }),
      { numRuns: RUNS },
    );
    // The generator must reach the engine and raise alerts, or the property says nothing.
    // (1,500 runs: 2,000–3,600 readings applied and 350–850 transitions, water and air.)
    expect(applied).toBeGreaterThan(RUNS / 2);
    expect(events).toBeGreaterThan(RUNS / 30);
  });
});
