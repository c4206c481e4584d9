import { defineConfig } from 'vitest/config';

// Integration tests start real Mosquitto/Redis/InfluxDB per file; on a 2-core machine two files at a
// time keeps them from starving each other.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 120_000,
    hookTimeout: 120_000,
    reporters: ['default'],
  },
});
