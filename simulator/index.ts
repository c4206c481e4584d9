/**
 * The simulator's public API: `runSimulation` for the CLI and the demo, and the pure parts (plans,
 * readings, encodings) for tests and for printing what a run will do before it does it.
 */
export { runSimulation, SCENARIOS, MQTT_CONNECT_FAILED } from './run.js';
export type {
  SimOptions,
  SimEvent,
  SimSummary,
  StationCounts,
  PlumeRecord,
  SectionArrival,
  Scenario,
  ScenarioName,
  SpillScenario,
} from './run.js';
export { planSpill, spillSpanMs, plumeAt, travelHours, SPILL_DEFAULTS } from './plume.js';
export type { SpillOptions, SpillPlan, SectionPlan, Reach } from './plume.js';
export { slotAt, slotsBetween, DEFAULT_INTERVALS } from './readings.js';
export type { Intervals, SimReading, ReadingContext } from './readings.js';
export { DEFAULT_INCIDENTS } from './incidents.js';
export type { IncidentRates } from './incidents.js';
export { INVALID_KINDS, encodeHj212, encodeJson, toSentUnits } from './encode.js';
export type { Encoding, InvalidKind } from './encode.js';
export { createClock } from './clock.js';
export { loadRivers, reachesFromRivers, withRiverVelocities, RIVERS_FILE } from './rivers.js';
export { formatEvent, formatSummary, cstText } from './format.js';
