/** The unified-threshold store (issue 6): versions in Redis, consent rules, the live source for the checks. */
export {
  ThresholdStore,
  DEFAULT_PROPOSAL_TTL_MS,
  parseUntil,
  type ThresholdStoreOptions,
  type ProposalInput,
  type VersionDiff,
  type HistoryQuery,
} from './store.js';
export { RedisThresholdSource, openRedisThresholdSource, MAX_POLL_MS, type RedisThresholdSourceOptions } from './source.js';
export {
  OperatorDirectory,
  createOperatorToken,
  hashToken,
  newToken,
  operatorsFilePath,
  OPERATORS_FILE,
  type Operator,
} from './operators.js';
export { THRESHOLD_CHANGES_MEASUREMENT, changePoint } from './recorder.js';
export { ThresholdKeys } from './scripts.js';
export type * from './types.js';
