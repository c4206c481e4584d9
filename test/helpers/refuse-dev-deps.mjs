// Loaded with `node --import tsx --import ./test/helpers/refuse-dev-deps.mjs …`: the project's own
// modules may not import a devDependency, as in the production image (`npm ci --omit=dev`).
import { register } from 'node:module';

register('./refuse-dev-deps-hooks.mjs', import.meta.url);
