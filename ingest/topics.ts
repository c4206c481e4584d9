import type { Medium } from '../lib/parameters.js';

export interface TopicInfo {
  medium: Medium;
  stationId: string;
}

/** Per prefix, topic -> its parts, or null for a topic that is not a reading topic. */
const parsed = new Map<string, Map<string, TopicInfo | null>>();
const PARSED_MAX = 10_000;

/**
 * `{prefix}/{water|air}/{stationId}` -> its parts; any other topic (still subscribed) -> undefined.
 * Remembered per topic (one per station, a few hundred): every message of a station repeats it. One
 * lookup by the topic itself: a key joined from prefix and topic was a new string to hash per message.
 */
export function parseTopic(topic: string, prefix: string): TopicInfo | undefined {
  let known = parsed.get(prefix);
  if (known === undefined) parsed.set(prefix, (known = new Map()));
  const hit = known.get(topic);
  if (hit !== undefined) return hit ?? undefined;
  const info = splitTopic(topic, prefix);
  // Bounded: junk topics from a misbehaving client must not grow the cache without end.
  if (known.size < PARSED_MAX) known.set(topic, info ?? null);
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
