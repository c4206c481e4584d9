/** lib/format.ts withArticle: the article a medium takes in messages people read. */
import { describe, expect, it } from 'vitest';
import { withArticle } from '../../lib/format.js';

describe('withArticle', () => {
  it('is "an" before a vowel and "a" otherwise', () => {
    expect(withArticle('air')).toBe('an air');
    expect(withArticle('water')).toBe('a water');
    expect(withArticle('Odour')).toBe('an Odour');
    expect(withArticle('soil')).toBe('a soil');
  });
});
