/**
 * One line per change, Chinese first and English second, as Grafana annotates it and as the other
 * city reads it in its announcements.
 */
import type { RegistryConfig } from '../../config/schema.js';
import type { ExplicitLimit } from '../thresholds-schema.js';
import { PARAMETER_BY_KEY } from '../../lib/parameters.js';
import { cst } from '../messages.js';
import { formatExplicit } from './limits.js';
import type { ChangeKind, LimitTarget } from './types.js';

const KIND: Record<ChangeKind, { zh: string; en: string }> = {
  seed: { zh: '初始版本', en: 'Seeded' },
  tighten: { zh: '收紧', en: 'Tightened' },
  loosen: { zh: '放宽', en: 'Loosened' },
  floor: { zh: '收紧至合理下限以下（经对方同意）', en: 'Tightened past the sanity floor (with consent)' },
  restore: { zh: '恢复（本市站点，撤销对方单方面变更）', en: "Restored (own station, undoing the other city's change)" },
  exception: { zh: '例外（宽于国家标准）', en: 'Exception (looser than the national standard)' },
  'exception-end': { zh: '例外到期', en: 'Exception ended' },
};

export function kindLabel(kind: ChangeKind | 'pending-loosen' | 'pending-floor' | 'pending-exception'): { zh: string; en: string } {
  if (kind === 'pending-loosen') return { zh: '待批准放宽', en: 'Loosening awaiting approval' };
  if (kind === 'pending-floor') return { zh: '待批准收紧（低于合理下限）', en: 'Tightening past the sanity floor awaiting approval' };
  if (kind === 'pending-exception') return { zh: '待批准例外', en: 'Exception awaiting approval' };
  return KIND[kind];
}

export function targetLabel(registry: RegistryConfig, t: LimitTarget): { zh: string; en: string } {
  if (t.scope === 'defaults') return { zh: '全部站点', en: 'all stations' };
  if (t.scope === 'section') {
    const name = t.sectionName ?? `section ${t.section}`;
    return { zh: `河段 ${name}`, en: `section ${name}` };
  }
  const s = registry.stations.find((x) => x.id === t.station);
  return { zh: s?.name.zh ?? t.station, en: s?.name.en ?? t.station };
}

export function cityLabel(registry: RegistryConfig, city: string | null): { zh: string; en: string } {
  if (!city) return { zh: '系统', en: 'system' };
  return registry.cities[city] ?? { zh: city, en: city };
}

export interface SummaryInput {
  kind: ChangeKind | 'pending-loosen' | 'pending-floor' | 'pending-exception';
  target?: LimitTarget;
  from?: ExplicitLimit | null;
  to?: ExplicitLimit | null;
  unit?: string;
  version?: number;
  by: string;
  city: string | null;
  until?: number;
}

export function summarize(registry: RegistryConfig, s: SummaryInput): string {
  const k = kindLabel(s.kind);
  const c = cityLabel(registry, s.city);
  const tag = `${s.version !== undefined ? `v${s.version}, ` : ''}${s.by}`;
  if (!s.target) return `${k.zh}（${tag}，${c.zh}） / ${k.en} (${tag}, ${c.en})`;
  const where = targetLabel(registry, s.target);
  const info = PARAMETER_BY_KEY.get(s.target.param);
  const change = `${formatExplicit(s.from, s.unit)} → ${formatExplicit(s.to, s.unit)}`;
  const until = s.until !== undefined ? { zh: `，至 ${cst(s.until)}`, en: `, until ${cst(s.until)}` } : { zh: '', en: '' };
  return (
    `${k.zh}：${where.zh} ${info?.nameZh ?? s.target.param} ${change}${until.zh}（${tag}，${c.zh}）` +
    ` / ${k.en}: ${s.target.param} at ${where.en} ${change}${until.en} (${tag}, ${c.en})`
  );
}
