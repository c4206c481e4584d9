/**
 * The aggregates' InfluxDB side: read a station's stored readings or aggregates for a window,
 * write an aggregate point. Writing a point again at the same time replaces its fields; a field
 * that the new computation no longer has (a mean that became invalid after a late re-send) would
 * survive that, so such a point is deleted first.
 */
import type { InfluxStore, QueryResult } from '../lib/influx/client.js';
import { encodePoint } from '../lib/influx/line-protocol.js';
import type { DataFlag, Medium } from '../lib/parameters.js';
import type { Period } from '../lib/reading.js';
import { MEASUREMENT } from '../ingest/reading-to-point.js';
import type { AggregateRow, Fields, RawRow } from './compute.js';

const q = (s: string): string => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
const ident = (s: string): string => `"${s.replace(/"/g, '\\"')}"`;
const TAGS = new Set(['station', 'city', 'period']);

export interface AggregateWrite {
  measurement: string;
  tags: Record<string, string>;
  ts: number;
  fields: Fields;
}

function rowsOf(s: QueryResult): Array<Record<string, unknown>> {
  return s.values.map((v) => Object.fromEntries(s.columns.map((c, i) => [c, v[i]])));
}

export class AggregateStore {
  constructor(private readonly influx: InfluxStore) {}

  /** A station's readings in [from, to), every period. */
  async raw(medium: Medium, station: string, from: number, to: number): Promise<RawRow[]> {
    const res = await this.influx.query(
      `SELECT * FROM ${ident(MEASUREMENT[medium])} WHERE "station" = ${q(station)} AND time >= ${from}ms AND time < ${to}ms`,
    );
    const out: RawRow[] = [];
    for (const s of res) {
      for (const row of rowsOf(s)) {
        const values: Record<string, number> = {};
        const flags: Record<string, DataFlag> = {};
        for (const [k, v] of Object.entries(row)) {
          if (k === 'time' || TAGS.has(k) || v === null) continue;
          if (k.endsWith('_flag') && typeof v === 'string') flags[k.slice(0, -5)] = v as DataFlag;
          else if (typeof v === 'number' && !k.endsWith('_min') && !k.endsWith('_max')) values[k] = v;
        }
        out.push({ ts: row.time as number, period: String(row.period ?? 'rt') as Period, values, flags });
      }
    }
    return out;
  }

  /** Aggregate points in [from, to) of one tag value (station or city). */
  async rows(measurement: string, tag: 'station' | 'city', value: string, from: number, to: number): Promise<AggregateRow[]> {
    const res = await this.influx.query(
      `SELECT * FROM ${ident(measurement)} WHERE ${ident(tag)} = ${q(value)} AND time >= ${from}ms AND time < ${to}ms`,
    );
    return res.flatMap(rowsOf).map((row) => {
      const fields: Fields = {};
      for (const [k, v] of Object.entries(row)) {
        if (k === 'time' || TAGS.has(k) || v === null) continue;
        if (typeof v === 'number' || typeof v === 'string') fields[k] = v;
      }
      return { ts: row.time as number, fields };
    });
  }

  /** Station aggregates of one city at one instant (a city's hour or day). */
  async cityMembers(measurement: string, city: string, ts: number): Promise<AggregateRow[]> {
    const res = await this.influx.query(
      `SELECT * FROM ${ident(measurement)} WHERE "city" = ${q(city)} AND time >= ${ts}ms AND time <= ${ts}ms GROUP BY "station"`,
    );
    return res.map((s) => {
      const row = rowsOf(s)[0] ?? {};
      const fields: Fields = {};
      for (const [k, v] of Object.entries(row))
        if (k !== 'time' && !TAGS.has(k) && (typeof v === 'number' || typeof v === 'string')) fields[k] = v;
      return { ts, fields };
    });
  }

  /**
   * Writes the points; a point whose earlier version had a field the new one lacks is deleted
   * first (one query finds those for the whole batch).
   */
  async write(points: readonly AggregateWrite[], before: ReadonlyMap<string, ReadonlySet<string>>): Promise<number> {
    let deleted = 0;
    for (const p of points) {
      const old = before.get(pointKey(p));
      if (!old || [...old].every((f) => f in p.fields)) continue;
      const where = Object.entries(p.tags)
        .map(([k, v]) => `${ident(k)} = ${q(v)}`)
        .join(' AND ');
      await this.influx.query(`DELETE FROM ${ident(p.measurement)} WHERE ${where} AND time >= ${p.ts}ms AND time <= ${p.ts}ms`);
      deleted++;
    }
    const lines = points
      .filter((p) => Object.keys(p.fields).length > 0)
      .map((p) => encodePoint({ measurement: p.measurement, tags: p.tags, fields: p.fields, ts: p.ts }));
    for (let i = 0; i < lines.length; i += 5000) await this.influx.writeLines(lines.slice(i, i + 5000));
    return deleted;
  }

  /** The field names each of these points has now (for write()'s shrink check). */
  async existingFields(
    measurement: string,
    tag: 'station' | 'city',
    value: string,
    from: number,
    to: number,
  ): Promise<Map<string, Set<string>>> {
    const out = new Map<string, Set<string>>();
    for (const r of await this.rows(measurement, tag, value, from, to)) {
      out.set(pointKey({ measurement, tags: { [tag]: value }, ts: r.ts }), new Set(Object.keys(r.fields)));
    }
    return out;
  }
}

/** Identity of an aggregate point across reads and writes: measurement, its one identifying tag, time. */
export function pointKey(p: { measurement: string; tags: Record<string, string>; ts: number }): string {
  return `${p.measurement}|${p.tags.station ?? `city:${p.tags.city ?? ''}`}|${p.ts}`;
}
