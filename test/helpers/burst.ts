import type { InfluxClient } from '../../lib/influx/client.js';

/** A burst of distinct readings whose every value is known, so a test can check count AND values. */
export interface BurstReading {
  topic: string;
  payload: string;
  station: string;
  ts: number;
  NH3N: number;
}

const WATER = ['zhaozhen', 'huaikou', 'hongyuan', 'shiqiao', 'linjiangsi', 'ziyang-city'];

/** `n` readings across the water sections, one per (station, second) from `start`. */
export function makeBurst(n: number, start = Date.parse('2026-03-01T00:00:00Z')): BurstReading[] {
  const out: BurstReading[] = [];
  for (let i = 0; i < n; i++) {
    const station = WATER[i % WATER.length]!;
    const ts = start + Math.floor(i / WATER.length) * 1000;
    const NH3N = ((i * 7919) % 100000) / 1000;
    out.push({ topic: `tuojiang/water/${station}`, station, ts, NH3N, payload: JSON.stringify({ ts, values: { NH3N, pH: 7.5 } }) });
  }
  return out;
}

/** Every stored (station, ts) -> NH3N in the time range of the burst. */
export async function storedValues(influx: InfluxClient, from: number, to: number): Promise<Map<string, number[]>> {
  const res = await influx.query(`SELECT "NH3N", "station" FROM "water_quality" WHERE time >= ${from}ms AND time <= ${to}ms`);
  const out = new Map<string, number[]>();
  for (const series of res) {
    const iTime = series.columns.indexOf('time');
    const iVal = series.columns.indexOf('NH3N');
    const iStation = series.columns.indexOf('station');
    for (const row of series.values) {
      const key = `${row[iStation]}@${row[iTime]}`;
      const list = out.get(key) ?? [];
      list.push(row[iVal] as number);
      out.set(key, list);
    }
  }
  return out;
}

/** Differences between what was published and what is stored: missing, doubled, or wrong values. */
export function compareBurst(
  burst: BurstReading[],
  stored: Map<string, number[]>,
): { missing: number; doubled: number; wrong: number; extra: number } {
  let missing = 0,
    doubled = 0,
    wrong = 0;
  const expected = new Set<string>();
  for (const r of burst) {
    const key = `${r.station}@${r.ts}`;
    expected.add(key);
    const got = stored.get(key);
    if (!got) missing++;
    else if (got.length > 1) doubled++;
    else if (got[0] !== r.NH3N) wrong++;
  }
  const extra = [...stored.keys()].filter((k) => !expected.has(k)).length;
  return { missing, doubled, wrong, extra };
}
