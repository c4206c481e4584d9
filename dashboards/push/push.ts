/**
 * Upserts the folder and every dashboard into a running Grafana. Idempotent by uid: a dashboard
 * whose stored JSON already equals ours (and sits in our folder) is left alone; a changed one is
 * saved on top of the version just read, so a concurrent edit is reported, not silently lost.
 * The folder is kept: found by uid, else by title, and created only when neither exists.
 * With dryRun only GET requests are made and the report says what would change.
 */
import type { Dashboard, Panel } from '../model.js';
import { GrafanaApiError, type GrafanaClient, type StoredDashboard } from './grafana-client.js';

export const DEFAULT_FOLDER = { uid: 'tuojiang', title: 'Tuojiang 沱江' } as const;

export interface FolderPlan {
  uid: string;
  title: string;
  action: 'keep' | 'create';
  /** How it was found: by the uid asked for, or an existing folder with the same title. */
  foundBy?: 'uid' | 'title';
}

export interface DashboardPlan {
  uid: string;
  title: string;
  action: 'create' | 'update' | 'unchanged' | 'provisioned';
  /** What differs from the stored version (update only). */
  changes: string[];
  version?: number;
}

export interface PushReport {
  url: string;
  dryRun: boolean;
  folder: FolderPlan;
  dashboards: DashboardPlan[];
}

export interface PushOptions {
  client: GrafanaClient;
  dashboards: readonly Dashboard[];
  folder?: { uid: string; title: string };
  dryRun?: boolean;
  message?: string;
}

function stableJson(x: unknown): string {
  if (Array.isArray(x)) return `[${x.map(stableJson).join(',')}]`;
  if (x && typeof x === 'object') {
    return `{${Object.keys(x as object)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stableJson((x as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(x) ?? 'null';
}

const flatPanels = (ps: readonly Panel[] | undefined): Panel[] => (ps ?? []).flatMap((p) => [p, ...flatPanels(p.panels)]);

/**
 * What differs between the stored dashboard and ours, as a short list: top-level settings, and
 * panels added, removed or changed (by title). Empty when they are equal apart from what Grafana
 * adds on save (id, version).
 */
export function describeChanges(stored: object, ours: Dashboard): string[] {
  const before = stored as Record<string, unknown>;
  const after = ours as unknown as Record<string, unknown>;
  const out: string[] = [];
  for (const k of new Set([...Object.keys(before), ...Object.keys(after)])) {
    if (k === 'id' || k === 'version' || k === 'panels') continue;
    if (stableJson(before[k]) !== stableJson(after[k])) out.push(k);
  }
  const oldPanels = new Map(flatPanels(before.panels as Panel[] | undefined).map((p) => [p.id, p]));
  const newPanels = new Map(flatPanels(ours.panels).map((p) => [p.id, p]));
  for (const [id, p] of newPanels) {
    const o = oldPanels.get(id);
    if (!o) out.push(`panel added: ${p.title}`);
    else if (stableJson({ ...o, panels: undefined }) !== stableJson({ ...p, panels: undefined })) out.push(`panel changed: ${p.title}`);
  }
  for (const [id, p] of oldPanels) if (!newPanels.has(id)) out.push(`panel removed: ${p.title}`);
  return out;
}

async function resolveFolder(client: GrafanaClient, want: { uid: string; title: string }, dryRun: boolean): Promise<FolderPlan> {
  const byUid = await client.getFolder(want.uid);
  if (byUid) return { uid: byUid.uid, title: byUid.title, action: 'keep', foundBy: 'uid' };
  const byTitle = (await client.listFolders()).find((f) => f.title === want.title);
  if (byTitle) return { uid: byTitle.uid, title: byTitle.title, action: 'keep', foundBy: 'title' };
  if (dryRun) return { uid: want.uid, title: want.title, action: 'create' };
  try {
    const made = await client.createFolder(want.uid, want.title);
    return { uid: made.uid ?? want.uid, title: made.title ?? want.title, action: 'create' };
  } catch (e) {
    // Created by someone else between our look and our create: use theirs.
    if (e instanceof GrafanaApiError && e.kind === 'CONFLICT') {
      const now = await client.getFolder(want.uid);
      if (now) return { uid: now.uid, title: now.title, action: 'keep', foundBy: 'uid' };
    }
    throw e;
  }
}

function plan(d: Dashboard, stored: StoredDashboard | undefined, folderUid: string): DashboardPlan {
  const base = { uid: d.uid, title: d.title };
  if (!stored) return { ...base, action: 'create', changes: [] };
  if (stored.meta.provisioned) return { ...base, action: 'provisioned', changes: [] };
  const changes = describeChanges(stored.dashboard, d);
  if ((stored.meta.folderUid ?? '') !== folderUid)
    changes.push(`folder: ${stored.meta.folderTitle ?? stored.meta.folderUid ?? 'General'} → ${folderUid}`);
  if (changes.length === 0)
    return {
      ...base,
      action: 'unchanged',
      changes: [],
      ...(stored.dashboard.version !== undefined ? { version: stored.dashboard.version } : {}),
    };
  return { ...base, action: 'update', changes, ...(stored.dashboard.version !== undefined ? { version: stored.dashboard.version } : {}) };
}

export async function push(o: PushOptions): Promise<PushReport> {
  const dryRun = o.dryRun ?? false;
  const uids = new Set<string>();
  for (const d of o.dashboards) {
    if (uids.has(d.uid)) throw new Error(`two dashboards with uid ${d.uid}`);
    uids.add(d.uid);
  }
  const folder = await resolveFolder(o.client, o.folder ?? DEFAULT_FOLDER, dryRun);
  const report: PushReport = { url: o.client.url, dryRun, folder, dashboards: [] };
  for (const d of o.dashboards) {
    const stored = await o.client.getDashboard(d.uid);
    const p = plan(d, stored, folder.uid);
    report.dashboards.push(p);
    if (dryRun || p.action === 'unchanged' || p.action === 'provisioned') continue;
    const saved = await o.client.saveDashboard({
      dashboard: {
        ...d,
        id: stored?.dashboard.id ?? null,
        ...(stored?.dashboard.version !== undefined ? { version: stored.dashboard.version } : {}),
      },
      folderUid: folder.uid,
      overwrite: false,
      message: o.message ?? 'tuojiang dashboards push',
    });
    p.version = saved.version;
  }
  return report;
}

export function formatReport(r: PushReport): string {
  const would = r.dryRun ? ' (dry run: nothing changed)' : '';
  const lines = [`Grafana ${r.url}${would}`];
  const folderVerb =
    r.folder.action === 'create'
      ? r.dryRun
        ? 'would create'
        : 'created'
      : `kept${r.folder.foundBy === 'title' ? ' (found by title)' : ''}`;
  lines.push(`folder ${r.folder.uid} "${r.folder.title}": ${folderVerb}`);
  for (const d of r.dashboards) {
    const verb = {
      create: r.dryRun ? 'would create' : 'created',
      update: r.dryRun ? 'would update' : 'updated',
      unchanged: 'unchanged',
      provisioned: 'provisioned from files on that Grafana: not pushed',
    }[d.action];
    lines.push(
      `dashboard ${d.uid} "${d.title}": ${verb}${d.version !== undefined && d.action !== 'provisioned' ? ` (version ${d.version})` : ''}`,
    );
    for (const c of d.changes) lines.push(`  - ${c}`);
  }
  return `${lines.join('\n')}\n`;
}
