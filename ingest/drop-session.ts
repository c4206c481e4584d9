import mqtt from 'mqtt';

export interface DroppedSession {
  clientId: string;
  /** The broker still had a session for this client id. */
  sessionPresent: boolean;
}

export interface DropSessionOptions {
  url: string;
  username?: string | undefined;
  password?: string | undefined;
  clientIds: readonly string[];
}

/**
 * Ends the broker sessions of ingest connections that no longer run (the old partitions after a
 * change of N, docs/operations.md "Scaling the ingest: partitions"): connects as each client id
 * resuming its session (Clean Start 0, so that the CONNACK says whether one existed) with Session
 * Expiry 0, and disconnects at once, which ends the session for good. What the broker still had
 * queued for it, and what it sends in that moment, is discarded. Without this the broker would queue
 * every reading of the old partition's stations for a week (mqtt.session_expiry_s).
 *
 * What it discards was published while the new partitions' sessions already subscribed (the
 * procedure stops the old processes only after the new ones report ready), so each of them was
 * delivered to a new process too. Never run it for a partition whose process still runs: it would
 * take over that process's session.
 */
export async function dropSessions(o: DropSessionOptions): Promise<DroppedSession[]> {
  return Promise.all(o.clientIds.map((clientId) => dropOne(o, clientId)));
}

async function dropOne(o: DropSessionOptions, clientId: string): Promise<DroppedSession> {
  const client = mqtt.connect(o.url, {
    clientId,
    clean: false,
    protocolVersion: 5,
    properties: { sessionExpiryInterval: 0 },
    reconnectPeriod: 0,
    connectTimeout: 10_000,
    ...(o.username ? { username: o.username, password: o.password ?? '' } : {}),
  });
  const sessionPresent = await new Promise<boolean>((resolve, reject) => {
    client.once('connect', (ack) => resolve(ack.sessionPresent));
    client.once('error', (e) => {
      client.end(true);
      reject(e);
    });
    client.once('close', () => reject(new Error(`${clientId}: the broker closed the connection before its CONNACK`)));
  });
  // A normal DISCONNECT with Session Expiry 0 (set at connect): the broker deletes the session now.
  await client.endAsync(false);
  return { clientId, sessionPresent };
}
