/**
 * Where the ingest's messages come from. Each entry builds its source from the configuration, or
 * returns undefined when it is not enabled. Adding a source (e.g. Modbus) is one file implementing
 * Source (source.ts) and one line here: everything after the source (decoding, validation, the
 * journal, answers once durable) is shared.
 */
import { hj212TcpSource } from './hj212-tcp.js';
import { mqttSource } from './mqtt.js';
import type { SourceFactory } from './source.js';

export const SOURCES: readonly SourceFactory[] = [mqttSource, hj212TcpSource];

export type { MessageHandler, Source, SourceContext, SourceFactory } from './source.js';
