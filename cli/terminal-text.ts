/**
 * Text from the outside (a name typed into an acknowledgement form, records written before input
 * was checked) made safe for a terminal: control characters, line separators and direction
 * overrides are shown as \u{…} instead of moving the cursor, clearing the screen or reordering
 * the line.
 */
const UNSAFE = /[\p{Cc}\u2028\u2029\u200E\u200F\u061C\u202A-\u202E\u2066-\u2069]/gu;

export function printable(s: string): string {
  return s.replace(UNSAFE, (c) => `\\u{${(c.codePointAt(0) as number).toString(16)}}`);
}
