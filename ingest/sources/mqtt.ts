import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { ingestPartition, partitionTag, partitionText, partitionTopics, idsInPartition } from '../../config/partition.js';
import type { Logger } from '../../lib/logger.js';
import type { Duplex, Writable } from 'node:stream';
import { encodePubackIds } from '../../lib/mqtt-puback.js';
import { PublishReader, type InboundPublish } from '../../lib/mqtt-publish-reader.js';
import { TakeoverDetector, type TakeoverEvidence } from '../session-takeover.js';
import { replyTopic } from '../topics.js';
import type { MessageHandler, Source, SourceFactory } from './source.js';

export interface MqttSourceOptions {
  url: string;
  username?: string | undefined;
  password?: string | undefined;
  clientIdPrefix: string;
  /** The client ids' middle part: the host's instance, or the partition (`p2of4`) when partitioned. */
  instance: string;
  connections: number;
  /** Empty: plain subscriptions divided among the connections. */
  shareGroup: string;
  reconnectPeriodMs: number;
  subscriptions: string[];
  sessionExpiryS: number;
  receiveMaximum: number;
  /** Another client took the session of connection `clientId` (see session-takeover.ts). */
  onSessionTakenOver?: (clientId: string, evidence: TakeoverEvidence) => void;
  /** Messages handed to the handler whose promise has not settled yet, after every change. */
  onHeldChange?: (held: number) => void;
  /** Reading from the sockets stopped because `held` reached connections × receiveMaximum. */
  onPause?: () => void;
  /** Messages read by the ingest's own reader and by MQTT.js (QoS 2, MQTT 5 properties); counted here, read when scraped. */
  counts?: { reader: number; library: number };
  /** Where HJ 212 answers to a station go, `{station}` replaced (mqtt.reply_topic). */
  replyTopic?: string;
  /** What /readyz and the startup log say about this source (the partition and its stations). */
  describe?: Record<string, unknown>;
}

/**
 * Topics per SUBSCRIBE packet. A partitioned ingest subscribes to hundreds of exact topics at every
 * connect: one packet each cost 576 ms for 2,000 topics against a local Mosquitto, 100 to a packet
 * 29 ms, all in one 24 ms (decision 0017). 100 of them, about 4 KB, stay far below the broker's
 * max_packet_size (1 MiB) whatever the topic prefix, and a refusal names a short list.
 */
export const SUBSCRIBE_BATCH = 100;

const generations = new WeakMap<MqttClient, number>();

interface SendPacket {
  (
    packet: { cmd: string; messageId?: number; reasonCode?: number },
    cb?: (err?: Error) => void,
    cbStorePut?: unknown,
    noStore?: boolean,
  ): void;
}

/*
 * The handler's promise decides the PUBACK: sent only when it resolves. A rejection withholds the
 * PUBACK for good: the broker redelivers the message after the next reconnect.
 */

/**
 * The broker boundary: N MQTT 5 connections with fixed client ids and persistent sessions (plain
 * subscriptions divided among them, or one `$share` group), with the PUBACK delayed until the
 * handler has made the message durable.
 *
 * MQTT.js keeps each connection (connect, subscribe, keepalive, reconnect, DISCONNECT reason codes);
 * the plain QoS 0/1 PUBLISH packets, nearly all the traffic, are read off the socket before it
 * (readPublishesFirst), and what that leaves reaches MQTT.js's handleMessage (delayPubacks).
 */
export class MqttSource implements Source {
  readonly name = 'mqtt';
  private clients: MqttClient[] = [];
  private connected = new Set<number>();
  /** Connections whose every SUBSCRIBE since their last connect was granted (/readyz `mqtt`). */
  private subscribed = new Set<number>();
  /** When each connection last lost an established link without our doing (socket closed, no error). */
  private readonly lastCloseAt = new Map<number, number>();
  private stopping = false;
  /** Messages given to the handler and not yet settled (journaled, or refused for redelivery). */
  private holding = 0;
  private peak = 0;
  /** Each client's current connection's held PUBACKs. */
  private readonly pubacks = new WeakMap<MqttClient, PubackGroups>();
  /** Messages the sockets delivered while at the bound, not yet handed to the handler. */
  private stalled: Array<{ client: MqttClient; admit: () => void }> = [];

