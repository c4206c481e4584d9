/**
 * The notifications' configuration: config/recipients.yaml and config/rivers.yaml, validated
 * against the station registry like every other file (errors name file, line and key).
 */
import { join } from 'node:path';
import { loadYamlFile } from '../../config/load.js';
import {
  recipientsSchemaFor,
  type BureauConfig,
  type Language,
  type PersonConfig,
  type QuietHoursConfig,
  type RecipientsFile,
} from '../../config/recipients-schema.js';
import { riversSchemaFor, type RiversFile } from '../../config/rivers-schema.js';
import type { RegistryConfig } from '../../config/schema.js';

export const RECIPIENTS_FILE = 'recipients.yaml';
export const RIVERS_FILE = 'rivers.yaml';

export interface NotifyConfig {
  recipients: RecipientsFile;
  rivers: RiversFile;
}

export function loadNotifyConfig(dir: string, registry: RegistryConfig): NotifyConfig {
  return {
    recipients: loadYamlFile(join(dir, RECIPIENTS_FILE), recipientsSchemaFor(registry)),
    rivers: loadYamlFile(join(dir, RIVERS_FILE), riversSchemaFor(registry)),
  };
}

/** One bureau's policy with the defaults filled in. */
export interface BureauPolicy {
  id: string;
  name: { zh: string; en: string };
  duty: PersonConfig[];
  escalation: PersonConfig[];
  language: Language;
  groupWaitMs: number;
  ackTimeoutMs: number;
  quietHours: QuietHoursConfig | null;
}

export function bureauPolicy(r: RecipientsFile, id: string): BureauPolicy | undefined {
  const b: BureauConfig | undefined = r.bureaus[id];
  if (!b) return undefined;
  const d = r.defaults;
  return {
    id,
    name: b.name,
    duty: dedupe(b.duty),
    escalation: dedupe(b.escalation),
    language: b.language ?? d.language,
    groupWaitMs: (b.group_wait_s ?? d.group_wait_s) * 1000,
    ackTimeoutMs: (b.ack_timeout_min ?? d.ack_timeout_min) * 60_000,
    quietHours: b.quiet_hours !== undefined ? b.quiet_hours : d.quiet_hours,
  };
}

/** One e-mail per address: the same address twice in a list is one recipient. */
function dedupe(people: PersonConfig[]): PersonConfig[] {
  const seen = new Set<string>();
  return people.filter((p) => {
    const k = p.email.toLowerCase();
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
