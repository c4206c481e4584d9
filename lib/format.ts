/** Numbers and markup as people read them: one way to round a value, one way to escape text. */

/** `x` to `digits` significant digits without trailing zeros: 1.60000 → "1.6", 0.1 + 0.2 → "0.3". */
export function sig(x: number, digits = 6): string {
  return String(Number(x.toPrecision(digits)));
}

/** A value to six significant digits, or '–' where there is none. */
export function num(x: number | null | undefined, digits = 6): string {
  return x === null || x === undefined || !Number.isFinite(x) ? '–' : sig(x, digits);
}

/** A medium with its article, as in "an air station" and "a water station". */
export function withArticle(medium: string): string {
  return /^[aeiou]/i.test(medium) ? `an ${medium}` : `a ${medium}`;
}

const HTML: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const XML: Record<string, string> = { ...HTML, "'": '&apos;' };

/** Text for HTML element content or a quoted attribute. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => HTML[c] as string);
}

/** Text for XML element content or a quoted attribute (CAP: XML's own &apos;). */
export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => XML[c] as string);
}
