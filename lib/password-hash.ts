/**
 * Salted scrypt hashes of the short secrets devices carry, such as an HJ 212 logger's PW (six digits
 * by the standard's default). Operators' API tokens are random 256-bit strings and are stored as
 * plain SHA-256 (alerts/threshold-store/operators.ts); a six-digit password stored that way would be
 * recovered from its hash in well under a second, so these cost scrypt's memory and time per guess
 * (docs/decisions/0012-hj212-tcp.md).
 *
 * Format: `scrypt$<N>$<r>$<p>$<salt, base64url>$<hash, base64url>`.
 */
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

export const PASSWORD_HASH_PATTERN = /^scrypt\$\d{1,7}\$\d{1,2}\$\d{1,2}\$[A-Za-z0-9_-]{16,64}\$[A-Za-z0-9_-]{32,128}$/;

/** N = 2^14, r = 8: 16 MiB and about 50 ms per guess on one core; verified once per connection. */
const DEFAULT = { N: 16384, r: 8, p: 1 } as const;
const KEY_BYTES = 32;

function derive(password: string, salt: Buffer, N: number, r: number, p: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password, salt, KEY_BYTES, { N, r, p, maxmem: 256 * N * r + 1024 * 1024 }, (e, key) => (e ? reject(e) : resolve(key)));
  });
}

export async function hashPassword(password: string, params: { N: number; r: number; p: number } = DEFAULT): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(password, salt, params.N, params.r, params.p);
  return `scrypt$${params.N}$${params.r}$${params.p}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

/** Whether `password` is the one hashed; false (never a throw) for a hash that is not ours. */
export async function verifyPassword(password: string, hash: string): Promise<boolean> {
  if (!PASSWORD_HASH_PATTERN.test(hash)) return false;
  const [, n, r, p, salt, key] = hash.split('$') as [string, string, string, string, string, string];
  const N = Number(n);
  // A hash edited by hand to absurd costs must not stall the process: bound what is attempted.
  if (N < 2 || N > 1 << 20 || (N & (N - 1)) !== 0 || Number(r) < 1 || Number(p) < 1 || Number(p) > 4) return false;
  const expected = Buffer.from(key, 'base64url');
  try {
    const got = await derive(password, Buffer.from(salt, 'base64url'), N, Number(r), Number(p));
    return got.length === expected.length && timingSafeEqual(got, expected);
  } catch {
    return false;
  }
}
