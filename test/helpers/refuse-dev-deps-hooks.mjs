import { readFileSync } from 'node:fs';
import { fileURLToPath, URL } from 'node:url';

const root = new URL('../../', import.meta.url).href;
const pkg = JSON.parse(readFileSync(fileURLToPath(new URL('package.json', root)), 'utf8'));
const dev = new Set(Object.keys(pkg.devDependencies ?? {}));
const packageOf = (s) => (s.startsWith('@') ? s.split('/').slice(0, 2).join('/') : s.split('/')[0]);

export async function resolve(specifier, context, next) {
  const parent = context.parentURL ?? '';
  if (parent.startsWith(root) && !parent.includes('/node_modules/') && dev.has(packageOf(specifier))) {
    const e = new Error(`Cannot find package '${specifier}' imported from ${parent} (a devDependency: absent in production)`);
    e.code = 'ERR_MODULE_NOT_FOUND';
    throw e;
  }
  return next(specifier, context);
}
