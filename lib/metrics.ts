import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * Prometheus metrics of one process. A registry per service instance (not the global default) so
 * tests can run several services in one process without their counters colliding.
 */
export function createIngestMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'tuojiang_' });
  // Counts kept as plain numbers and read when scraped: they change with every message, and a
  // prom-client set() or inc() per change cost about half a microsecond per reading (docs/decisions/0018).
  const held = { now: 0, peak: 0 };
  const received = { pending: 0 };
  const mqttReadBy = { reader: 0, library: 0 };
  return {
    registry,
    /** Messages received since the last scrape, added to tuojiang_readings_in_total when it is read. */
    received,
    /** What the MQTT source holds now and its peak: written by the source, read by the two gauges below. */
    held,
    /** MQTT messages by what read them: written by the source, read by tuojiang_ingest_mqtt_messages_total. */
    mqttReadBy,
    readingsIn: new Counter({
      name: 'tuojiang_readings_in_total',
      help: 'MQTT messages received by the ingest',
      registers: [registry],
      collect() {
        if (received.pending === 0) return;
        this.inc(received.pending);
        received.pending = 0;
      },
    }),
    readingsJournaled: new Counter({
      name: 'tuojiang_readings_journaled_total',
      help: 'Valid readings made durable in the journal',
      labelNames: ['medium'],
      registers: [registry],
    }),
    readingsWritten: new Counter({ name: 'tuojiang_readings_written_total', help: 'Readings written to InfluxDB', registers: [registry] }),
    readingsRejected: new Counter({
      name: 'tuojiang_readings_rejected_total',
      help: 'Messages refused, by reason code: dead-lettered, or refused over a station budget (TJ_RATE_LIMITED, one per station and 10 s kept)',
      labelNames: ['reason'],
      registers: [registry],
    }),
    writeLatency: new Histogram({
      name: 'tuojiang_influx_write_seconds',
      help: 'InfluxDB write request latency',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    writeFailures: new Counter({
      name: 'tuojiang_influx_write_failures_total',
      help: 'Failed InfluxDB write attempts (retried)',
      registers: [registry],
    }),
    journalBacklog: new Gauge({
      name: 'tuojiang_journal_backlog',
      help: 'Readings in the journal not yet written to InfluxDB',
      registers: [registry],
    }),
    splitParts: new Counter({
      name: 'tuojiang_split_parts_total',
      help: 'HJ 212 split-packet parts received (each stored in Redis until its packet is complete)',
      registers: [registry],
    }),
    sessionTakeovers: new Counter({
      name: 'tuojiang_mqtt_session_takeovers_total',
      help: "Times another client took an ingest connection's MQTT session, by client id and evidence (disconnect-0x8e, silent-close)",
      labelNames: ['client_id', 'evidence'],
      registers: [registry],
    }),
    repliesSent: new Counter({
      name: 'tuojiang_hj212_answers_total',
      help: 'HJ 212 data answers (CN 9014) sent, once the frame was durable: on the station reply topic (MQTT) or the logger connection (TCP)',
      registers: [registry],
    }),
    valuesRefused: new Counter({
      name: 'tuojiang_values_refused_total',
      help: 'Single values refused outside their plausible range (TJ_IMPLAUSIBLE_VALUE), whether or not the rest of the reading was kept',
      labelNames: ['parameter'],
      registers: [registry],
    }),
    redisStateLost: new Counter({
      name: 'tuojiang_redis_state_lost_total',
      help: 'Times Redis was found without state it had (TJ_REDIS_STATE_LOST), by what was missing',
      labelNames: ['what'],
      registers: [registry],
    }),
    redisOutOfMemory: new Counter({
      name: 'tuojiang_redis_oom_refusals_total',
      help: 'Journal appends Redis refused at maxmemory (OOM under noeviction, TJ_REDIS_OOM): the readings stay unacknowledged at the broker and are retried',
      registers: [registry],
    }),
    journalNotReplicated: new Counter({
      name: 'tuojiang_journal_not_replicated_total',
      help: 'Journal appends the Redis master took but fewer than redis.wait_replicas replicas acknowledged in time (TJ_REDIS_NOT_REPLICATED): the readings stay unacknowledged and are retried',
      registers: [registry],
    }),
    readingsCorrected: new Counter({
      name: 'tuojiang_readings_corrected_total',
      help: 'Re-sent readings (same station, period and time) whose values differ from those stored first: recorded as TJ_READING_CORRECTED, the first values kept',
      registers: [registry],
    }),
    partitionStations: new Gauge({
      name: 'tuojiang_ingest_partition_stations',
      help: 'Stations of stations.yaml this partitioned ingest subscribes to, labelled with its partition k/N (absent when unpartitioned)',
      labelNames: ['partition'],
      registers: [registry],
    }),
    messagesHeld: new Gauge({
      name: 'tuojiang_ingest_messages_held',
      help: 'MQTT messages received and not yet journaled (PUBACK withheld); at most mqtt.connections x mqtt.receive_maximum',
      registers: [registry],
      collect() {
        this.set(held.now);
      },
    }),
    messagesHeldPeak: new Gauge({
      name: 'tuojiang_ingest_messages_held_peak',
      help: 'Highest tuojiang_ingest_messages_held since the process started',
      registers: [registry],
      collect() {
        this.set(held.peak);
      },
    }),
    hj212Connections: new Gauge({
      name: 'tuojiang_hj212_tcp_connections',
      help: 'Open HJ 212 TCP connections (data loggers)',
      registers: [registry],
    }),
    hj212FramesHeld: new Gauge({
      name: 'tuojiang_hj212_tcp_frames_held',
      help: 'HJ 212 frames received over TCP and not yet durable (their answers not yet sent)',
      registers: [registry],
    }),
    hj212Closed: new Counter({
      name: 'tuojiang_hj212_tcp_closed_total',
      help: 'HJ 212 TCP connections closed by the ingest, by reason (unknown-mn, wrong-password, mn-changed, frame-too-long, slow-frame, slow-reader, idle, …) and station (empty when unknown)',
      labelNames: ['reason', 'station'],
      registers: [registry],
    }),
    hj212Resent: new Counter({
      name: 'tuojiang_hj212_resent_total',
      help: 'HJ 212 frames re-sent by a logger (identical to one journaled within ingest.hj212_tcp.resend_window_s): answered, not stored again',
      labelNames: ['station'],
      registers: [registry],
    }),
    hj212Quirks: new Counter({
      name: 'tuojiang_hj212_quirks_total',
      help: 'Readings stored although their HJ 212 frame deviates from the standard, as the station is allowed (stations.yaml hj212), by station and quirk',
      labelNames: ['station', 'quirk'],
      registers: [registry],
    }),
    mqttMessages: new Counter({
      name: 'tuojiang_ingest_mqtt_messages_total',
      help: 'MQTT messages handed to the ingest, by what read them off the connection: read_by="ingest" (plain QoS 0/1 PUBLISH), "mqtt.js" (QoS 2, or carrying MQTT 5 properties; slower)',
      labelNames: ['read_by'],
      registers: [registry],
      collect() {
        this.reset();
        this.inc({ read_by: 'ingest' }, mqttReadBy.reader);
        this.inc({ read_by: 'mqtt.js' }, mqttReadBy.library);
      },
    }),
    readPauses: new Counter({
      name: 'tuojiang_ingest_read_pauses_total',
      help: 'Times the ingest stopped reading from the broker because the held-message bound was reached',
      registers: [registry],
    }),
  };
}

export type IngestMetrics = ReturnType<typeof createIngestMetrics>;
