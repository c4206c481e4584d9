/**
 * The input fields of a threshold change, as errors name them. The store answers the CLI and the
 * HTTP API alike, so its messages name the field (`why`, `exception.until`), the way the API's
 * JSON spells it; the CLI shows each as its flag (cli/commands/thresholds.ts, `asFlags`).
 */
export const INPUT_FIELDS = [
  'station',
  'section',
  'defaults',
  'param',
  'value',
  'min',
  'max',
  'clear',
  'unit',
  'why',
  'exception',
  'exception.reason',
  'exception.until',
  'toVersion',
] as const;
export type InputField = (typeof INPUT_FIELDS)[number];

/** A field as a message names it: in backticks, so that a front end can find and re-spell it. */
export function field(name: InputField): string {
  return `\`${name}\``;
}