  /**
   * The documented bound, enforced here rather than trusted to the broker: Mosquitto 2.0 let one
   * connection hold 10,319 unacknowledged messages with Receive Maximum 1,000 when PUBACKs
   * arrived in batches (issue 15).
   */
  get bound(): number {
    return this.opts.connections * this.opts.receiveMaximum;
  }

  get held(): number {
    return this.holding;
  }

  get peakHeld(): number {
    return this.peak;
  }

  constructor(
    private readonly opts: MqttSourceOptions,
    private readonly log: Logger,
  ) {}

  get allConnected(): boolean {
    return this.connected.size === this.clients.length && this.clients.length > 0;
  }

  /**
   * Every connection connected and its subscriptions acknowledged. Until the SUBACK the broker
   * routes nothing new to a fresh session: a partition's new process that reported ready earlier
   * would let the old one be stopped while its topics had no other subscriber (docs/operations.md,
   * Scaling the ingest: partitions).
   */
  get allSubscribed(): boolean {
    return this.allConnected && this.subscribed.size === this.clients.length;
  }

  describe(): Record<string, unknown> {
    return this.opts.describe ?? {};
  }

  get connectedCount(): number {
    return this.connected.size;
  }

  ready(): Record<string, boolean> {
    return { mqtt: this.allSubscribed };
  }

  /** The broker queues for us while we drain: nothing to refuse here, the service rejects new messages. */
  quiesce(): void {}

  /** An HJ 212 answer on the station's reply topic (mqtt.reply_topic). */
  reply(station: string, payload: string): Promise<void> {
    return this.publish(replyTopic(this.opts.replyTopic ?? 'tuojiang/reply/{station}', station), payload);
  }

  start(handler: MessageHandler): Promise<void> {
    this.connect(handler);
    return Promise.resolve();
  }

  private connect(handler: MessageHandler): void {
    for (let i = 0; i < this.opts.connections; i++) {
      const clientId = `${this.opts.clientIdPrefix}-${this.opts.instance}-${i}`;
      const options: IClientOptions = {
        clientId,
        clean: false,
        protocolVersion: 5,
        // Receive Maximum bounds how many unacknowledged messages the broker sends this connection:
        // it is both the batch size a connection can contribute and the memory it can hold.
        properties: { sessionExpiryInterval: this.opts.sessionExpiryS, receiveMaximum: this.opts.receiveMaximum },
        reconnectPeriod: this.opts.reconnectPeriodMs,
        connectTimeout: 10_000,
        // Subscriptions live in the broker session; we re-subscribe ourselves on every connect.
        resubscribe: false,
        // MQTT.js calls its debug logger several times per packet; a no-op saves ~3 % of the CPU.
        log: () => undefined,
        // The stream builder is wrapped below (readPublishesFirst) before the first connect.
        manualConnect: true,
        ...(this.opts.username ? { username: this.opts.username, password: this.opts.password ?? '' } : {}),
      };
      const client = mqtt.connect(this.opts.url, options);
      generations.set(client, 0);
      this.delayPubacks(client, clientId, handler);
      this.readPublishesFirst(client, clientId, handler);
      const takeover = new TakeoverDetector();
      let socketError = false;
      const report = (evidence: TakeoverEvidence | undefined): void => {
        if (!evidence) return;
        // A takeover is aimed at one client id; a broker that stops (or restarts quickly enough to
        // accept the first reconnect) closes every connection at once. With two or more
        // connections, a silent close of all of them within the same moment is that restart: before
        // this, a plain `docker compose restart mosquitto` left the ingest unready for 5 minutes
        // behind a false TJ_MQTT_SESSION_TAKEN_OVER (test/integration/compose-stack.test.ts).
        if (evidence === 'silent-close' && this.allClosedTogether()) {
          this.log.info(
            { clientId },
            'every MQTT connection closed at once without a DISCONNECT: a broker restart, not a session takeover',
          );
          return;
        }
        this.opts.onSessionTakenOver?.(clientId, evidence);
      };
      client.on('disconnect', (packet) => {
        report(takeover.onDisconnectPacket(packet.reasonCode));
        if (packet.reasonCode !== 0x8e) this.log.warn({ clientId, reasonCode: packet.reasonCode }, 'broker disconnected us');
      });
      client.on('reconnect', () => takeover.onReconnectAttempt());
      client.on('connect', (ack) => {
        this.connected.add(i);
        report(takeover.onConnect());
        socketError = false;
        this.log.info({ clientId, sessionPresent: ack.sessionPresent }, 'mqtt connected');
        this.subscribe(client, clientId, i);
      });
      client.on('close', () => {
        // Every loss of an established link counts toward "all closed together", one that came with a
        // socket error too: a restarting broker ends some connections while we write to them (EPIPE,
        // "ended by the other party") and others silently, and only together are they a restart.
        if (!this.stopping && this.connected.has(i)) this.lastCloseAt.set(i, Date.now());
        takeover.onClose(this.stopping || socketError);
        socketError = false;
        this.connected.delete(i);
        this.subscribed.delete(i);
        // Messages this connection delivered while we were at the bound die with it: the broker
        // redelivers them, so handing them to the handler now would only journal them twice.
        this.stalled = this.stalled.filter((s) => s.client !== client);
        // PUBACKs still held belong to the old connection: the broker will redeliver those messages.
        generations.set(client, (generations.get(client) ?? 0) + 1);
      });
      client.on('error', (e) => {
        socketError = true;
        this.log.warn({ clientId, err: e.message }, 'mqtt error');
      });
      this.clients.push(client);
      client.connect();
    }
  }

