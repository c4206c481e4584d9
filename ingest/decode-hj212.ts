import { TuojiangError } from '../lib/errors.js';
import { withArticle } from '../lib/format.js';
import type { Period } from '../lib/reading.js';
import type { StationRegistry } from '../config/station-registry.js';
import { dataTimeToEpochMs, type Hj212Frame } from './hj212/frame.js';
import type { TopicInfo } from './topics.js';
import type { RawReading } from './validate-reading.js';

/** Data commands that carry readings, the period each stands for, and the suffix holding the value. */
const DATA_COMMANDS: Record<string, { period: Period; suffix: string }> = {
  '2011': { period: 'rt', suffix: 'Rtd' },
  '2051': { period: 'min', suffix: 'Avg' },
  '2061': { period: 'hour', suffix: 'Avg' },
  '2031': { period: 'day', suffix: 'Avg' },
};

const NUMBER = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;

function toNumber(code: string, suffix: string, s: string): number {
  if (!NUMBER.test(s)) throw new TuojiangError('INVALID_VALUE', `${code}-${suffix}=${s.slice(0, 30)} is not a number`, { factor: code });
  return Number(s);
}

/** The station a frame belongs to: its MN, checked against the topic it came on. */
export function stationOfFrame(frame: Hj212Frame, topic: TopicInfo | undefined, registry: StationRegistry, sender?: string | null) {
  const station = registry.byMN(frame.mn);
  if (!station)
    throw new TuojiangError('UNKNOWN_STATION', `MN ${frame.mn.slice(0, 40)} is not in the registry`, { mn: frame.mn.slice(0, 40) });
  // A logger's connection is authenticated as one station: its frames may carry no other's readings.
  if (sender !== undefined && sender !== station.id) {
    throw new TuojiangError(
      'STATION_MISMATCH',
      sender === null
        ? `frame MN ${frame.mn} is station ${station.id} but it came on a connection no station's password opened`
        : `frame MN ${frame.mn} is station ${station.id} but it came on the connection of "${sender}"`,
    );
  }
  if (topic && topic.stationId !== station.id) {
    throw new TuojiangError('STATION_MISMATCH', `frame MN ${frame.mn} is station ${station.id} but the topic is for "${topic.stationId}"`);
  }
  if (topic && topic.medium !== station.kind) {
    throw new TuojiangError(
      'KIND_MISMATCH',
      `station ${station.id} is ${withArticle(station.kind)} station but published on ${withArticle(topic.medium)} topic`,
    );
  }
  return station;
}

/** Turn a parsed (and, if split, reassembled) data frame into a raw reading for validation. */
export function frameToRawReading(frame: Hj212Frame, topic: TopicInfo | undefined, registry: StationRegistry): RawReading {
  const station = stationOfFrame(frame, topic, registry);
  const cmd = DATA_COMMANDS[frame.cn];
  if (!cmd) throw new TuojiangError('UNSUPPORTED_COMMAND', `CN ${frame.cn.slice(0, 10)} carries no readings`);
  if (frame.cp.dataTime === undefined) throw new TuojiangError('INVALID_TIMESTAMP', 'the frame has no DataTime');
  const ts = dataTimeToEpochMs(frame.cp.dataTime);

  const values: Record<string, unknown> = {};
  const flags: Record<string, unknown> = {};
  const extras: Record<string, number> = {};
  for (const [code, fields] of Object.entries(frame.cp.items)) {
    const key = registry.factorKey(station, code);
    if (key === 'ignore') continue;
    if (key === undefined)
      throw new TuojiangError('UNKNOWN_PARAMETER', `factor code ${code.slice(0, 20)} is not known for station ${station.id}`, {
        factor: code.slice(0, 20),
      });
    const raw = fields[cmd.suffix] ?? (cmd.suffix === 'Avg' ? fields.Rtd : undefined);
    if (raw === undefined)
      throw new TuojiangError('INVALID_VALUE', `${code} has no -${cmd.suffix} value for CN ${frame.cn}`, { factor: code });
    values[key] = toNumber(code, cmd.suffix, raw);
    const scale = registry.unitScale(station.id, key);
    if (fields.Min !== undefined) extras[`${key}_min`] = toNumber(code, 'Min', fields.Min) * scale;
    if (fields.Max !== undefined) extras[`${key}_max`] = toNumber(code, 'Max', fields.Max) * scale;
    if (fields.Flag !== undefined) flags[key] = fields.Flag;
  }
  return {
    station,
    ts,
    period: cmd.period,
    values,
    flags,
    extras,
    source: 'hj212',
    ...(frame.quirks.length > 0 ? { quirks: frame.quirks } : {}),
  };
}
