import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

const ROOT = join(import.meta.dirname, '..', '..');

/**
 * The Node options a bench starts an ingest process with: those docker-compose.yml gives the
 * ingest service (the ingest as shipped), then INGEST_NODE_ARGS (e.g. "--cpu-prof
 * --cpu-prof-dir=/tmp/prof"); a flag given twice takes its last value, so INGEST_NODE_ARGS can
 * also override a shipped one (`--max-semi-space-size=16`).
 */
export function ingestNodeArgs(): string[] {
  const compose = parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
    services: { ingest?: { environment?: Record<string, string> } };
  };
  const shipped = compose.services.ingest?.environment?.NODE_OPTIONS ?? '';
  return [...shipped.split(' '), ...(process.env.INGEST_NODE_ARGS ?? '').split(' ')].filter(Boolean);
}
