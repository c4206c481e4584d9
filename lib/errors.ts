/**
 * The central catalogue of errors. Every error the project raises or records carries a stable code
 * from here, a message naming what happened, and a hint saying what to do. Codes never change
 * meaning once released: operators grep logs and dead letters for them.
 */
export const ERRORS = {
  // configuration
  CONFIG_NOT_FOUND: { code: 'TJ_CONFIG_NOT_FOUND', hint: 'Set TUOJIANG_CONFIG to a folder holding stations.yaml, or run from the repository root.' },
  CONFIG_INVALID: { code: 'TJ_CONFIG_INVALID', hint: 'Fix the named key in the named file; `tuojiang config check` re-validates without starting anything.' },
  ENV_INVALID: { code: 'TJ_ENV_INVALID', hint: 'Fix the named environment variable (see README, Configuration).' },
  // reading validation (dead-letter reasons)
  MALFORMED_JSON: { code: 'TJ_MALFORMED_JSON', hint: 'The payload is not valid JSON of the wire contract: {"ts", "values", "flags"?, "station"?}.' },
  MALFORMED_FRAME: { code: 'TJ_MALFORMED_FRAME', hint: 'The HJ 212 frame is not well formed: ## + 4-digit length + data segment + 4 hex CRC.' },
  FRAME_LENGTH: { code: 'TJ_FRAME_LENGTH', hint: 'The HJ 212 length field does not match the data segment: check the logger firmware.' },
  FRAME_CRC: { code: 'TJ_FRAME_CRC', hint: 'The HJ 212 CRC does not match (Annex A CRC, not MODBUS): the frame was corrupted or the logger computes another CRC.' },
  UNSUPPORTED_COMMAND: { code: 'TJ_UNSUPPORTED_COMMAND', hint: 'Only CN 2011, 2051, 2061 and 2031 carry readings; other commands are not stored.' },
  UNKNOWN_STATION: { code: 'TJ_UNKNOWN_STATION', hint: 'Add the station (or its HJ 212 MN) to config/stations.yaml, or fix the sender.' },
  STATION_MISMATCH: { code: 'TJ_STATION_MISMATCH', hint: 'The station in the body (or the frame MN) differs from the topic: fix the sender or the ACL.' },
  KIND_MISMATCH: { code: 'TJ_KIND_MISMATCH', hint: 'A water reading arrived on an air topic or the reverse: fix the sender\'s topic.' },
  UNKNOWN_PARAMETER: { code: 'TJ_UNKNOWN_PARAMETER', hint: 'Use the canonical parameter keys (README, Wire contract) or map the factor code in the station registry.' },
  INVALID_VALUE: { code: 'TJ_INVALID_VALUE', hint: 'Values must be finite numbers.' },
  IMPOSSIBLE_VALUE: { code: 'TJ_IMPOSSIBLE_VALUE', hint: 'The value is physically impossible (negative concentration, pH outside 0-14): check the instrument.' },
  INVALID_FLAG: { code: 'TJ_INVALID_FLAG', hint: 'Flags are single HJ 212 data flags: N F M S D C T B.' },
  INVALID_TIMESTAMP: { code: 'TJ_INVALID_TIMESTAMP', hint: 'ts must be ISO 8601 with a zone, or epoch milliseconds.' },
  FUTURE_TIMESTAMP: { code: 'TJ_FUTURE_TIMESTAMP', hint: 'The reading is dated too far in the future: check the station clock (NTP).' },
  EMPTY_READING: { code: 'TJ_EMPTY_READING', hint: 'The reading carries no values.' },
  TOO_LARGE: { code: 'TJ_TOO_LARGE', hint: 'The payload exceeds the maximum size; split it.' },
  SPLIT_INCOMPLETE: { code: 'TJ_SPLIT_INCOMPLETE', hint: 'Not every part of a split HJ 212 packet (PNUM/PNO) arrived in time.' },
  INFLUX_REJECTED: { code: 'TJ_INFLUX_REJECTED', hint: 'InfluxDB refused the point (e.g. a field type conflict); the reading is kept as a dead letter.' },
  INTERNAL: { code: 'TJ_INTERNAL', hint: 'A bug: the payload is kept as a dead letter; please report it with the dead letter.' },
  // infrastructure
  INFLUX_UNAVAILABLE: { code: 'TJ_INFLUX_UNAVAILABLE', hint: 'InfluxDB is not answering; readings stay in the journal and are written when it returns.' },
  MQTT_CONNECT: { code: 'TJ_MQTT_CONNECT', hint: 'Check MQTT_URL, MQTT_USERNAME and MQTT_PASSWORD, and that the broker is running and allows this user (config/mosquitto/acl).' },
  // Grafana HTTP API (dashboards push)
  GRAFANA_AUTH: { code: 'TJ_GRAFANA_AUTH', hint: 'Check --token / GRAFANA_TOKEN: a Grafana service-account token with the Editor role (folders and dashboards write) in the right organisation.' },
  GRAFANA_CONFLICT: { code: 'TJ_GRAFANA_CONFLICT', hint: 'Someone changed the same folder or dashboard meanwhile, or another dashboard has the same title in the folder: look at it in Grafana, then push again.' },
  GRAFANA_UNAVAILABLE: { code: 'TJ_GRAFANA_UNAVAILABLE', hint: 'Grafana is not answering at --url: check the URL (scheme, port, sub-path) and that Grafana is running.' },
  GRAFANA_REJECTED: { code: 'TJ_GRAFANA_REJECTED', hint: 'Grafana refused the request; its message says why. A provisioned dashboard can only be changed through its provisioning files.' },
  SERVICE_START: { code: 'TJ_SERVICE_START', hint: 'A local service could not start; the message names the binary and the log.' },
} as const;

export type ErrorName = keyof typeof ERRORS;
export type ErrorCode = (typeof ERRORS)[ErrorName]['code'];

export class TuojiangError extends Error {
  readonly code: ErrorCode;
  readonly hint: string;
  readonly details: Record<string, unknown> | undefined;

  constructor(name: ErrorName, message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = 'TuojiangError';
    this.code = ERRORS[name].code;
    this.hint = ERRORS[name].hint;
    this.details = details;
  }

  toJSON(): { code: string; message: string; hint: string; details?: Record<string, unknown> } {
    return { code: this.code, message: this.message, hint: this.hint, ...(this.details ? { details: this.details } : {}) };
  }
}

export function isTuojiangError(e: unknown): e is TuojiangError {
  return e instanceof TuojiangError;
}
