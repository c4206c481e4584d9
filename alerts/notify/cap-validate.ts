/**
 * A CAP 1.2 conformance check that needs no network and no native XML library: a small, strict
 * XML reader (elements, attributes, text, entities, comments; anything else is refused) and the
 * structure of the official schema CAP-v1.2.xsd as data: every element in its sequence with its
 * occurrence bounds, every value set, the dateTime pattern, plus the rules of the specification
 * text the schema cannot express (identifier and sender characters, references triples, polygon
 * and circle syntax, restriction when scope is Restricted, addresses when Private).
 * Used by the tests on every message we produce, and by `tuojiang notify cap --check`.
 */

export interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  text: string;
}

const ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

function decode(s: string, at: number): string {
  return s.replace(/&(#x[0-9a-fA-F]+|#\d+|[a-z]+);|&/g, (m, ent: string | undefined) => {
    if (ent === undefined) throw new Error(`unescaped '&' near offset ${at}`);
    if (ent.startsWith('#x')) return String.fromCodePoint(parseInt(ent.slice(2), 16));
    if (ent.startsWith('#')) return String.fromCodePoint(parseInt(ent.slice(1), 10));
    const v = ENTITIES[ent];
    if (v === undefined) throw new Error(`unknown entity ${m} near offset ${at}`);
    return v;
  });
}

/** Parses a well-formed XML document into its root element; throws on anything malformed. */
export function parseXml(xml: string): XmlElement {
  let i = 0;
  const s = xml.replace(/^\uFEFF/, '');
  const skipMisc = (): void => {
    for (;;) {
      const ws = /^\s*/.exec(s.slice(i))?.[0].length ?? 0;
      i += ws;
      if (s.startsWith('<?', i)) {
        const end = s.indexOf('?>', i);
        if (end < 0) throw new Error('unterminated processing instruction');
        i = end + 2;
      } else if (s.startsWith('<!--', i)) {
        const end = s.indexOf('-->', i);
        if (end < 0) throw new Error('unterminated comment');
        i = end + 3;
      } else return;
    }
  };
  const name = /^[A-Za-z_][\w.-]*(:[A-Za-z_][\w.-]*)?/;
  const parseElement = (): XmlElement => {
    if (s[i] !== '<') throw new Error(`expected '<' at offset ${i}`);
    i++;
    const n = name.exec(s.slice(i))?.[0];
    if (!n) throw new Error(`bad element name at offset ${i}`);
    i += n.length;
    const el: XmlElement = { name: n, attrs: {}, children: [], text: '' };
    for (;;) {
      const ws = /^\s*/.exec(s.slice(i))?.[0].length ?? 0;
      i += ws;
      if (s.startsWith('/>', i)) {
        i += 2;
        return el;
      }
      if (s[i] === '>') {
        i++;
        break;
      }
      if (ws === 0) throw new Error(`expected whitespace before attribute at offset ${i}`);
      const an = name.exec(s.slice(i))?.[0];
      if (!an) throw new Error(`bad attribute at offset ${i}`);
      i += an.length;
      const m = /^\s*=\s*("([^"<]*)"|'([^'<]*)')/.exec(s.slice(i));
      if (!m) throw new Error(`bad attribute value for ${an} at offset ${i}`);
      if (an in el.attrs) throw new Error(`duplicate attribute ${an}`);
      el.attrs[an] = decode(m[2] ?? m[3] ?? '', i);
      i += m[0].length;
    }
    for (;;) {
      const lt = s.indexOf('<', i);
      if (lt < 0) throw new Error(`unterminated element <${n}>`);
      const raw = s.slice(i, lt);
      if (raw.includes('>') && raw.includes(']]>')) throw new Error(`']]>' in text of <${n}>`);
      el.text += decode(raw, i);
      i = lt;
      if (s.startsWith('</', i)) {
        const m = new RegExp(`^</${n.replace(/[.]/g, '\\.')}\\s*>`).exec(s.slice(i));
        if (!m) throw new Error(`mismatched end tag at offset ${i}: expected </${n}>`);
        i += m[0].length;
        return el;
      }
      if (s.startsWith('<!--', i)) {
        const end = s.indexOf('-->', i);
        if (end < 0) throw new Error('unterminated comment');
        i = end + 3;
        continue;
      }
      if (s.startsWith('<![CDATA[', i)) {
        const end = s.indexOf(']]>', i);
        if (end < 0) throw new Error('unterminated CDATA');
        el.text += s.slice(i + 9, end);
        i = end + 3;
        continue;
      }
      if (s.startsWith('<!', i) || s.startsWith('<?', i)) throw new Error(`unsupported markup at offset ${i}`);
      el.children.push(parseElement());
    }
  };
  skipMisc();
  const root = parseElement();
  skipMisc();
  if (i !== s.length) throw new Error(`content after the root element at offset ${i}`);
  return root;
}

// ---- CAP-v1.2.xsd as data ----

type SimpleType = 'string' | 'dateTime' | 'decimal' | 'integer' | 'anyURI' | 'language';

interface Spec {
  name: string;
  min: number;
  max: number;
  type?: SimpleType;
  values?: readonly string[];
  children?: readonly Spec[];
}

