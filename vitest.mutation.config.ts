import { defineConfig } from 'vitest/config';

// The mutation run (test/mutation/run.ts): only the unit tests of the group under test, named in
// TJ_MUTATION_TESTS, with a small property budget so each mutant costs seconds, not minutes.
const tests = (process.env.TJ_MUTATION_TESTS ?? 'test/unit/**/*.test.ts').split(',').filter(Boolean);

export default defineConfig({
  test: {
    include: tests,
    setupFiles: ['test/helpers/property-runs-setup.ts'],
    testTimeout: 30_000,
    reporters: ['default'],
  },
});
