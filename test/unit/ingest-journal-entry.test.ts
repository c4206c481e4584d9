/**
 * The journal's entry formats (ingest/journal-entry.ts): rows written now, objects of 0.1.0 still
 * read, anything else refused with a reason (the writer keeps it as a dead letter).
 */
import { describe, expect, it } from 'vitest';
import { OBJECTS_FIELD, ROWS_FIELD, entryReadings, readingRow, readingRows } from '../../ingest/journal-entry.js';
import type { Reading } from '../../lib/reading.js';

const plain: Reading = {
  station: 'hongyuan',
  city: 'chengdu',
  medium: 'water',
  ts: 1_756_702_800_000,
  period: 'rt',
  values: { NH3N: 0.42, pH: 7.1 },
  flags: {},
  source: 'json',
};
const full: Reading = {
  ...plain,
  station: 'shiqiao',
  period: 'hour',
  values: { NH3N: 1.5 },
  flags: { NH3N: 'D' },
  extras: { NH3N_min: 1.1, NH3N_max: 1.9 },
  source: 'hj212',
  quirks: ['datatime-17-digits'],
};
const quirkOnly: Reading = { ...plain, station: 'huaikou', source: 'hj212', quirks: ['no-crc'] };
const extrasOnly: Reading = { ...plain, station: 'zhaozhen', extras: { pH_max: 7.3 } };

describe('journal entry rows', () => {
  it('give back every reading as it was journaled, optional parts only where present', () => {
    const readings = [plain, full, quirkOnly, extrasOnly];
    const back = entryReadings([ROWS_FIELD, readingRows(readings)]);
    expect(back).toEqual(readings);
    expect(Object.keys(back[0]!)).not.toContain('extras');
    expect(Object.keys(back[0]!)).not.toContain('quirks');
    expect(Object.keys(back[2]!)).not.toContain('extras');
  });

  it('are a row per reading by position, smaller than the objects they replace', () => {
    expect(JSON.parse(readingRow(plain))).toEqual(['hongyuan', 'chengdu', 'water', plain.ts, 'rt', { NH3N: 0.42, pH: 7.1 }, {}, 'json']);
    expect(JSON.parse(readingRow(quirkOnly)).slice(8)).toEqual([null, ['no-crc']]);
    expect(readingRows([plain]).length).toBeLessThan(JSON.stringify([plain]).length - 60);
    expect(readingRows([])).toBe('[]');
  });

  it('rows joined one per line are what the dedupe path of the append script puts between brackets', () => {
    const lines = [plain, full].map(readingRow).join('\n');
    expect(entryReadings([ROWS_FIELD, `[${lines.split('\n').join(',')}]`])).toEqual([plain, full]);
  });

  it("0.1.0's entries of reading objects are still read", () => {
    expect(entryReadings([OBJECTS_FIELD, JSON.stringify([plain, full])])).toEqual([plain, full]);
  });

  it('keep the field names already in streams: rows under "r", 0.1.0\'s objects under "b"', () => {
    // Stored entries outlive versions: renaming either field would strand what is in the journal.
    expect(entryReadings(['r', readingRows([plain])])).toEqual([plain]);
    expect(entryReadings(['b', JSON.stringify([plain])])).toEqual([plain]);
  });

  it.each([
    ['another field', ['x', '[]'], /field is "x"/],
    ['no value', [ROWS_FIELD], /no value/],
    ['not JSON', [ROWS_FIELD, '[oops'], /JSON/],
    ['not an array', [ROWS_FIELD, '{"station":"a"}'], /not an array of rows/],
    ['a row too short', [ROWS_FIELD, '[["a","chengdu","water",1,"rt",{},{}]]'], /8 to 10/],
    ['a row too long', [ROWS_FIELD, `[["a","c","water",1,"rt",{},{},"json",null,[],1]]`], /8 to 10/],
    ['a time that is text', [ROWS_FIELD, '[["a","chengdu","water","1","rt",{},{},"json"]]'], /time/],
    ['values that are a list', [ROWS_FIELD, '[["a","chengdu","water",1,"rt",[],{},"json"]]'], /values/],
    ['no station', [ROWS_FIELD, '[[null,"chengdu","water",1,"rt",{},{},"json"]]'], /station/],
    ['no city', [ROWS_FIELD, '[["a",null,"water",1,"rt",{},{},"json"]]'], /city/],
    ['a medium that is a number', [ROWS_FIELD, '[["a","chengdu",1,1,"rt",{},{},"json"]]'], /medium/],
    ['no period', [ROWS_FIELD, '[["a","chengdu","water",1,null,{},{},"json"]]'], /period/],
    ['flags that are a list', [ROWS_FIELD, '[["a","chengdu","water",1,"rt",{},[],"json"]]'], /flags/],
    ['no source', [ROWS_FIELD, '[["a","chengdu","water",1,"rt",{},{},null]]'], /source/],
    ['0.1.0 objects that are not a list', [OBJECTS_FIELD, '{"station":"a"}'], /not an array of readings/],
    ['a 0.1.0 reading that is null', [OBJECTS_FIELD, '[null]'], /not an object/],
    [
      'a 0.1.0 reading without values',
      [OBJECTS_FIELD, '[{"station":"a","city":"c","medium":"water","ts":1,"period":"rt","flags":{},"source":"json"}]'],
      /values/,
    ],
  ])('refuse %s with a reason', (_what, fields, reason) => {
    expect(() => entryReadings(fields)).toThrow(reason);
  });
});
