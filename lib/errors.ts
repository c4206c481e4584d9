/**
 * The central catalogue of errors. Every error the project raises or records carries a stable code
 * from here, a message naming what happened, and a hint saying what to do. Codes never change
 * meaning once released: operators grep logs and dead letters for them.
 */
export const ERRORS = {
  // configuration
  CONFIG_NOT_FOUND: {
    code: 'TJ_CONFIG_NOT_FOUND',
    hint: 'Set TUOJIANG_CONFIG to a folder holding stations.yaml, or run from the repository root.',
  },
  CONFIG_INVALID: {
    code: 'TJ_CONFIG_INVALID',
    hint: 'Fix the named key in the named file; `tuojiang config check` re-validates without starting anything.',
  },
  ENV_INVALID: { code: 'TJ_ENV_INVALID', hint: 'Fix the named environment variable (see README, Configuration).' },
  // reading validation (dead-letter reasons)
  MALFORMED_JSON: {
    code: 'TJ_MALFORMED_JSON',
    hint: 'The payload is not valid JSON of the wire contract: {"ts", "values", "flags"?, "station"?}.',
  },
  MALFORMED_FRAME: {
    code: 'TJ_MALFORMED_FRAME',
    hint: 'The HJ 212 frame is not well formed: ## + 4-digit length + data segment + 4 hex CRC.',
  },
  FRAME_LENGTH: { code: 'TJ_FRAME_LENGTH', hint: 'The HJ 212 length field does not match the data segment: check the logger firmware.' },
  FRAME_CRC: {
    code: 'TJ_FRAME_CRC',
    hint: 'The HJ 212 CRC does not match (Annex A CRC, not MODBUS): the frame was corrupted or the logger computes another CRC.',
  },
  UNSUPPORTED_COMMAND: {
    code: 'TJ_UNSUPPORTED_COMMAND',
    hint: 'Only CN 2011, 2051, 2061 and 2031 carry readings; other commands are not stored.',
  },
  UNKNOWN_STATION: { code: 'TJ_UNKNOWN_STATION', hint: 'Add the station (or its HJ 212 MN) to config/stations.yaml, or fix the sender.' },
  STATION_MISMATCH: {
    code: 'TJ_STATION_MISMATCH',
    hint: 'The station in the body (or the frame MN) differs from the topic: fix the sender or the ACL.',
  },
  KIND_MISMATCH: { code: 'TJ_KIND_MISMATCH', hint: "A water reading arrived on an air topic or the reverse: fix the sender's topic." },
  UNKNOWN_PARAMETER: {
    code: 'TJ_UNKNOWN_PARAMETER',
    hint: 'Use the canonical parameter keys (README, Wire contract) or map the factor code in the station registry.',
  },
  INVALID_VALUE: { code: 'TJ_INVALID_VALUE', hint: 'Values must be finite numbers.' },
  IMPOSSIBLE_VALUE: {
    code: 'TJ_IMPOSSIBLE_VALUE',
    hint: 'The value is physically impossible (negative concentration, pH outside 0-14): check the instrument.',
  },
  IMPLAUSIBLE_VALUE: {
    code: 'TJ_IMPLAUSIBLE_VALUE',
    hint: "The value lies outside its parameter's plausible range (docs/parameters.md): check the instrument and the logger's scaling and unit. Only that value is refused; the reading's other values are stored.",
  },
  INVALID_FLAG: { code: 'TJ_INVALID_FLAG', hint: 'Flags are single HJ 212 data flags: N F M S D C T B.' },
  INVALID_TIMESTAMP: { code: 'TJ_INVALID_TIMESTAMP', hint: 'ts must be ISO 8601 with a zone, or epoch milliseconds.' },
  FUTURE_TIMESTAMP: { code: 'TJ_FUTURE_TIMESTAMP', hint: 'The reading is dated too far in the future: check the station clock (NTP).' },
  EMPTY_READING: { code: 'TJ_EMPTY_READING', hint: 'The reading carries no values.' },
  TOO_LARGE: { code: 'TJ_TOO_LARGE', hint: 'The payload exceeds the maximum size; split it.' },
  SPLIT_INCOMPLETE: { code: 'TJ_SPLIT_INCOMPLETE', hint: 'Not every part of a split HJ 212 packet (PNUM/PNO) arrived in time.' },
  SPLIT_LIMIT: {
    code: 'TJ_SPLIT_LIMIT',
    hint: "The station has ingest.split_max_pending_parts parts of split HJ 212 packets waiting (or its packet has more parts than that): the part is refused (and still answered, so the logger does not re-send it). A logger whose packets never complete fills it: check the logger's PNUM/PNO. The setting applies to every station.",
  },
  RATE_LIMITED: {
    code: 'TJ_RATE_LIMITED',
    hint: "The station sent more messages than ingest.station_rate allows (a sustained rate and a burst): those beyond were refused before decoding and not stored, so that one station cannot make the ingest fall behind the broker, whose queue then discards every station's messages. One refusal per station and 10 s is kept as this dead letter; every one is counted in tuojiang_readings_rejected_total. Find out why the station sends so much (a logger in a loop, stolen credentials); if it is a legitimate backlog, raise the burst. HJ 212 loggers get no answer for a refused frame and send it again.",
  },
  INFLUX_REJECTED: {
    code: 'TJ_INFLUX_REJECTED',
    hint: 'InfluxDB refused the point (e.g. a field type conflict); the reading is kept as a dead letter.',
  },
  READING_CORRECTED: {
    code: 'TJ_READING_CORRECTED',
    hint: 'A station re-sent a reading (same period and time) with other values or flags: the first values stay stored and alerted on; this record holds both. Ask the station why; docs/decisions/0009-corrections.md.',
  },
  INTERNAL: { code: 'TJ_INTERNAL', hint: 'A bug: the payload is kept as a dead letter; please report it with the dead letter.' },
  // the HJ 212 TCP listener (issue 12): why a data logger's connection was closed
  HJ212_AUTH: {
    code: 'TJ_HJ212_AUTH',
    hint: "The logger's PW does not match the station's hj212.pw_hash in stations.yaml (or the station has none): set the logger's password, or record its hash with `tuojiang stations hash-password` (docs/operations.md, Pointing a data logger at the platform).",
  },
  HJ212_LISTEN: {
    code: 'TJ_HJ212_LISTEN',
    hint: 'The ingest cannot listen for HJ 212 loggers on that address: another process holds the port, or the host is not an address of this machine. Free the port or set another (HJ212_TCP_PORT / HJ212_TCP_HOST, or ingest.hj212_tcp in tuojiang.yaml).',
  },
  HJ212_MN_CHANGED: {
    code: 'TJ_HJ212_MN_CHANGED',
    hint: 'One TCP connection carries one logger: a frame with another MN closes it. Check for a gateway multiplexing loggers on one connection, or a logger with a misconfigured MN.',
  },
  HJ212_REFUSED: {
    code: 'TJ_HJ212_REFUSED',
    hint: 'The connection broke a limit of ingest.hj212_tcp in tuojiang.yaml (the reason names which): a line longer than max_frame_bytes, a frame not finished within frame_timeout_s, answers left unread, idle longer than idle_timeout_s, or too many connections. The logger reconnects; if it keeps happening, check its firmware and link.',
  },
  // infrastructure
  INFLUX_UNAVAILABLE: {
    code: 'TJ_INFLUX_UNAVAILABLE',
    hint: 'InfluxDB is not answering; readings stay in the journal and are written when it returns.',
  },
  MQTT_CONNECT: {
    code: 'TJ_MQTT_CONNECT',
    hint: 'Check MQTT_URL, MQTT_USERNAME and MQTT_PASSWORD, and that the broker is running and allows this user (config/mosquitto/acl).',
  },
  MQTT_SESSION_TAKEN_OVER: {
    code: 'TJ_MQTT_SESSION_TAKEN_OVER',
    hint: "Another client connected with this ingest's client id and took its MQTT session; readings it acknowledged meanwhile are lost. Look for a second ingest with the same TUOJIANG_INSTANCE, a leaked ingest or simulator password, and check that ingest uses the service listener and stations only the station listener (config/mosquitto/mosquitto.conf).",
  },
  SHUTDOWN_INCOMPLETE: {
    code: 'TJ_SHUTDOWN_INCOMPLETE',
    hint: 'The service stopped at its shutdown deadline (SHUTDOWN_DEADLINE_S) with work left, usually because Redis was unreachable. Nothing acknowledged is lost: un-journaled readings were never PUBACKed (or answered) and the broker redelivers them (an HJ 212 logger re-sends), journaled ones and queued jobs stay in Redis. Start the service again once Redis is back.',
  },
  REDIS_STATE_LOST: {
    code: 'TJ_REDIS_STATE_LOST',
    hint: 'Redis came back without state it had (a FLUSHALL, a lost AOF, a fresh volume, a failover to an empty replica): the service recreated what it safely can and goes on; what was journaled but not yet written is lost. Find out why Redis lost its data (AOF on, the volume mounted) and check the thresholds store (`tuojiang thresholds history`).',
  },
  HOST_OVERCOMMIT: {
    code: 'TJ_HOST_OVERCOMMIT',
    hint: 'Set vm.overcommit_memory=1 on the Docker host (`sysctl vm.overcommit_memory=1`, and in /etc/sysctl.d/ to keep it): with 0 the kernel may refuse the fork Redis needs to rewrite its AOF and to take the backup snapshot. A warning: the service runs on.',
  },
  REDIS_OOM: {
    code: 'TJ_REDIS_OOM',
    hint: 'Redis reached maxmemory and refuses writes (noeviction): the ingest holds the readings unacknowledged, so the broker and the stations keep them, and retries. Find what fills Redis (`redis-cli --bigkeys`; a journal backlog while InfluxDB is down, dead letters), then raise REDIS_MAXMEMORY in .env and `docker compose up -d redis`.',
  },
  REDIS_NOT_REPLICATED: {
    code: 'TJ_REDIS_NOT_REPLICATED',
    hint: 'A journal append, a check hand-off or a notification commit reached the Redis master but not redis.wait_replicas of its replicas in redis.wait_timeout_ms: the readings were not acknowledged and will be re-sent, or the notice was not handed over and will be retried. Check that each master has its replicas connected (`redis-cli -p PORT info replication`) and their lag; lower REDIS_WAIT_REPLICAS only if you accept losing acknowledged readings in a failover.',
  },
  CHECK_OVERDUE: {
    code: 'TJ_CHECK_OVERDUE',
    hint: 'Readings waited for their alert check 5 minutes past due, and the inbox sweep added a check job for each series named: their alerts go out now, late. Usually a check job failed for good or was lost with a Redis master: the alerts workers log `check job failed` with the error (look at every alerts container). Once after an alerts outage or a check backlog (the pipeline-health dashboard, "Checks waiting") it is expected. `tuojiang alerts overdue` lists what is still waiting.',
  },
  CHECK_STUCK: {
    code: 'TJ_CHECK_STUCK',
    hint: "The inbox sweep's own check job for these series ran to its end and their readings still wait: their alerts are NOT going out. `tuojiang alerts overdue` lists each series with its last job's error; fix the cause (a bad threshold set, a reading the rules cannot handle, a bug in a new version), then `tuojiang alerts overdue --recheck` checks them at once. Left alone, the sweep tries again at 10, 20, 40 … minutes overdue, then daily.",
  },
  NOTIFY_SENT_NOT_REPLICATED: {
    code: 'TJ_NOTIFY_SENT_NOT_REPLICATED',
    hint: 'The notice was delivered (its messageId is in the log line), but its "sent" mark reached the Redis master and no replica within redis.wait_timeout_ms. Nothing is re-sent; if that master fails over now, a next attempt records this delivery as uncertain (a dead letter with the same batch) although it went out. Check that each master has its replicas connected (`redis-cli -p PORT info replication`) and their lag.',
  },
  REDIS_HASH_TAG: {
    code: 'TJ_REDIS_HASH_TAG',
    hint: 'On a Redis Cluster every key a script touches must hash to one slot: give the key prefix a hash tag (REDIS_PREFIX={tuojiang}, or redis.prefix in config/tuojiang.yaml) and the journal streams one tag of their own (journal.stream "{tuojiang}:journal", journal.dead_letter_stream "{tuojiang}:deadletters"), the same for every process (docs/operations.md, Redis Cluster).',
  },
  // notifications (alerts/notify)
  SMTP_REJECTED: {
    code: 'TJ_SMTP_REJECTED',
    hint: 'The SMTP server refused the message for good (5xx): check the address and the server log; the notice is dead-lettered (`tuojiang notify dead`).',
  },
  MAIL_UNCERTAIN: {
    code: 'TJ_MAIL_UNCERTAIN',
    hint: "A delivery attempt ended after the message was handed over and before the server's reply: it was probably delivered and is not re-sent (never two). Check the SMTP server log for the Message-ID.",
  },
  MAIL_EXPIRED: {
    code: 'TJ_MAIL_EXPIRED',
    hint: 'The notice could not be delivered within delivery.give_up_after_h: check SMTP_URL and the SMTP server.',
  },
  WECOM_REJECTED: {
    code: 'TJ_WECOM_REJECTED',
    hint: "WeCom refused the robot message for good (an errcode other than 45009, or HTTP 4xx): check the robot's URL in the environment variable recipients.yaml names for it (a removed robot answers 93000); the notice is dead-lettered (`tuojiang notify dead`) and the e-mail went out all the same.",
  },
  WECOM_UNCERTAIN: {
    code: 'TJ_WECOM_UNCERTAIN',
    hint: 'The robot message was handed over and no answer came: it was probably posted and is not re-sent (never two). Look in the WeCom group.',
  },
  WECOM_EXPIRED: {
    code: 'TJ_WECOM_EXPIRED',
    hint: 'The robot message could not be posted within delivery.give_up_after_h (WeCom unreachable or busy): check the network to qyapi.weixin.qq.com.',
  },
  WEBHOOK_REJECTED: {
    code: 'TJ_WEBHOOK_REJECTED',
    hint: "The webhook endpoint refused the notice for good (HTTP 4xx other than 408/429): check its URL and signing secret (the variables recipients.yaml names) with the receiving system's owners; the notice is dead-lettered.",
  },
  WEBHOOK_UNCERTAIN: {
    code: 'TJ_WEBHOOK_UNCERTAIN',
    hint: 'The webhook request was sent and no answer came: it was probably received and is not re-sent; the receiving system can look it up by its Idempotency-Key (the batch id).',
  },
  WEBHOOK_EXPIRED: {
    code: 'TJ_WEBHOOK_EXPIRED',
    hint: 'The webhook endpoint did not accept the notice within delivery.give_up_after_h (5xx, 429 or unreachable): check the receiving system.',
  },
  ACK_INVALID: {
    code: 'TJ_ACK_INVALID',
    hint: 'The acknowledgement link is not valid (altered, or signed with another ACK_SECRET): use the link from the latest e-mail or `tuojiang alerts ack`.',
  },
  ACK_EXPIRED: {
    code: 'TJ_ACK_EXPIRED',
    hint: 'The acknowledgement link has expired: use `tuojiang alerts ack` or the link of a newer e-mail.',
  },
  ALERT_NOT_FOUND: { code: 'TJ_ALERT_NOT_FOUND', hint: 'No notified alert has that id: `tuojiang alerts status` lists them.' },
  BUREAU_NOT_NOTIFIED: {
    code: 'TJ_BUREAU_NOT_NOTIFIED',
    hint: 'That bureau was not notified of this alert, so it has nothing to acknowledge.',
  },
  // Grafana HTTP API (dashboards push)
  GRAFANA_AUTH: {
    code: 'TJ_GRAFANA_AUTH',
    hint: 'Check --token / GRAFANA_TOKEN: a Grafana service-account token with the Editor role (folders and dashboards write) in the right organisation.',
  },
  GRAFANA_CONFLICT: {
    code: 'TJ_GRAFANA_CONFLICT',
    hint: 'Someone changed the same folder or dashboard meanwhile, or another dashboard has the same title in the folder: look at it in Grafana, then push again.',
  },
  GRAFANA_UNAVAILABLE: {
    code: 'TJ_GRAFANA_UNAVAILABLE',
    hint: 'Grafana is not answering at --url: check the URL (scheme, port, sub-path) and that Grafana is running.',
  },
  GRAFANA_REJECTED: {
    code: 'TJ_GRAFANA_REJECTED',
    hint: 'Grafana refused the request; its message says why. A provisioned dashboard can only be changed through its provisioning files.',
  },
  SERVICE_START: { code: 'TJ_SERVICE_START', hint: 'A local service could not start; the message names the binary and the log.' },
  // unified thresholds store (issue 6): proposals, approvals, versions, operators
  THRESHOLD_UNKNOWN_PARAMETER: {
    code: 'TJ_THRESHOLD_UNKNOWN_PARAMETER',
    hint: "Use a canonical parameter key (README, Wire contract) of the station's medium: water keys for water stations and river sections.",
  },
  THRESHOLD_UNKNOWN_STATION: {
    code: 'TJ_THRESHOLD_UNKNOWN_STATION',
    hint: 'Name a station id from config/stations.yaml, or a section of config/thresholds.yaml by its name or index (`tuojiang thresholds list`).',
  },
  THRESHOLD_INVALID_VALUE: {
    code: 'TJ_THRESHOLD_INVALID_VALUE',
    hint: "A limit is a finite number in the parameter's unit, inside its physical range (e.g. 0.8 for NH3N in mg/L: `value` in the API, --value on the command line).",
  },
  THRESHOLD_WRONG_UNIT: {
    code: 'TJ_THRESHOLD_WRONG_UNIT',
    hint: "Give the limit in the parameter's catalogue unit or one convertible to it (mg/L or µg/L for water concentrations; µg/m³, CO mg/m³ for air).",
  },
  THRESHOLD_WRONG_BOUND: {
    code: 'TJ_THRESHOLD_WRONG_BOUND',
    hint: 'DO is a lower bound (`min` or `value`), pH a range (`min` and `max`), every other limit an upper bound (`max` or `value`); on the command line each is its flag (--min, --max, --value).',
  },
  THRESHOLD_NO_CHANGE: {
    code: 'TJ_THRESHOLD_NO_CHANGE',
    hint: 'The proposal would leave every limit in force as it is: check the value and scope with `tuojiang thresholds show --station <id>`.',
  },
  THRESHOLD_BELOW_STANDARD: {
    code: 'TJ_THRESHOLD_BELOW_STANDARD',
    hint: 'A limit looser than the national standard for the target class needs an explicit exception (`exception` with `reason` and `until`; on the command line --exception --reason --until) approved by both cities.',
  },
  THRESHOLD_EXCEPTION_INVALID: {
    code: 'TJ_THRESHOLD_EXCEPTION_INVALID',
    hint: 'An exception needs a reason and an end date in the future (ISO 8601 with a zone), and only a limit looser than the national standard needs one.',
  },
  THRESHOLD_PROPOSAL_NOT_FOUND: { code: 'TJ_THRESHOLD_PROPOSAL_NOT_FOUND', hint: 'List proposals with `tuojiang thresholds list`.' },
  THRESHOLD_PROPOSAL_CLOSED: {
    code: 'TJ_THRESHOLD_PROPOSAL_CLOSED',
    hint: 'The proposal was already applied, rejected, expired or superseded: propose again if it is still wanted.',
  },
  THRESHOLD_PROPOSAL_EXPIRED: {
    code: 'TJ_THRESHOLD_PROPOSAL_EXPIRED',
    hint: 'Proposals that loosen a limit expire unapproved; propose again if it is still wanted.',
  },
  THRESHOLD_PROPOSAL_STALE: {
    code: 'TJ_THRESHOLD_PROPOSAL_STALE',
    hint: 'The limit changed after the proposal was made, so the consent asked for no longer matches: propose again from the limit now in force.',
  },
  THRESHOLD_APPROVAL_REFUSED: {
    code: 'TJ_THRESHOLD_APPROVAL_REFUSED',
    hint: 'A loosening needs an operator of the other city; an exception one operator of each city other than the proposer; nobody approves twice.',
  },
  THRESHOLD_VERSION_NOT_FOUND: {
    code: 'TJ_THRESHOLD_VERSION_NOT_FOUND',
    hint: 'Versions are numbered from 1; `tuojiang thresholds history` lists them.',
  },
  THRESHOLD_STORE_EMPTY: {
    code: 'TJ_THRESHOLD_STORE_EMPTY',
    hint: 'Seed the store from config/thresholds.yaml with `tuojiang thresholds seed` (alerts workers seed it on start).',
  },
  THRESHOLD_CONFLICT: {
    code: 'TJ_THRESHOLD_CONFLICT',
    hint: 'Many changes landed at the same moment and this one kept losing the race: run it again.',
  },
  OPERATOR_UNKNOWN: {
    code: 'TJ_OPERATOR_UNKNOWN',
    hint: 'Set TUOJIANG_OPERATOR and TUOJIANG_CITY (or --operator/--city) to an operator listed in operators.yaml with that city.',
  },
  OPERATOR_UNAUTHENTICATED: {
    code: 'TJ_OPERATOR_UNAUTHENTICATED',
    hint: 'Send `Authorization: Bearer <token>`; tokens come from `tuojiang thresholds token create --operator <id>`.',
  },
  OPERATOR_FORBIDDEN: {
    code: 'TJ_OPERATOR_FORBIDDEN',
    hint: 'A token acts only for its own operator and city; use a token of the city you act for.',
  },
  THRESHOLD_NOT_A_RESTORE: {
    code: 'TJ_THRESHOLD_NOT_A_RESTORE',
    hint: "A restore puts back, on your own city's stations only, a limit in force before the other city's changes since your city last changed or approved it (`tuojiang thresholds history --station <id>`); anything else is a proposal: `tuojiang thresholds propose`.",
  },
  SERVICE_WOULD_REFUSE: {
    code: 'TJ_SERVICE_WOULD_REFUSE',
    hint: 'Set or fix the variables `tuojiang config check` names for each service (README, Configuration), then run it again.',
  },
  // HTTP servers (`tuojiang api`, the /healthz servers): refusals of malformed or unauthorised requests (issue 11)
  HTTP_BAD_REQUEST: {
    code: 'TJ_HTTP_BAD_REQUEST',
    hint: 'The request is not valid HTTP/1.1 (request line, method, header bytes or body framing): fix the client; the connection is closed.',
  },
  HTTP_BAD_TARGET: {
    code: 'TJ_HTTP_BAD_TARGET',
    hint: 'Send a path such as /ack/{alert}/{bureau}?exp=…&sig=…; every percent-escape must be %XX of valid UTF-8.',
  },
  HTTP_HEADERS_TOO_LARGE: {
    code: 'TJ_HTTP_HEADERS_TOO_LARGE',
    hint: 'The request headers exceed 16 KiB (or 100 fields): send fewer or shorter headers.',
  },
  HTTP_TIMEOUT: {
    code: 'TJ_HTTP_TIMEOUT',
    hint: 'The request was not complete in time (headers or body sent too slowly, or shorter than Content-Length): send the whole request at once.',
  },
  HTTP_BODY_TOO_LARGE: {
    code: 'TJ_HTTP_BODY_TOO_LARGE',
    hint: 'Request bodies are limited to 16 KiB: send only the fields the endpoint takes.',
  },
  HTTP_BAD_BODY: {
    code: 'TJ_HTTP_BAD_BODY',
    hint: "Send a JSON object (Content-Type: application/json) or a form (application/x-www-form-urlencoded) with the endpoint's fields.",
  },
  HTTP_NOT_FOUND: { code: 'TJ_HTTP_NOT_FOUND', hint: 'No such endpoint: the README (Commands, `api`) lists the paths of `tuojiang api`.' },
  HTTP_METHOD_NOT_ALLOWED: {
    code: 'TJ_HTTP_METHOD_NOT_ALLOWED',
    hint: 'This endpoint answers GET (and POST where it records something); CONNECT and other methods are not served.',
  },
  AUTH_RATE_LIMITED: {
    code: 'TJ_AUTH_RATE_LIMITED',
    hint: 'Too many failed authentications from this address: wait the Retry-After seconds, then use a valid token or the link from the latest e-mail.',
  },
  AUTH_UNAVAILABLE: {
    code: 'TJ_AUTH_UNAVAILABLE',
    hint: 'The server cannot check credentials now (its operators file is invalid; the details are in its log): try again later or tell its operators.',
  },
  CAP_UNAUTHORIZED: {
    code: 'TJ_CAP_UNAUTHORIZED',
    hint: 'CAP documents of scope Restricted are served through the signed link of the notice e-mail (?exp=…&sig=…) or with an operator token (Authorization: Bearer …).',
  },
  HTTP_INTERNAL: {
    code: 'TJ_HTTP_INTERNAL',
    hint: 'The server failed on this request (a bug; it is in the server log with the path): try again, and report it if it persists.',
  },
  ACK_BY_INVALID: {
    code: 'TJ_ACK_BY_INVALID',
    hint: '`by` names who acknowledges: text of at most 80 characters without control or direction-override characters.',
  },
  // dashboards (issue 13): what a query may use that Grafana really fills
  DASHBOARD_MACRO: {
    code: 'TJ_DASHBOARD_MACRO',
    hint: "Use only what Grafana's InfluxDB (InfluxQL) data source fills: $timeFilter, ${__from}, ${__to}, the dashboard's own variables (no :format), and in panel queries $__interval, $__interval_ms, $interval. $__range, $__range_s and $__range_ms are Prometheus/Loki only (docs/decisions/0005-dashboards-as-code.md).",
  },
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
