import type { Medium } from '../lib/parameters.js';

export interface TopicInfo {
  medium: Medium;
  stationId: string;
}

const parsed = new Map<string, TopicInfo | undefined>();

/**
 * `{prefix}/{water|air}/{stationId}` -> its parts; any other topic (still subscribed) -> undefined.
 * Remembered per topic (one per station, a few hundred): every message of a station repeats it.
 */
export function parseTopic(topic: string, prefix: string): TopicInfo | undefined {
  const key = `${prefix}\u0000${topic}`;
  if (parsed.has(key)) return parsed.get(key);
  const info = splitTopic(topic, prefix);
  // Bounded: junk topics from a misbehaving client must not grow the cache without end.
  if (parsed.size < 10_000) parsed.set(key, info);
  return info;
}

function splitTopic(topic: string, prefix: string): TopicInfo | undefined {
  if (!topic.startsWith(`${prefix}/`)) return undefined;
  const rest = topic.slice(prefix.length + 1).split('/');
  if (rest.length !== 2) return undefined;
  const [medium, stationId] = rest as [string, string];
  if ((medium !== 'water' && medium !== 'air') || stationId === '') return undefined;
  return { medium, stationId };
}

export function replyTopic(template: string, stationId: string): string {
  return template.replace('{station}', stationId);
}
