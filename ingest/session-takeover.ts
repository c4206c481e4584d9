/**
 * Tells, per MQTT connection, when the broker handed our persistent session to another client.
 *
 * A broker that follows MQTT 5 sends DISCONNECT with reason 0x8E "Session taken over" to the
 * connection it drops (`certain` evidence). Mosquitto 2.0.11 (Debian 12) sends nothing: it closes
 * the socket, exactly as it does when it shuts down (both verified). What still tells the two
 * apart is that after a takeover the broker is up and accepts our reconnect at the first attempt,
 * while a restarting broker refuses it. So a close without DISCONNECT that is not ours, followed
 * by a first-attempt reconnect, is reported as `silent-close`: a broker restart quicker than the
 * reconnect period (250 ms) would be misreported, a takeover never goes unreported.
 */
export const SESSION_TAKEN_OVER = 0x8e;

export type TakeoverEvidence = 'disconnect-0x8e' | 'silent-close';

export class TakeoverDetector {
  private reason: number | undefined;
  private silentClose = false;
  private attempts = 0;

  /** A DISCONNECT packet from the broker. Returns evidence at once when it names a takeover. */
  onDisconnectPacket(reasonCode: number | undefined): TakeoverEvidence | undefined {
    this.reason = reasonCode;
    return reasonCode === SESSION_TAKEN_OVER ? 'disconnect-0x8e' : undefined;
  }

  /** The connection closed; `byUs` when we ended it or it failed with a socket error. */
  onClose(byUs: boolean): void {
    // A close the broker announced with a reason (0x8E already reported, or e.g. 0x8B shutting
    // down) or one we caused is not a silent one.
    this.silentClose = !byUs && this.reason === undefined;
    this.reason = undefined;
    this.attempts = 0;
  }

  onReconnectAttempt(): void {
    this.attempts++;
  }

  /** CONNACK accepted. */
  onConnect(): TakeoverEvidence | undefined {
    const evidence = this.silentClose && this.attempts <= 1 ? 'silent-close' : undefined;
    this.silentClose = false;
    this.attempts = 0;
    return evidence;
  }
}
