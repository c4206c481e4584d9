/**
 * A table panel's rows as an analyst sees them in Grafana: columns under their display names
 * (overrides' `displayName`), values through the panel's value mappings (defaults and per column),
 * times in the column's `time: …` unit, hidden columns left out. Enough of Grafana's table to read
 * the titles and numbers the tests assert, and to keep a text rendering under test-artifacts/.
 */
import type { Panel, ValueMapping } from '../../dashboards/model.js';

type Row = Record<string, unknown>;

function mapValue(v: unknown, mappings: readonly ValueMapping[]): string | undefined {
  for (const m of mappings) {
    if (m.type === 'value') {
      const hit = m.options[String(v)];
      if (hit?.text !== undefined) return hit.text;
    } else if (
      typeof v === 'number' &&
      (m.options.from === null || v >= m.options.from) &&
      (m.options.to === null || v <= m.options.to) &&
      m.options.result.text !== undefined
    ) {
      return m.options.result.text;
    }
  }
  return undefined;
}

function formatTime(ms: number, unit: string): string {
  // China Standard Time, as the bureaus' browsers show it.
  const d = new Date(ms + 8 * 3_600_000).toISOString();
  const fmt = unit.replace(/^time:\s*/, '');
  return fmt.replace('YYYY', d.slice(0, 4)).replace('MM', d.slice(5, 7)).replace('DD', d.slice(8, 10));
}

export interface RenderedTable {
  columns: string[];
  rows: string[][];
  text: string;
}

export function renderTable(p: Panel, rows: readonly Row[], columns: readonly string[]): RenderedTable {
  const props = (col: string): Map<string, unknown> => {
    const m = new Map<string, unknown>();
    for (const o of p.fieldConfig?.overrides ?? []) {
      if (o.matcher.id === 'byName' && o.matcher.options === col) for (const pr of o.properties) m.set(pr.id, pr.value);
    }
    return m;
  };
  // Columns an organize transformation leaves out (how our tables hide a column: Grafana 12's table
  // has no custom.hidden).
  const excluded = new Set(
    (p.transformations ?? [])
      .filter((t) => t.id === 'organize')
      .flatMap((t) =>
        Object.entries((t.options.excludeByName ?? {}) as Record<string, boolean>)
          .filter(([, v]) => v)
          .map(([k]) => k),
      ),
  );
  const shown = columns.filter((c) => !excluded.has(c) && props(c).get('custom.hidden') !== true);
  const header = shown.map((c) => String(props(c).get('displayName') ?? c));
  const defaults = (p.fieldConfig?.defaults.mappings ?? []) as ValueMapping[];
  const body = rows.map((r) =>
    shown.map((c) => {
      const v = c === 'Time' ? r.time : r[c];
      const pr = props(c);
      if (v === null || v === undefined) return '';
      const unit = pr.get('unit');
      if (typeof unit === 'string' && unit.startsWith('time:') && typeof v === 'number') return formatTime(v, unit);
      const mapped = mapValue(v, [...((pr.get('mappings') as ValueMapping[] | undefined) ?? []), ...defaults]);
      if (mapped !== undefined) return mapped;
      const decimals = (pr.get('decimals') as number | undefined) ?? p.fieldConfig?.defaults.decimals;
      return typeof v === 'number' && decimals !== undefined ? v.toFixed(decimals) : String(v);
    }),
  );
  const text = [`## ${p.title}`, header.join(' | '), ...body.map((b) => b.join(' | '))].join('\n');
  return { columns: header, rows: body, text };
}
