import { describe, expect, it } from 'vitest';
import { PASSWORD_HASH_PATTERN, hashPassword, verifyPassword } from '../../lib/password-hash.js';

const CHEAP = { N: 1024, r: 8, p: 1 };

describe('logger password hashes', () => {
  it('verifies the password hashed, and only it', async () => {
    const hash = await hashPassword('123456', CHEAP);
    expect(hash).toMatch(PASSWORD_HASH_PATTERN);
    expect(await verifyPassword('123456', hash)).toBe(true);
    expect(await verifyPassword('123457', hash)).toBe(false);
    expect(await verifyPassword('', hash)).toBe(false);
  });

  it('salts: the same password hashes differently each time', async () => {
    expect(await hashPassword('123456', CHEAP)).not.toBe(await hashPassword('123456', CHEAP));
  });

  it('the default costs are scrypt N=2^14, r=8', async () => {
    expect((await hashPassword('x')).split('$').slice(1, 4)).toEqual(['16384', '8', '1']);
  });

  it('refuses, without throwing, a hash that is not one of ours or asks for absurd costs', async () => {
    const hash = await hashPassword('pw', CHEAP);
    const [, , r, p, salt, key] = hash.split('$');
    expect(await verifyPassword('pw', `scrypt$1023$${r}$${p}$${salt}$${key}`)).toBe(false); // not a power of two
    expect(await verifyPassword('pw', `scrypt$4194304$${r}$${p}$${salt}$${key}`)).toBe(false); // 2^22: too costly
    expect(await verifyPassword('pw', 'sha256$abc')).toBe(false);
  });
});
