/** The environmental standards as code: GB 3838 (surface water), HJ 633 (AQI), GB 3095 (air limits). */
export * from './gb3838.js';
export * from './hj633.js';
export * from './gb3095.js';
export { AIR_2026_IN_FORCE_MS, GB3095_2026_FINAL_IN_FORCE_MS } from './dates.js';