const U = Infinity;
const s = (name: string, min = 1, max = 1, type: SimpleType = 'string'): Spec => ({ name, min, max, type });
const e = (name: string, values: readonly string[], min = 1, max = 1): Spec => ({ name, min, max, type: 'string', values });
const c = (name: string, min: number, max: number, children: readonly Spec[]): Spec => ({ name, min, max, children });
const pair = (name: string, min = 0, max = U): Spec => c(name, min, max, [s('valueName'), s('value')]);

export const CAP_VALUE_SETS = {
  status: ['Actual', 'Exercise', 'System', 'Test', 'Draft'],
  msgType: ['Alert', 'Update', 'Cancel', 'Ack', 'Error'],
  scope: ['Public', 'Restricted', 'Private'],
  category: ['Geo', 'Met', 'Safety', 'Security', 'Rescue', 'Fire', 'Health', 'Env', 'Transport', 'Infra', 'CBRNE', 'Other'],
  responseType: ['Shelter', 'Evacuate', 'Prepare', 'Execute', 'Avoid', 'Monitor', 'Assess', 'AllClear', 'None'],
  urgency: ['Immediate', 'Expected', 'Future', 'Past', 'Unknown'],
  severity: ['Extreme', 'Severe', 'Moderate', 'Minor', 'Unknown'],
  certainty: ['Observed', 'Likely', 'Possible', 'Unlikely', 'Unknown'],
} as const;

const V = CAP_VALUE_SETS;

export const CAP_SCHEMA: Spec = c('alert', 1, 1, [
  s('identifier'),
  s('sender'),
  s('sent', 1, 1, 'dateTime'),
  e('status', V.status),
  e('msgType', V.msgType),
  s('source', 0),
  e('scope', V.scope),
  s('restriction', 0),
  s('addresses', 0),
  s('code', 0, U),
  s('note', 0),
  s('references', 0),
  s('incidents', 0),
  c('info', 0, U, [
    s('language', 0, 1, 'language'),
    e('category', V.category, 1, U),
    s('event'),
    e('responseType', V.responseType, 0, U),
    e('urgency', V.urgency),
    e('severity', V.severity),
    e('certainty', V.certainty),
    s('audience', 0),
    pair('eventCode'),
    s('effective', 0, 1, 'dateTime'),
    s('onset', 0, 1, 'dateTime'),
    s('expires', 0, 1, 'dateTime'),
    s('senderName', 0),
    s('headline', 0),
    s('description', 0),
    s('instruction', 0),
    s('web', 0, 1, 'anyURI'),
    s('contact', 0),
    pair('parameter'),
    c('resource', 0, U, [
      s('resourceDesc'),
      s('mimeType'),
      s('size', 0, 1, 'integer'),
      s('uri', 0, 1, 'anyURI'),
      s('derefUri', 0),
      s('digest', 0),
    ]),
    c('area', 0, U, [
      s('areaDesc'),
      s('polygon', 0, U),
      s('circle', 0, U),
      pair('geocode'),
      s('altitude', 0, 1, 'decimal'),
      s('ceiling', 0, 1, 'decimal'),
    ]),
  ]),
]);

/** The xs:dateTime restriction of CAP-v1.2.xsd: seconds and an explicit offset, no fraction, no 'Z'. */
export const CAP_DATETIME = /^\d\d\d\d-\d\d-\d\dT\d\d:\d\d:\d\d[-+]\d\d:\d\d$/;

function checkSimple(spec: Spec, el: XmlElement, path: string, problems: string[]): void {
  if (el.children.length > 0) problems.push(`${path}: must hold text, not elements`);
  const v = el.text.trim();
  if (spec.values && !spec.values.includes(v)) problems.push(`${path}: "${v}" is not one of ${spec.values.join(', ')}`);
  switch (spec.type) {
    case 'dateTime':
      if (!CAP_DATETIME.test(v) || Number.isNaN(Date.parse(v)))
        problems.push(`${path}: "${v}" is not a CAP dateTime (YYYY-MM-DDThh:mm:ss±hh:mm)`);
      break;
    case 'decimal':
      if (!/^[-+]?(\d+(\.\d*)?|\.\d+)$/.test(v)) problems.push(`${path}: "${v}" is not a decimal`);
      break;
    case 'integer':
      if (!/^[-+]?\d+$/.test(v)) problems.push(`${path}: "${v}" is not an integer`);
      break;
    case 'language':
      if (!/^[a-zA-Z]{1,8}(-[a-zA-Z0-9]{1,8})*$/.test(v)) problems.push(`${path}: "${v}" is not a language tag`);
      break;
    case 'anyURI':
      if (/\s/.test(v)) problems.push(`${path}: "${v}" is not a URI`);
      break;
    default:
      break;
  }
}

