// The process-wide lemma cache stays small whatever users send: words longer than MAX_LEMMA_WORD
// are neither parsed nor cached, the cache is bounded in characters and evicts the least recently
// used words one at a time, and flatCopy copies strings exactly.
import { describe, expect, it } from 'vitest';
import { flatCopy, LEMMA_CACHE_MAX_CHARS, LEMMA_CACHE_MAX_ENTRIES, LemmaCache, lemmaCacheStats, lemmaOf, MAX_LEMMA_WORD } from './nlp.ts';
import { Lemmatizer } from './tokens.ts';

/** The n-th distinct lower-case word of `length` letters (base 26, padded with 'q'). */
function wordN(n: number, length: number): string {
  let s = '';
  for (let k = n; s.length < 6; k = Math.floor(k / 26)) s += String.fromCharCode(97 + (k % 26));
  return s.padEnd(length, 'q');
}

describe('lemmaOf', () => {
  it('gives words named like Object.prototype members back as strings', () => {
    for (const w of ['constructor', 'tostring', 'valueof', 'hasownproperty', '__proto__']) expect(typeof lemmaOf(w)).toBe('string');
    expect(lemmaOf('constructor')).toBe('constructor');
    expect(new Lemmatizer().lemmas('the constructor').join(' ')).not.toMatch(/native code/);
  });

  it('still lemmatizes ordinary words', () => {
    expect(lemmaOf('dogs')).toBe('dog');
    expect(lemmaOf('segmenting')).toBe('segment');
    expect(lemmaOf('people')).toBe('person');
  });

  it('neither lemmatizes nor caches 50,000 distinct words longer than MAX_LEMMA_WORD', () => {
    const before = lemmaCacheStats();
    let changed = 0;
    for (let i = 0; i < 50_000; i++) {
      const w = wordN(i, MAX_LEMMA_WORD + 1 + (i % 200));
      if (lemmaOf(w) !== w) changed++;
    }
    expect(changed).toBe(0);
    expect(lemmaCacheStats()).toEqual(before);
  });

  it('keeps the cache bounded when fed long texts: a 16K-character "word" is not kept', () => {
    const before = lemmaCacheStats();
    for (let i = 0; i < 200; i++) {
      const text = `${wordN(i, 16_000)} ${wordN(i + 1, 4_000)}s`;
      const lemmas = new Lemmatizer().lemmas(text);
      expect(lemmas).toEqual(text.split(' '));
    }
    expect(lemmaCacheStats()).toEqual(before);
    expect(lemmaCacheStats().chars).toBeLessThanOrEqual(LEMMA_CACHE_MAX_CHARS);
    expect(lemmaCacheStats().entries).toBeLessThanOrEqual(LEMMA_CACHE_MAX_ENTRIES);
  });
});

describe('LemmaCache', () => {
  it('stays within its character bound over 50,000 distinct long entries', () => {
    const cache = new LemmaCache(LEMMA_CACHE_MAX_ENTRIES, LEMMA_CACHE_MAX_CHARS);
    let maxChars = 0;
    for (let i = 0; i < 50_000; i++) {
      const w = wordN(i, MAX_LEMMA_WORD);
      cache.set(w, w.slice(0, -1));
      maxChars = Math.max(maxChars, cache.stats().chars);
    }
    expect(maxChars).toBeLessThanOrEqual(LEMMA_CACHE_MAX_CHARS);
    const { entries, chars } = cache.stats();
    expect(chars).toBe(entries * (2 * MAX_LEMMA_WORD - 1));
    expect(entries).toBe(Math.floor(LEMMA_CACHE_MAX_CHARS / (2 * MAX_LEMMA_WORD - 1)));
    expect(cache.get(wordN(49_999, MAX_LEMMA_WORD))).toBe(wordN(49_999, MAX_LEMMA_WORD).slice(0, -1));
    expect(cache.get(wordN(0, MAX_LEMMA_WORD))).toBeUndefined();
  });

  it('stays within its entry bound with short words', () => {
    const cache = new LemmaCache(100, 1_000_000);
    for (let i = 0; i < 5_000; i++) cache.set(wordN(i, 6), 'x');
    expect(cache.stats()).toEqual({ entries: 100, chars: 700 });
  });

  it('evicts gradually, least recently used first', () => {
    const cache = new LemmaCache(3, 1_000);
    cache.set('dogs', 'dog');
    cache.set('cats', 'cat');
    cache.set('cars', 'car');
    expect(cache.get('dogs')).toBe('dog'); // now the most recent: "cats" is the oldest
    cache.set('trees', 'tree');
    expect(cache.get('cats')).toBeUndefined();
    expect([cache.get('dogs'), cache.get('cars'), cache.get('trees')]).toEqual(['dog', 'car', 'tree']);
    expect(cache.stats()).toEqual({ entries: 3, chars: 4 + 3 + 4 + 3 + 5 + 4 });
  });

  it('counts a replaced entry once and refuses an entry larger than the whole bound', () => {
    const cache = new LemmaCache(10, 20);
    cache.set('dogs', 'dog');
    cache.set('dogs', 'doggo');
    expect(cache.stats()).toEqual({ entries: 1, chars: 9 });
    cache.set('a'.repeat(15), 'b'.repeat(15));
    expect(cache.stats()).toEqual({ entries: 1, chars: 9 });
    expect(cache.get('dogs')).toBe('doggo');
  });
});

describe('flatCopy', () => {
  it('returns an equal string, lone surrogates and non-Latin text included', () => {
    for (const s of ['', 'dog', 'segmentation', 'x'.repeat(40), 'caf\u00e9 \u4e2d\u6587 \ud83d\udc15', 'a\ud800b\udc00c']) {
      expect(flatCopy(s)).toBe(s);
    }
    const message = `${'word '.repeat(3_000)}photographically`;
    expect(flatCopy(message.slice(-16))).toBe('photographically');
  });
});
