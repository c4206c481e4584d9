#!/usr/bin/env node
// CLI entry. In a source checkout (cli/main.ts present, tsx installed) it runs the TypeScript sources,
// so a stale `dist/` can never answer for the code in front of you; an installed package or an image
// without the sources runs the compiled build.
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const source = join(root, 'cli', 'main.ts');
const built = join(root, 'dist', 'cli', 'main.js');
let api;
if (existsSync(source)) {
  try {
    api = await import('tsx/esm/api');
  } catch {
    api = undefined;
  }
}
if (api) {
  api.register();
  await import(pathToFileURL(source).href);
} else if (existsSync(built)) {
  await import(pathToFileURL(built).href);
} else {
  console.error('tuojiang: no build found; run `npm run build` (or `npm ci` in a checkout, which installs tsx)');
  process.exit(1);
}