  /**
   * This connection's filters, SUBSCRIBE_BATCH to a packet; the connection counts as subscribed once
   * every packet's SUBACK granted every filter. A refusal (reason code 0x80 and up: the ACL, a
   * broker limit) is logged with its topics and leaves /readyz false.
   */
  private subscribe(client: MqttClient, clientId: string, i: number): void {
    const filters = this.filtersFor(i);
    const batches: string[][] = [];
    for (let k = 0; k < filters.length; k += SUBSCRIBE_BATCH) batches.push(filters.slice(k, k + SUBSCRIBE_BATCH));
    const generation = generations.get(client);
    Promise.all(
      batches.map(
        (batch) =>
          new Promise<boolean>((resolve) => {
            client.subscribe(batch, { qos: 1 }, (err, granted) => {
              if (err) this.log.error({ clientId, err: err.message, filters: batch.length }, 'subscribe failed');
              const refused = granted?.filter((g) => g.qos > 2) ?? [];
              if (refused.length > 0)
                this.log.error({ clientId, refused: refused.map((g) => g.topic) }, 'broker refused subscriptions (check the ACL)');
              resolve(!err && refused.length === 0);
            });
          }),
      ),
    ).then(
      (granted) => {
        // A SUBACK of a connection that has since closed says nothing of the new one.
        if (generations.get(client) !== generation || !this.connected.has(i)) return;
        if (granted.every(Boolean)) this.subscribed.add(i);
      },
      () => undefined,
    );
  }

  /** Every connection (two or more) lost its link within 2 s of the others: the broker went away. */
  private allClosedTogether(): boolean {
    const n = this.opts.connections;
    if (n < 2 || this.lastCloseAt.size < n) return false;
    const times = [...this.lastCloseAt.values()];
    return Math.max(...times) - Math.min(...times) <= 2000;
  }