function checkSequence(spec: Spec, el: XmlElement, path: string, problems: string[]): void {
  const kids = spec.children ?? [];
  if (el.text.trim() !== '') problems.push(`${path}: unexpected text "${el.text.trim().slice(0, 40)}"`);
  let k = 0;
  for (const child of kids) {
    let n = 0;
    while (k < el.children.length && el.children[k]?.name === child.name) {
      const ce = el.children[k] as XmlElement;
      const cp = `${path}/${child.name}${child.max > 1 ? `[${n}]` : ''}`;
      if (Object.keys(ce.attrs).some((a) => a !== 'xmlns')) problems.push(`${cp}: attributes are not allowed`);
      if (child.children) checkSequence(child, ce, cp, problems);
      else checkSimple(child, ce, cp, problems);
      n++;
      k++;
    }
    if (n < child.min) problems.push(`${path}: missing required <${child.name}>`);
    if (n > child.max) problems.push(`${path}: <${child.name}> occurs ${n} times, at most ${child.max}`);
  }
  // The only extension point of <alert> is ds:Signature (xmldsig namespace).
  for (; k < el.children.length; k++) {
    const extra = el.children[k] as XmlElement;
    if (spec.name === 'alert' && /(^|:)Signature$/.test(extra.name)) continue;
    problems.push(`${path}: unexpected <${extra.name}> (not allowed here, or out of order)`);
  }
}

const text = (el: XmlElement, name: string): string | undefined => el.children.find((c) => c.name === name)?.text.trim();
const all = (el: XmlElement, name: string): XmlElement[] => el.children.filter((c) => c.name === name);

/** Every problem of a CAP 1.2 document (empty when it conforms). */
export function validateCap(xml: string): string[] {
  let root: XmlElement;
  try {
    root = parseXml(xml);
  } catch (err) {
    return [`not well-formed XML: ${(err as Error).message}`];
  }
  const problems: string[] = [];
  if (root.name !== 'alert') return [`root element is <${root.name}>, expected <alert>`];
  if (root.attrs.xmlns !== 'urn:oasis:names:tc:emergency:cap:1.2')
    problems.push(`<alert> must be in namespace urn:oasis:names:tc:emergency:cap:1.2 (xmlns="${root.attrs.xmlns ?? ''}")`);
  checkSequence(CAP_SCHEMA, root, '/alert', problems);

  // The specification's rules beyond the schema (CAP 1.2 §3.2.1–3.2.4).
  const noSpecials = /^[^\s,<&]+$/;
  for (const n of ['identifier', 'sender'] as const) {
    const v = text(root, n);
    if (v !== undefined && !noSpecials.test(v)) problems.push(`/alert/${n}: must not contain spaces, commas, '<' or '&'`);
  }
  const scope = text(root, 'scope');
  if (scope === 'Restricted' && !text(root, 'restriction')) problems.push('/alert: <restriction> is required when scope is Restricted');
  if (scope === 'Private' && !text(root, 'addresses')) problems.push('/alert: <addresses> is required when scope is Private');
  const msgType = text(root, 'msgType');
  const refs = text(root, 'references');
  if ((msgType === 'Update' || msgType === 'Cancel' || msgType === 'Ack' || msgType === 'Error') && !refs)
    problems.push(`/alert: a ${msgType} must have <references>`);
  if (refs) {
    for (const r of refs.split(/\s+/)) {
      const parts = r.split(',');
      if (parts.length !== 3 || !parts[0] || !parts[1] || !CAP_DATETIME.test(parts[2] ?? ''))
        problems.push(`/alert/references: "${r}" is not sender,identifier,sent`);
    }
  }
  all(root, 'info').forEach((info, i) => {
    all(info, 'area').forEach((area, j) => {
      for (const p of all(area, 'polygon')) {
        const pts = p.text.trim().split(/\s+/);
        const ok = pts.length >= 4 && pts.every((pt) => /^-?\d+(\.\d+)?,-?\d+(\.\d+)?$/.test(pt)) && pts[0] === pts[pts.length - 1];
        if (!ok) problems.push(`/alert/info[${i}]/area[${j}]/polygon: needs at least 4 lat,lon pairs, the first repeated last`);
        for (const pt of pts) {
          const [lat, lon] = pt.split(',').map(Number) as [number, number];
          if (Math.abs(lat) > 90 || Math.abs(lon) > 180) problems.push(`/alert/info[${i}]/area[${j}]/polygon: ${pt} is not a WGS 84 point`);
        }
      }
      for (const circle of all(area, 'circle')) {
        if (!/^-?\d+(\.\d+)?,-?\d+(\.\d+)? \d+(\.\d+)?$/.test(circle.text.trim()))
          problems.push(`/alert/info[${i}]/area[${j}]/circle: expected "lat,lon radius"`);
      }
    });
  });
  return problems;
}

/** The parts of a CAP document the tests and the API look at. */
export function capSummary(xml: string): {
  identifier: string;
  sender: string;
  sent: string;
  msgType: string;
  references: string[];
  languages: string[];
} {
  const root = parseXml(xml);
  return {
    identifier: text(root, 'identifier') ?? '',
    sender: text(root, 'sender') ?? '',
    sent: text(root, 'sent') ?? '',
    msgType: text(root, 'msgType') ?? '',
    references: (text(root, 'references') ?? '').split(/\s+/).filter(Boolean),
    languages: all(root, 'info').map((i) => text(i, 'language') ?? 'en-US'),
  };
}
