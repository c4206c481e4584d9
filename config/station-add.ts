/**
 * Adds a station to stations.yaml the way an operator would by hand, keeping the file's comments
 * and layout: the new entry is appended to `stations:`, the whole registry is validated (ids, MNs,
 * cities, required water fields) before the file is replaced, and the file is replaced by a rename.
 */
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Document, isMap, isSeq, parseDocument } from 'yaml';
import { TuojiangError } from '../lib/errors.js';
import { loadYamlFile } from './load.js';
import { RegistrySchema, type RegistryConfig } from './schema.js';

export interface NewStation {
  id: string;
  name: { zh: string; en: string };
  city: string;
  kind: 'water' | 'air';
  coordinates: { lat: number; lon: number };
  mn: string;
  river?: string;
  river_km?: number;
  target_class?: 'I' | 'II' | 'III' | 'IV' | 'V';
  waterbody?: 'river' | 'lake';
  drinking_water_intake?: boolean;
}

export async function addStation(configDir: string, station: NewStation): Promise<RegistryConfig> {
  const file = join(configDir, 'stations.yaml');
  const doc = parseDocument(await readFile(file, 'utf8'));
  const stations = doc.get('stations');
  if (!isSeq(stations)) throw new TuojiangError('CONFIG_INVALID', `${file}: no stations: list to add to`);
  for (const item of stations.items) {
    if (isMap(item) && item.get('id') === station.id)
      throw new TuojiangError(
        'CONFIG_INVALID',
        `${file}: station ${station.id} exists already (\`tuojiang stations check ${station.id}\` says what it still lacks)`,
      );
  }
  const entry = Object.fromEntries(Object.entries(station).filter(([, v]) => v !== undefined));
  const node = doc.createNode(entry);
  // Names and coordinates on one line each, as the shipped file writes them.
  for (const key of ['name', 'coordinates']) {
    const child = node.get(key, true) as { flow?: boolean } | undefined;
    if (child) child.flow = true;
  }
  const mnNode = node.get('mn', true) as { type?: string } | undefined;
  if (mnNode) mnNode.type = 'QUOTE_DOUBLE';
  // Appended as text when `stations:` ends the file (the shipped layout): every existing byte
  // stays as the operator wrote it. Otherwise the document is written out again.
  const source = await readFile(file, 'utf8');
  const last = doc.contents && isMap(doc.contents) ? doc.contents.items.at(-1) : undefined;
  let text: string;
  if (
    last &&
    String((last.key as { value?: unknown } | null)?.value) === 'stations' &&
    stations.range?.[1] !== undefined &&
    source.slice(stations.range[1]).trim() === ''
  ) {
    const indent = /\n( *)- id:/.exec(source)?.[1] ?? '  ';
    const item = new Document(node).toString({ lineWidth: 0 }).trimEnd().split('\n');
    const block = item.map((l, i) => `${indent}${i === 0 ? '- ' : '  '}${l}`).join('\n');
    text = `${source.trimEnd()}\n\n${block}\n`;
  } else {
    stations.add(node);
    text = doc.toString({ lineWidth: 0 });
  }

  const tmp = `${file}.tuojiang-new`;
  await writeFile(tmp, text);
  try {
    // The same validation every service runs at start: a wrong entry never replaces a good file.
    const registry = loadYamlFile(tmp, RegistrySchema);
    await rename(tmp, file);
    return registry;
  } catch (e) {
    await rm(tmp, { force: true });
    // The problem as it would be in stations.yaml (same lines: the entry is appended).
    if (e instanceof TuojiangError) throw new TuojiangError('CONFIG_INVALID', e.message.split(tmp).join(file));
    throw e;
  }
}
