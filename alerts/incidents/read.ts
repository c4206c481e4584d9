/**
 * Reading one incident for display (the ack page, `tuojiang alerts status`): the stored JSON is
 * written by the engine, but a page or a listing must not fail on a damaged or foreign value in
 * Redis, so anything that does not parse or lacks the fields the display reads is "not found".
 */
import type { IncidentStore } from './store.js';
import type { Incident } from './types.js';

function looksLikeIncident(x: unknown): x is Incident {
  if (typeof x !== 'object' || x === null) return false;
  const i = x as Record<string, unknown>;
  return (
    typeof i.id === 'string' &&
    (i.kind === 'river' || i.kind === 'air') &&
    (i.status === 'open' || i.status === 'closed') &&
    typeof i.origin === 'string' &&
    typeof i.parameter === 'string' &&
    typeof i.openedAt === 'number' &&
    typeof i.seq === 'number' &&
    Array.isArray(i.sections) &&
    Array.isArray(i.reportTimes) &&
    Array.isArray(i.misses) &&
    i.sections.every(
      (s: unknown) =>
        typeof s === 'object' &&
        s !== null &&
        typeof (s as { station?: unknown }).station === 'string' &&
        Array.isArray((s as { firing?: unknown }).firing) &&
        typeof (s as { params?: unknown }).params === 'object',
    )
  );
}

export type IncidentRead = { found: true; incident: Incident } | { found: false; damaged: boolean; error?: string };

export async function readIncident(store: IncidentStore, id: string): Promise<IncidentRead> {
  let raw: Incident | undefined;
  try {
    raw = await store.incident(id);
  } catch (e) {
    if (!(e instanceof SyntaxError)) throw e;
    return { found: false, damaged: true, error: e.message };
  }
  if (raw === undefined) return { found: false, damaged: false };
  if (!looksLikeIncident(raw) || raw.id !== id) return { found: false, damaged: true, error: 'stored value is not an incident' };
  return { found: true, incident: raw };
}
