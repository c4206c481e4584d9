/**
 * Drinking-water intakes and other sensitive receptors on the river model (config/rivers.yaml
 * `receptors:`): the shipped list, the look-ups the notices use, and every hostile entry refused
 * with the file, line and key.
 */
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadNotifyConfig } from '../../alerts/notify/config.js';
import { riversSchemaFor, type RiversFile } from '../../config/rivers-schema.js';
import { isTuojiangError } from '../../lib/errors.js';
import { nextReceptorDownstream, receptorsOf } from '../../config/receptors.js';
import { loadRivers } from '../../simulator/rivers.js';
import { shipped } from '../helpers/notify-stack.js';

const shippedRivers = (): RiversFile => loadNotifyConfig(shipped.dir, shipped.registry).rivers;

const REACHES = `version: 1
rivers:
  tuojiang:
    reaches:
      - { from_km: 0, to_km: 45, velocity: { min_m_s: 0.3, max_m_s: 1.2 } }
      - { from_km: 45, to_km: 140, velocity: { min_m_s: 0.1, max_m_s: 0.6 } }
    receptors:
`;

const GOOD = `      - id: shiqiao-intake
        name: { zh: 石桥水厂取水口, en: Shiqiao water works intake }
        kind: drinking_water_intake
        river_km: 68
        city: chengdu
        contact: { name: 石桥水厂值班室, phone: "+86 28 0000 0001", email: duty@shiqiao-waterworks.example }
`;

/** A rivers.yaml with the given receptor entries; returns the problem text (or '' when valid). */
function problemsOf(receptors: string, head = REACHES): { message: string; file: string; text: string } {
  const dir = mkdtempSync(join(tmpdir(), 'tj-receptors-'));
  copyFileSync(join(shipped.dir, 'recipients.yaml'), join(dir, 'recipients.yaml'));
  const text = head + receptors;
  const file = join(dir, 'rivers.yaml');
  writeFileSync(file, text);
  try {
    loadNotifyConfig(dir, shipped.registry);
    return { message: '', file, text };
  } catch (e) {
    expect(isTuojiangError(e)).toBe(true);
    return { message: (e as Error).message, file, text };
  }
}

/** The 1-based line of the first occurrence of `needle` in `text`. */
const lineOf = (text: string, needle: string): number => text.slice(0, text.indexOf(needle)).split('\n').length;

describe('the shipped receptors', () => {
  it('the Tuojiang has the Shiqiao and Ziyang city intakes, with owner city and a contact', () => {
    const r = receptorsOf(shippedRivers(), 'tuojiang');
    expect(r.map((x) => [x.id, x.kind, x.river_km, x.city])).toEqual([
      ['shiqiao-intake', 'drinking_water_intake', 68, 'chengdu'],
      ['ziyang-city-intake', 'drinking_water_intake', 112, 'ziyang'],
    ]);
    for (const x of r) {
      expect(x.name.zh.length).toBeGreaterThan(0);
      expect(x.name.en.length).toBeGreaterThan(0);
      expect(x.contact.name.length).toBeGreaterThan(0);
      expect(x.contact.email).toMatch(/\.example$/);
    }
    // each intake is also a monitoring section: the notice for that section can say it is an intake
    expect(r.map((x) => x.station)).toEqual(['shiqiao', 'ziyang-city']);
  });

  it('the simulator loads the same file', () => {
    expect(loadRivers(shipped.dir, shipped.registry)?.rivers.tuojiang?.receptors?.length).toBe(2);
  });
});

describe('nextReceptorDownstream', () => {
  const rivers = shippedRivers();
  it('the nearest receptor at or below a river km', () => {
    expect(nextReceptorDownstream(rivers, 'tuojiang', 52)?.id).toBe('shiqiao-intake'); // Hongyuan
    expect(nextReceptorDownstream(rivers, 'tuojiang', 68)?.id).toBe('shiqiao-intake'); // at the intake itself
    expect(nextReceptorDownstream(rivers, 'tuojiang', 68.1)?.id).toBe('ziyang-city-intake');
    expect(nextReceptorDownstream(rivers, 'tuojiang', 96)?.id).toBe('ziyang-city-intake'); // Linjiangsi
    expect(nextReceptorDownstream(rivers, 'tuojiang', 112.5)).toBeUndefined();
  });

  it('only the kinds asked for; nothing on an unknown river', () => {
    expect(nextReceptorDownstream(rivers, 'tuojiang', 0, ['nature_reserve'])).toBeUndefined();
    expect(nextReceptorDownstream(rivers, 'tuojiang', 0, ['drinking_water_intake'])?.id).toBe('shiqiao-intake');
    expect(nextReceptorDownstream(rivers, 'fuxi', 0)).toBeUndefined();
    expect(receptorsOf(rivers, 'fuxi')).toEqual([]);
  });

  it('receptors listed out of order are found in river order', () => {
    const f = riversSchemaFor(shipped.registry).parse({
      version: 1,
      rivers: {
        tuojiang: {
          reaches: [{ from_km: 0, to_km: 640, velocity: { min_m_s: 0.1, max_m_s: 1 } }],
          receptors: [
            { id: 'b', name: { zh: '乙', en: 'B' }, kind: 'irrigation_intake', river_km: 90, city: 'ziyang', contact: { name: 'x' } },
            { id: 'a', name: { zh: '甲', en: 'A' }, kind: 'nature_reserve', river_km: 30, city: 'chengdu', contact: { name: 'y' } },
          ],
        },
      },
    });
    expect(receptorsOf(f, 'tuojiang').map((r) => r.id)).toEqual(['a', 'b']);
    expect(nextReceptorDownstream(f, 'tuojiang', 31)?.id).toBe('b');
    expect(nextReceptorDownstream(f, 'tuojiang', 0, ['irrigation_intake'])?.id).toBe('b');
  });
});

