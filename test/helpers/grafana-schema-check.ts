/**
 * Type-checks dashboard JSON against Grafana's own published types (`@grafana/schema`, the version
 * of the Grafana image in docker-compose.yml): each dashboard becomes a TypeScript module in which
 * the envelope, every panel's options and field config (per panel type), every field-override
 * value and every query are checked with `satisfies`, and the TypeScript compiler is run on it.
 * `satisfies` on an object literal reports unknown keys as well as wrong values, so a misspelt
 * option is caught, not only a wrong type.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import type { Dashboard, Panel } from '../../dashboards/model.js';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** Git-ignored, and inside the repository so that `@grafana/schema` resolves from node_modules. */
const WORK_DIR = join(REPO, '.tmp', 'grafana-schema');

/** Per panel type, the module of its generated types (the subpath exports of @grafana/schema 12.4: no .js suffix). */
export const PANEL_TYPES: Readonly<Record<string, string>> = {
  timeseries: 'timeseries/panelcfg/x/TimeSeriesPanelCfg_types.gen',
  table: 'table/panelcfg/x/TablePanelCfg_types.gen',
  'state-timeline': 'statetimeline/panelcfg/x/StateTimelinePanelCfg_types.gen',
  bargauge: 'bargauge/panelcfg/x/BarGaugePanelCfg_types.gen',
  geomap: 'geomap/panelcfg/x/GeomapPanelCfg_types.gen',
  text: 'text/panelcfg/x/TextPanelCfg_types.gen',
  heatmap: 'heatmap/panelcfg/x/HeatmapPanelCfg_types.gen',
  stat: 'stat/panelcfg/x/StatPanelCfg_types.gen',
};

/** Panel types whose module declares custom field options (`FieldConfig`). */
const HAS_FIELD_CONFIG: ReadonlySet<string> = new Set(['timeseries', 'table', 'state-timeline', 'heatmap']);

const alias = (type: string): string => `P_${type.replace(/\W/g, '_')}`;
const lit = (x: unknown): string => JSON.stringify(x, null, 1);
const flat = (ps: readonly Panel[] | undefined): Panel[] => (ps ?? []).flatMap((p) => [p, ...flat(p.panels)]);

// Grafana's types use TypeScript string enums (LegendDisplayMode.List = 'list' …), which JSON can
// only hold as the string: Loose<T> turns each enum into the union of its values, nothing else.
const PRELUDE = `
type Loose<T> = T extends string ? \`\${T}\` : T extends readonly (infer U)[] ? Array<Loose<U>> : T extends object ? { [K in keyof T]: Loose<T[K]> } : T;
/** Grafana's InfluxDB query model for raw InfluxQL (its plugin's types.ts InfluxQuery): not part of @grafana/schema. */
interface InfluxQL {
  query: string; rawQuery: true; resultFormat?: 'time_series' | 'table' | 'logs'; alias?: string;
  fromAnnotations?: boolean; textEditor?: boolean; textColumn?: string; tagsColumn?: string; titleColumn?: string;
}
type Target = Loose<DataQuery> & InfluxQL;
`;

