/**
 * The zod pieces every rule's entry in thresholds.yaml is built from, shared with the rest of the
 * thresholds schema (alerts/thresholds-schema.ts) so both say "a count", "minutes" the same way.
 */
import { z } from 'zod';
import { PARAMETER_BY_KEY } from '../../lib/parameters.js';

export const paramKey = z.string().refine((k) => PARAMETER_BY_KEY.has(k), { message: 'a canonical parameter key (README, Wire contract)' });
export const count = z.number().int().min(1).max(1000);
export const minutes = z
  .number()
  .positive()
  .max(60 * 24 * 31);
export const fraction = z.number().min(0).max(0.9);

/** Rule timing shared by every stateful rule: how many/how long before firing, how many before clearing. */
export const timing = {
  enabled: z.boolean(),
  /** N: consecutive readings beyond the threshold before firing (1 = instant). */
  consecutive: count,
  /** T: or beyond it for this many minutes, first to last breaching reading (null = only N counts). */
  duration_min: minutes.nullable(),
  /** M: consecutive readings past the clear level before resolving. */
  clear_consecutive: count,
  /** h: clears only at limit × (1 − h) (upper bounds) or limit × (1 + h) (lower bounds). */
  hysteresis: fraction,
};
