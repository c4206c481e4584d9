import type { Medium } from '../lib/parameters.js';

export interface TopicInfo {
  medium: Medium;
  stationId: string;
}

/** `{prefix}/{water|air}/{stationId}` -> its parts; any other topic (still subscribed) -> undefined. */
export function parseTopic(topic: string, prefix: string): TopicInfo | undefined {
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
