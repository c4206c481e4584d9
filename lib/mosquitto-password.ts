/**
 * Mosquitto's password file format, written without mosquitto_passwd (the tuojiang image has no
 * broker tools): `user:$7$<iterations>$<salt>$<hash>`, PBKDF2-HMAC-SHA512, 101 iterations, a
 * 12-byte salt, base64 (mosquitto 2.0's `mosquitto_passwd`, src/password_mosq.c). A real broker
 * accepts what this writes: test/integration/stations-add.test.ts logs in with it.
 */
import { pbkdf2Sync, randomBytes } from 'node:crypto';
import { chmod, chown, readFile, rename, stat, writeFile } from 'node:fs/promises';

const ITERATIONS = 101;

export function mosquittoHash(password: string, salt: Buffer = randomBytes(12)): string {
  const hash = pbkdf2Sync(Buffer.from(password, 'utf8'), salt, ITERATIONS, 64, 'sha512');
  return `$7$${ITERATIONS}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

/** The user names in a password file (empty when the file does not exist). */
export async function passwordFileUsers(path: string): Promise<string[]> {
  const text = await readFile(path, 'utf8').catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return '';
    throw e;
  });
  return text
    .split('\n')
    .filter((l) => l.includes(':'))
    .map((l) => l.slice(0, l.indexOf(':')));
}

/**
 * Sets one user's password in the file: every other line kept, written through a temporary file
 * and a rename (a broker reloading on SIGHUP never reads half a file), mode 0600, the owner of the
 * file it replaces (the broker's user).
 */
export async function setMosquittoPassword(path: string, username: string, password: string): Promise<void> {
  const before = await stat(path).catch(() => undefined);
  const text = before ? await readFile(path, 'utf8') : '';
  const lines = text.split('\n').filter((l) => l !== '' && l.slice(0, l.indexOf(':')) !== username);
  lines.push(`${username}:${mosquittoHash(password)}`);
  const tmp = `${path}.tuojiang-${process.pid}`;
  await writeFile(tmp, `${lines.join('\n')}\n`, { mode: 0o600 });
  await chmod(tmp, 0o600);
  if (before) await chown(tmp, before.uid, before.gid).catch(() => undefined);
  await rename(tmp, path);
}