  /**
   * For the PUBLISH packets readPublishesFirst leaves to MQTT.js (MQTT 5 properties, QoS 2):
   * delayed PUBACK without serialising the connection. MQTT.js handles the next incoming packet only
   * after the PUBACK of the previous one is written, so delaying the PUBACK through handleMessage's
   * callback alone caps a connection at one message per journal round trip (measured: ~3,000 msg/s,
   * docs/decisions/0001). Here handleMessage returns at once and the PUBACK packet itself is held
   * until the handler's promise resolves, so a connection can have up to Receive Maximum messages
   * in one journal batch. A PUBACK held across a reconnect is dropped; the broker redelivers.
   */
  private delayPubacks(client: MqttClient, clientId: string, handler: MessageHandler): void {
    const held = new Map<number, { durable: Promise<void>; generation: number }>();
    const internals = client as unknown as { _sendPacket: SendPacket };
    const send: SendPacket = internals._sendPacket.bind(client);
    internals._sendPacket = (packet, cb, cbStorePut, noStore) => {
      const hold = packet.cmd === 'puback' && packet.messageId !== undefined ? held.get(packet.messageId) : undefined;
      if (!hold || (packet.reasonCode ?? 0) !== 0) return send(packet, cb, cbStorePut, noStore);
      held.delete(packet.messageId!);
      cb?.();
      // Into the same groups as the reader's PUBACKs, so that a connection acknowledges in the order
      // it received (MQTT 5.0 §4.6). A closed connection's messages come again on the next one.
      if (generations.get(client) === hold.generation) this.pubacks.get(client)?.add(hold.durable, packet.messageId!);
    };
    client.handleMessage = (packet, callback) => {
      const generation = generations.get(client)!;
      const admit = (): void => {
        if (generations.get(client) !== generation) return;
        if (this.opts.counts) this.opts.counts.library++;
        const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
        const durable = this.hand(handler, packet.topic, payload);
        if (packet.qos === 1 && packet.messageId !== undefined) {
          held.set(packet.messageId, { durable, generation });
        } else {
          durable.catch(() => undefined);
        }
        callback();
      };
      // At the bound, not calling back stops MQTT.js from parsing this connection's next packet; its
      // stream stops reading and TCP flow control pushes back on the broker, which keeps the rest.
      if (!this.parkAtBound(client, admit)) admit();
    };
  }

  /**
   * QoS 0/1 PUBLISH packets read off each new connection's bytes before MQTT.js sees them
   * (lib/mqtt-publish-reader.ts): their PUBACKs leave together once their journal batch is durable,
   * on the socket they arrived on. Every other packet reaches MQTT.js unchanged and in order, and a
   * PUBLISH the reader leaves (QoS 2, MQTT 5 properties) takes delayPubacks' path. At the bound the
   * reader stops and the socket is paused: TCP pushes back on the broker as before.
   */
  private readPublishesFirst(client: MqttClient, clientId: string, handler: MessageHandler): void {
    const internals = client as unknown as { streamBuilder: (c: MqttClient) => Duplex };
    const build = internals.streamBuilder;
    internals.streamBuilder = (c) => {
      const stream = build(c);
      // From its end on, a connection hands nothing on and acknowledges nothing: the broker sends
      // its unacknowledged messages again on the next one.
      let ended = false;
      const end = (): void => {
        ended = true;
      };
      stream.once('end', end);
      stream.once('close', end);
      const acks = new PubackGroups(
        stream,
        // Nothing after our DISCONNECT (MQTT 5.0 §3.14.4): MQTT.js ends the stream a moment after writing it.
        () => !ended && !client.disconnecting,
        (e, messages) => this.log.warn({ clientId, err: e.message, messages }, 'messages not made durable; PUBACKs withheld'),
      );
      this.pubacks.set(client, acks);
      stream.pipe = <T extends NodeJS.WritableStream>(dest: T): T => {
        const library = dest as unknown as Writable;
        let pressure = false;
        let stopped = false;
        const reader = new PublishReader(5, {
          publish: (p) => this.takePublish(p, client, acks, handler, go, () => ended),
          other: (bytes) => {
            if (ended || library.writableEnded) return;
            if (!library.write(bytes)) pressure = true;
          },
          malformed: (reason) => {
            this.log.error(
              { clientId, reason },
              'the broker sent bytes that are not MQTT packets; closing the connection (what it had not acknowledged comes again on the next)',
            );
            stream.destroy();
          },
        });
        const go = (): void => {
          if (ended) return;
          stopped = !reader.read();
          if (stopped || pressure) stream.pause();
          else stream.resume();
        };
        library.on('drain', () => {
          pressure = false;
          if (!stopped && !ended) stream.resume();
        });
        stream.on('data', (chunk: Buffer) => {
          reader.push(chunk);
          go();
        });
        stream.on('end', () => library.end());
        return dest;
      };
      return stream;
    };
  }

