import { describe, expect, it } from 'vitest';
import { keySlot } from '../../lib/redis-replicated.js';

describe('keySlot (the slot Redis Cluster gives a key)', () => {
  it('matches the values of the Redis documentation of CLUSTER KEYSLOT', () => {
    expect(keySlot('somekey')).toBe(11058);
    expect(keySlot('foo{hash_tag}')).toBe(2515);
  });

  it('hashes only the first non-empty hash tag', () => {
    expect(keySlot('{tuojiang}:journal')).toBe(keySlot('tuojiang'));
    expect(keySlot('{tuojiang}:as:outbox')).toBe(keySlot('{tuojiang}:journal'));
    expect(keySlot('a{b}{c}')).toBe(keySlot('b'));
    // An empty tag is no tag: the whole key is hashed.
    expect(keySlot('{}x')).not.toBe(keySlot(''));
    expect(keySlot('{}x')).toBe(keySlot('{}x'));
    expect(keySlot('{tj-p1}:journal')).not.toBe(keySlot('{tj-p2}:journal'));
  });
});
