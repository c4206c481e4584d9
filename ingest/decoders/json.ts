import { decodeJson } from '../decode-json.js';
import type { Decoder } from './decoder.js';

/** The wire contract's JSON (README, Wire contract). Accepts anything: it belongs last in the list. */
export const jsonDecoder: Decoder = {
  name: 'json',
  accepts: () => true,
  decode: (payload, ctx) => ({ raw: decodeJson(payload, ctx.topicInfo, ctx.registry) }),
};