  /** One PUBLISH from the reader: admitted, or parked at the bound (false stops the reader). */
  private takePublish(
    p: InboundPublish,
    client: MqttClient,
    acks: PubackGroups,
    handler: MessageHandler,
    go: () => void,
    ended: () => boolean,
  ): boolean {
    const admit = (): void => {
      if (this.opts.counts) this.opts.counts.reader++;
      const durable = this.hand(handler, p.topic, p.payload);
      if (p.qos === 1) acks.add(durable, p.messageId);
      else durable.catch(() => undefined);
    };
    const parked = this.parkAtBound(client, () => {
      if (ended()) return;
      admit();
      // The rest of this connection's bytes after every other parked message: each connection
      // gets its turn, and release() can stop at the bound.
      queueMicrotask(go);
    });
    if (!parked) admit();
    return !parked;
  }

  /** One message to the handler, counted as held until its promise settles. */
  private hand(handler: MessageHandler, topic: string, payload: Buffer): Promise<void> {
    this.setHolding(this.holding + 1);
    const durable = handler(topic, payload);
    this.releaseWhenSettled(durable);
    return durable;
  }

  /** At the bound, `admit` waits for release() (true); below it, the caller admits at once (false). */
  private parkAtBound(client: MqttClient, admit: () => void): boolean {
    if (this.holding < this.bound) return false;
    this.stalled.push({ client, admit });
    if (this.stalled.length === 1) this.opts.onPause?.();
    return true;
  }

  /** The last promise handed to releaseWhenSettled and how many messages wait on it since. */
  private settling: { durable: Promise<void>; messages: number } | undefined;

  /**
   * Release the message when its promise settles. The messages of one journal batch share one
   * promise and arrive one after another: they share one reaction too, not a promise and a closure
   * each (docs/decisions/0018). Any other order only makes more, smaller groups.
   */
  private releaseWhenSettled(durable: Promise<void>): void {
    if (this.settling?.durable === durable) {
      this.settling.messages++;
      return;
    }
    const group = { durable, messages: 1 };
    this.settling = group;
    const settled = (): void => {
      if (this.settling === group) this.settling = undefined;
      this.release(group.messages);
    };
    durable.then(settled, settled);
  }

  private setHolding(n: number): void {
    this.holding = n;
    if (n > this.peak) this.peak = n;
    this.opts.onHeldChange?.(n);
  }

  /**
   * Resume only below half the bound: journal batches settle many messages at once, and resuming
   * at bound − 1 would pause again after every single message.
   */
  private release(messages: number): void {
    this.setHolding(this.holding - messages);
    if (this.stalled.length === 0 || this.holding > Math.floor(this.bound / 2)) return;
    const ready = this.stalled;
    this.stalled = [];
    // One at a time and never past the bound: a connection can have two parked (one on each path).
    let k = 0;
    while (k < ready.length && this.holding < this.bound) ready[k++]!.admit();
    if (k < ready.length) this.stalled = [...ready.slice(k), ...this.stalled];
  }

  /**
   * With a share group every connection takes every filter inside `$share/{group}/`; the broker
   * balances messages across them (and across processes). Without one, the filters are divided
   * among the connections so that no message arrives twice (docs/decisions/0001: Mosquitto 2.0
   * does not restore shared subscriptions after a restart, plain ones it does).
   */
  private filtersFor(connection: number): string[] {
    const { shareGroup, subscriptions, connections } = this.opts;
    if (shareGroup) return subscriptions.map((f) => `$share/${shareGroup}/${f}`);
    return subscriptions.filter((_, k) => k % connections === connection);
  }

  /** Publish (QoS 1) through the first connected client, e.g. HJ 212 data answers. */
  async publish(topic: string, payload: string): Promise<void> {
    const client = this.clients.find((_, i) => this.connected.has(i)) ?? this.clients[0];
    if (!client) throw new Error('mqtt source not started');
    await client.publishAsync(topic, payload, { qos: 1 });
  }