/** The TypeScript module that checks one dashboard. Exported for the negative tests. */
export function checkModule(d: Dashboard): string {
  const panels = flat(d.panels);
  const unknownTypes = [...new Set(panels.map((p) => p.type).filter((t) => t !== 'row' && !PANEL_TYPES[t]))];
  if (unknownTypes.length > 0)
    throw new Error(`${d.uid}: no @grafana/schema types known for panel type(s) ${unknownTypes.join(', ')}: add them to PANEL_TYPES`);
  const types = [...new Set(panels.map((p) => p.type).filter((t) => t !== 'row'))];
  const lines: string[] = [
    `import type { Dashboard as GrafanaDashboard, DataQuery, FieldConfig as GrafanaFieldConfig } from '@grafana/schema';`,
    ...types.map((t) => `import type * as ${alias(t)} from '@grafana/schema/dist/esm/raw/composable/${PANEL_TYPES[t]}';`),
    PRELUDE,
  ];
  // The envelope without the queries, which are checked one by one against the InfluxDB query model.
  const strip = (p: Panel): Panel => {
    const { targets: _t, panels: inner, ...rest } = p;
    return { ...rest, ...(inner ? { panels: inner.map(strip) } : {}) } as Panel;
  };
  const envelope = {
    ...d,
    panels: d.panels.map(strip),
    annotations: { list: d.annotations.list.map((a) => ('target' in a ? (({ target: _x, ...r }) => r)(a) : a)) },
  };
  lines.push(`export const dashboard = ${lit(envelope)} satisfies Loose<GrafanaDashboard>;`);
  for (const a of d.annotations.list)
    if ('target' in a) lines.push(`export const annotation_${lines.length} = ${lit(a.target)} satisfies Target;`);
  for (const p of panels) {
    if (p.type === 'row') continue;
    const T = alias(p.type);
    const at = `panel_${p.id}`;
    if (p.options) lines.push(`export const ${at}_options = ${lit(p.options)} satisfies Loose<${T}.Options>;`);
    const custom = p.fieldConfig?.defaults.custom;
    // Panel types without custom field options take none: an empty object only.
    const customType = HAS_FIELD_CONFIG.has(p.type) ? `Loose<${T}.FieldConfig>` : 'Record<string, never>';
    if (custom) lines.push(`export const ${at}_custom = ${lit(custom)} satisfies ${customType};`);
    (p.fieldConfig?.overrides ?? []).forEach((o, i) => {
      o.properties.forEach((prop, j) => {
        const target = prop.id.startsWith('custom.')
          ? `NonNullable<${T}.FieldConfig[${lit(prop.id.slice('custom.'.length))}]>`
          : `NonNullable<GrafanaFieldConfig[${lit(prop.id)}]>`;
        lines.push(`export const ${at}_override_${i}_${j} = ${lit(prop.value)} satisfies Loose<${target}>;`);
      });
    });
    (p.targets ?? []).forEach((t) => lines.push(`export const ${at}_target_${t.refId.replace(/\W/g, '_')} = ${lit(t)} satisfies Target;`));
  }
  return `${lines.join('\n')}\n`;
}

export interface SchemaProblem {
  file: string;
  line: number;
  /** The generated line, which names the dashboard part (`panel_7_options`, `panel_7_override_2_0` …). */
  source: string;
  message: string;
}

/** Writes one module per dashboard and type-checks them together; [] when Grafana's types accept all. */
export async function checkAgainstGrafanaSchema(dashboards: readonly Dashboard[]): Promise<SchemaProblem[]> {
  await mkdir(WORK_DIR, { recursive: true });
  const dir = await mkdtemp(join(WORK_DIR, 'run-'));
  try {
    const files: string[] = [];
    for (const d of dashboards) {
      const file = join(dir, `${d.uid.replace(/[^\w-]/g, '_')}.ts`);
      await writeFile(file, checkModule(d));
      files.push(file);
    }
    const program = ts.createProgram(files, {
      strict: true,
      noEmit: true,
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      skipLibCheck: true,
      types: [],
    });
    return ts.getPreEmitDiagnostics(program).map((diag) => {
      const file = diag.file;
      const pos = file && diag.start !== undefined ? file.getLineAndCharacterOfPosition(diag.start) : undefined;
      const source = file && pos ? (file.text.split('\n')[pos.line] ?? '').slice(0, 120) : '';
      // The statement's name: the line the error is on may be deep inside its literal.
      const owner =
        file && pos
          ? (
              file.text
                .split('\n')
                .slice(0, pos.line + 1)
                .reverse()
                .find((l) => l.startsWith('export const ')) ?? ''
            ).slice(0, 80)
          : '';
      return {
        file: file?.fileName.replace(`${dir}/`, '') ?? '',
        line: pos ? pos.line + 1 : 0,
        source: `${owner} … ${source.trim()}`,
        message: ts.flattenDiagnosticMessageText(diag.messageText, '\n'),
      };
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
