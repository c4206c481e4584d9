import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { diskFreeRatio, overcommitWarning } from '../../lib/host-resources.js';

const dir = mkdtempSync(join(tmpdir(), 'tuojiang-host-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('overcommitWarning', () => {
  it('names vm.overcommit_memory and its value unless it is 1, and stays quiet when it cannot read it', async () => {
    const file = (v: string) => {
      const p = join(dir, `overcommit-${v.trim() || 'empty'}`);
      writeFileSync(p, v);
      return p;
    };
    expect(await overcommitWarning(file('1\n'))).toBeUndefined();
    for (const v of ['0', '2']) {
      const w = await overcommitWarning(file(`${v}\n`));
      expect(w).toContain(`vm.overcommit_memory is ${v} on this host, not 1`);
      expect(w).toContain('sysctl vm.overcommit_memory=1');
    }
    expect(await overcommitWarning(join(dir, 'missing'))).toBeUndefined();
  });
});

describe('diskFreeRatio', () => {
  it('is a fraction of the file system holding the path', async () => {
    const r = await diskFreeRatio(dir);
    expect(r).toBeGreaterThan(0);
    expect(r).toBeLessThanOrEqual(1);
  });
});