describe('hostile receptor entries are refused with file:line:key and a reason', () => {
  it('a valid entry loads', () => {
    expect(problemsOf(GOOD).message).toBe('');
  });

  it('a river km outside the reaches', () => {
    const p = problemsOf(GOOD.replace('river_km: 68', 'river_km: 150'));
    expect(p.message).toContain(`${p.file}:${lineOf(p.text, 'river_km: 150')}:`);
    expect(p.message).toMatch(/rivers\.tuojiang\.receptors\[0\]\.river_km: km 150 lies outside the reaches \(km 0–140\)/);
  });

  it('a negative or non-numeric river km', () => {
    expect(problemsOf(GOOD.replace('river_km: 68', 'river_km: -3')).message).toMatch(/receptors\[0\]\.river_km: .*found -3/);
    expect(problemsOf(GOOD.replace('river_km: 68', 'river_km: "68 km"')).message).toMatch(/receptors\[0\]\.river_km: .*expected number/);
  });

  it('an unknown city', () => {
    const p = problemsOf(GOOD.replace('city: chengdu', 'city: neijiang'));
    expect(p.message).toContain(`${p.file}:${lineOf(p.text, 'city: neijiang')}:`);
    expect(p.message).toMatch(/receptors\[0\]\.city: unknown city "neijiang"; expected one of chengdu, ziyang/);
  });

  it('a duplicate id, on the same river or anywhere in the file', () => {
    const p = problemsOf(GOOD + GOOD.replace('river_km: 68', 'river_km: 70'));
    expect(p.message).toMatch(/receptors\[1\]\.id: duplicate receptor id "shiqiao-intake" \(also rivers\.tuojiang\.receptors\[0\]\)/);
  });

  it('an unknown kind, an unknown key, a malformed id', () => {
    expect(problemsOf(GOOD.replace('kind: drinking_water_intake', 'kind: swimming_pool')).message).toMatch(
      /receptors\[0\]\.kind: Invalid option: expected one of "drinking_water_intake"\|/,
    );
    expect(problemsOf(GOOD.replace('        city: chengdu\n', '        city: chengdu\n        capacity: 9000\n')).message).toMatch(
      /receptors\[0\]: Unrecognized key: "capacity"/,
    );
    expect(problemsOf(GOOD.replace('id: shiqiao-intake', 'id: "shiqiao intake\\nDROP"')).message).toMatch(
      /receptors\[0\]\.id: lower-case letters, digits and - /,
    );
  });

  it('a contact without a name, a bad e-mail or phone, an over-long field', () => {
    expect(problemsOf(GOOD.replace('name: 石桥水厂值班室, ', '')).message).toMatch(/receptors\[0\]\.contact\.name: .*expected string/);
    expect(
      problemsOf(GOOD.replace('email: duty@shiqiao-waterworks.example', 'email: "duty@x.example\\r\\nBcc: all@x.example"')).message,
    ).toMatch(/receptors\[0\]\.contact\.email: an e-mail address/);
    expect(problemsOf(GOOD.replace('phone: "+86 28 0000 0001"', 'phone: "call me maybe"')).message).toMatch(
      /receptors\[0\]\.contact\.phone: a telephone number/,
    );
    expect(problemsOf(GOOD.replace('name: 石桥水厂值班室', `name: ${'长'.repeat(300)}`)).message).toMatch(
      /receptors\[0\]\.contact\.name: .*too long|<=200|200 characters/i,
    );
  });

  it('a station that does not exist, or lies on another river or elsewhere on this one', () => {
    expect(problemsOf(GOOD.replace('        city: chengdu\n', '        city: chengdu\n        station: nowhere\n')).message).toMatch(
      /receptors\[0\]\.station: unknown station "nowhere"/,
    );
    expect(
      problemsOf(GOOD.replace('        city: chengdu\n', '        city: chengdu\n        station: jianyang-shijian\n')).message,
    ).toMatch(/receptors\[0\]\.station: station jianyang-shijian is not a section of the tuojiang/);
    expect(problemsOf(GOOD.replace('        city: chengdu\n', '        city: chengdu\n        station: hongyuan\n')).message).toMatch(
      /receptors\[0\]\.station: station hongyuan is at km 52, not at the receptor's km 68/,
    );
  });

  it('receptors on a river without reaches, or not a list', () => {
    expect(problemsOf('', REACHES.replace('    receptors:\n', '    receptors: intake\n')).message).toMatch(
      /rivers\.tuojiang\.receptors: .*expected array/,
    );
  });

  it('every problem of a file at once, not the first only', () => {
    const p = problemsOf(GOOD.replace('river_km: 68', 'river_km: 150').replace('city: chengdu', 'city: neijiang'));
    expect(p.message).toMatch(/river_km: km 150 lies outside/);
    expect(p.message).toMatch(/city: unknown city "neijiang"/);
  });
});

describe('the shipped file says its receptors are illustrative', () => {
  it('a comment says so', () => {
    expect(readFileSync(join(shipped.dir, 'rivers.yaml'), 'utf8')).toMatch(/receptors[\s\S]*ILLUSTRATIVE|ILLUSTRATIVE[\s\S]*receptors/);
  });
});