  /** At the shutdown deadline: close the sockets without waiting for anything the broker owes us. */
  drop(): void {
    this.stopping = true;
    for (const c of this.clients) c.end(true);
    this.clients = [];
    this.connected.clear();
  }

  /** Close every connection without ending the sessions: the broker keeps queueing for us. */
  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.clients.map((c) => c.endAsync(false).catch(() => undefined)));
    this.clients = [];
    this.connected.clear();
  }
}

/**
 * The broker source, always on: the ingest's main feed (tuojiang.yaml `mqtt:`). Partitioned
 * (`mqtt.partition` / INGEST_PARTITION), it subscribes to its stations' exact topics under client
 * ids named for the partition, so that whichever process runs the partition resumes its sessions.
 */
export const mqttSource: SourceFactory = (ctx) => {
  const s = ctx.config.settings;
  const { env, metrics } = ctx;
  const partition = ingestPartition(s.mqtt, env);
  const ids = ctx.registry.stations.map((st) => st.id);
  const subscriptions = partition ? partitionTopics(ids, partition, s.mqtt) : s.mqtt.subscriptions;
  let describe: Record<string, unknown> | undefined;
  if (partition) {
    const stations = idsInPartition(ids, partition).length;
    describe = { partition: partitionText(partition), partition_stations: stations, registry_stations: ids.length };
    metrics.partitionStations.set({ partition: partitionText(partition) }, stations);
    ctx.log.info(
      {
        ...describe,
        topics: subscriptions.length,
        clientIds: `${s.mqtt.client_id_prefix}-${partitionTag(partition)}-{0..${s.mqtt.connections - 1}}`,
      },
      `partition ${partitionText(partition)}: ${stations} of the ${ids.length} stations of stations.yaml; a station not in stations.yaml is not subscribed (add it, then restart the process of its partition)`,
    );
  }
  return new MqttSource(
    {
      url: env.MQTT_URL,
      username: env.MQTT_USERNAME,
      password: env.MQTT_PASSWORD,
      clientIdPrefix: s.mqtt.client_id_prefix,
      instance: partition ? partitionTag(partition) : ctx.instance,
      connections: s.mqtt.connections,
      shareGroup: s.mqtt.share_group,
      reconnectPeriodMs: s.mqtt.reconnect_period_ms,
      subscriptions,
      sessionExpiryS: s.mqtt.session_expiry_s,
      receiveMaximum: s.mqtt.receive_maximum,
      replyTopic: s.mqtt.reply_topic,
      ...(describe ? { describe } : {}),
      onSessionTakenOver: (clientId, evidence) => ctx.onSessionTakenOver(clientId, evidence),
      onHeldChange: (n) => {
        metrics.held.now = n;
        if (n > metrics.held.peak) metrics.held.peak = n;
      },
      onPause: () => metrics.readPauses.inc(),
      counts: metrics.mqttReadBy,
    },
    ctx.log,
  );
};

/**
 * PUBACKs held per journal batch on one connection: the messages of a batch arrive one after
 * another and share its promise, so one reaction writes all their PUBACKs in one socket write, in
 * the order the messages were received. When `open()` says no (the connection ended, or we
 * disconnected) they are not written: the broker sends those messages again.
 */
class PubackGroups {
  private last: { durable: Promise<void>; ids: number[] } | undefined;

  constructor(
    private readonly stream: Duplex,
    private readonly open: () => boolean,
    private readonly onRefused: (e: Error, messages: number) => void,
  ) {}

  add(durable: Promise<void>, messageId: number): void {
    if (this.last?.durable === durable) {
      this.last.ids.push(messageId);
      return;
    }
    const group = { durable, ids: [messageId] };
    this.last = group;
    durable.then(
      () => {
        if (this.last === group) this.last = undefined;
        if (this.open() && !this.stream.destroyed && this.stream.writable) this.stream.write(encodePubackIds(group.ids));
      },
      (e: unknown) => {
        if (this.last === group) this.last = undefined;
        this.onRefused(e as Error, group.ids.length);
      },
    );
  }
}
