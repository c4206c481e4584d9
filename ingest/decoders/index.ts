/**
 * The wire formats the ingest reads, tried in this order: the first decoder that accepts a payload
 * decodes it. Adding a format is one file implementing Decoder (decoder.ts) and one line here.
 * A source may restrict a message to some of them by name (the HJ 212 TCP listener takes frames
 * only).
 */
import type { Decoder } from './decoder.js';
import { hj212Decoder } from './hj212.js';
import { jsonDecoder } from './json.js';

export const DECODERS: readonly Decoder[] = [hj212Decoder, jsonDecoder];

export type { Decoder, DecodeContext, Decoded } from './decoder.js';
