import type { LoadedConfig } from '../../config/load.js';
import type { Env } from '../../config/env.js';
import type { Logger } from '../../lib/logger.js';
import type { IngestMetrics } from '../../lib/metrics.js';
import type { StationRegistry } from '../../config/station-registry.js';
import type { MessageContext } from '../process-message.js';
import type { TakeoverEvidence } from '../session-takeover.js';

/**
 * Called once per message. The returned promise resolves once the message is durable in the journal
 * and only then may the source acknowledge it to its sender (a PUBACK, an HJ 212 answer); a
 * rejection means "not taken": the sender must deliver it again.
 */
export type MessageHandler = (topic: string, payload: Buffer, context?: MessageContext) => Promise<void>;

/**
 * Where messages come from: a broker, a listener for data loggers, … Every source keeps the same
 * no-loss rule: nothing is acknowledged to a sender before the handler's promise resolves.
 */
export interface Source {
  /** Short name for logs and metrics labels, e.g. `mqtt`, `hj212-tcp`. */
  readonly name: string;
  /** Messages handed to the handler and not yet settled. */
  readonly held: number;
  /** Connect or listen; resolves once the source can take messages. */
  start(handler: MessageHandler): Promise<void>;
  /** Named checks for /readyz, all true when the source is ready. */
  ready(): Record<string, boolean>;
  /** What /readyz and the startup log say about the source besides its checks (the MQTT partition). */
  describe?(): Record<string, unknown>;
  /** Send an answer to a station (after its message is durable); rejects if it cannot be sent. */
  reply(station: string, payload: string): Promise<void>;
  /** SIGTERM: take no new messages (answers to what was taken still go out). */
  quiesce(): void;
  /** Close gracefully: what is owed is delivered, then the connections close. */
  stop(): Promise<void>;
  /** At the shutdown deadline: close at once. */
  drop(): void;
}

/** What a source is built from (ingest/sources/index.ts). */
export interface SourceContext {
  config: LoadedConfig;
  env: Env;
  log: Logger;
  metrics: IngestMetrics;
  registry: StationRegistry;
  instance: string;
  /** The MQTT source's session was taken over (ingest-service reports it on /readyz). */
  onSessionTakenOver(clientId: string, evidence: TakeoverEvidence): void;
}

/** Builds a source from the configuration, or undefined when it is not enabled. */
export type SourceFactory = (ctx: SourceContext) => Source | undefined;
