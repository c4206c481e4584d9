/**
 * Every generated dashboard type-checks against Grafana's own published types, `@grafana/schema`
 * at the version of the Grafana image in docker-compose.yml: the dashboard envelope, each panel's
 * options and custom field config for its panel type, every field-override value, and each query
 * against Grafana's InfluxQL query model. A wrong or misspelt option fails here, before a Grafana
 * silently ignores it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { GENERATED_DIR, readGeneratedDashboards } from '../../dashboards/generate.js';
import type { Dashboard, Panel } from '../../dashboards/model.js';
import { checkAgainstGrafanaSchema } from '../helpers/grafana-schema-check.js';

const REPO = join(GENERATED_DIR, '..', '..');
const flat = (ps: readonly Panel[] | undefined): Panel[] => (ps ?? []).flatMap((p) => [p, ...flat(p.panels)]);

let committed: Dashboard[];

beforeAll(async () => {
  committed = await readGeneratedDashboards();
});

describe('@grafana/schema', () => {
  it('is pinned to the Grafana version docker-compose.yml runs', () => {
    const image = /image:\s*grafana\/grafana:(\S+)/.exec(readFileSync(join(REPO, 'docker-compose.yml'), 'utf8'))?.[1];
    const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> };
    expect(image).toMatch(/^\d+\.\d+\.\d+$/);
    expect(pkg.devDependencies['@grafana/schema']).toBe(image);
  });

  it('accepts every generated dashboard: envelope, panel options and field config per panel type, overrides, queries', async () => {
    const problems = await checkAgainstGrafanaSchema(committed);
    expect(problems.map((p) => `${p.file}:${p.line} ${p.source}\n    ${p.message}`)).toEqual([]);
    expect(committed.flatMap((d) => flat(d.panels)).filter((p) => p.type !== 'row').length).toBeGreaterThan(40);
  }, 120_000);

  it('refuses a wrong panel option, a misspelt one, a wrong cell type and a custom field option the panel type does not have', async () => {
    const broken = structuredClone(committed.find((d) => d.uid === 'tj-section-detail')!);
    const panels = flat(broken.panels);
    const ts = panels.find((p) => p.type === 'timeseries')!;
    const tl = panels.find((p) => p.type === 'state-timeline')!;
    const tb = panels.find((p) => p.type === 'table')!;
    (ts.options!.legend as Record<string, unknown>).displayMode = 'lists';
    (tl.options as Record<string, unknown>).rowHieght = 0.9;
    tb.fieldConfig!.overrides.push({
      matcher: { id: 'byName', options: 'x' },
      properties: [{ id: 'custom.cellOptions', value: { type: 'colour-background' } }],
    });
    ts.fieldConfig!.overrides.push({
      matcher: { id: 'byName', options: 'x' },
      properties: [{ id: 'custom.cellOptions', value: { type: 'color-background' } }],
    });
    const problems = await checkAgainstGrafanaSchema([broken]);
    const said = problems.map((p) => `${p.source} ${p.message}`);
    expect(
      said.find((s) => s.includes(`panel_${ts.id}_options`) && s.includes('"lists"')),
      said.join('\n'),
    ).toBeDefined();
    expect(
      said.find((s) => s.includes(`panel_${tl.id}_options`) && s.includes('rowHieght')),
      said.join('\n'),
    ).toBeDefined();
    expect(
      said.find((s) => s.includes(`panel_${tb.id}_override_`) && s.includes('colour-background')),
      said.join('\n'),
    ).toBeDefined();
    expect(
      said.find((s) => s.includes(`panel_${ts.id}_override_`) && s.includes('cellOptions')),
      said.join('\n'),
    ).toBeDefined();
    expect(problems.length).toBe(4);
  }, 120_000);
});
