// Keyword extraction: corpus phrases, the seed's stopwords never lead a phrase, preferred phrases
// (from the VLM's description) rank first by head noun, dedupe and max; long texts are read only
// in part and their parses are not cached.
import { describe, expect, it } from 'vitest';
import { CORPUS } from './corpus.ts';
import { extractKeywords, keywordCacheStats, MAX_CACHED_TEXT, MAX_PARSED } from './keywords.ts';

const SEED_STOP = ['mask', 'create', 'generate', 'image', 'cut', 'edge', 'picture', 'photo', 'segment', 'new', 'her', 'his', 'my', 'the', 'that', 'this'];

describe('extractKeywords', () => {
  it('finds the expected phrases on the corpus', () => {
    const cases = CORPUS.filter((c) => c.keywords !== undefined);
    expect(cases.length).toBeGreaterThan(40);
    for (const c of cases) expect(extractKeywords(c.text), c.text).toEqual(expect.arrayContaining(c.keywords!));
  });

  it('keeps adjectives with their noun and drops task words and places', () => {
    expect(extractKeywords('segment the brown dog next to the car')).toEqual(['brown dog', 'car']);
    expect(extractKeywords('find all the red cars on the left')).toEqual(['red car']);
    expect(extractKeywords('segment the dog in this picture')).toEqual(['dog']);
  });

  it('never starts a phrase with a seed stopword, and phrases are 1-3 words', () => {
    for (const c of CORPUS) {
      for (const p of extractKeywords(c.text)) {
        expect(SEED_STOP).not.toContain(p.split(' ')[0]);
        expect(p.split(' ').length).toBeLessThanOrEqual(3);
      }
    }
  });

  it('ranks phrases the VLM named first, matching the singular head noun', () => {
    const text = 'outline the bicycle, the red car and the dog';
    expect(extractKeywords(text)).toEqual(['bicycle', 'red car', 'dog']);
    expect(extractKeywords(text, { preferred: ['two dogs', 'a tree'] })).toEqual(['dog', 'bicycle', 'red car']);
    expect(extractKeywords(text, { preferred: ['cars'], max: 2 })).toEqual(['red car', 'bicycle']);
  });

  it('dedupes and returns nothing for chat without objects', () => {
    expect(extractKeywords('find the cat and the cats')).toEqual(['cat']);
    expect(extractKeywords('what is in this image?')).toEqual([]);
  });
});

describe('extractKeywords with the VLM description (prefer)', () => {
  it('ranks phrases the description names first, plural-insensitive both ways', () => {
    expect(extractKeywords('segment the dog and the cat', { prefer: 'Two cats are sleeping on a sofa.' })).toEqual(['cat', 'dog']);
    expect(extractKeywords('find the dogs and the car', { prefer: 'A brown dog sits by the road.' })).toEqual(['dog', 'car']);
    expect(extractKeywords('count the bikes and the people', { prefer: 'A person is standing.' })).toEqual(['person', 'bike']);
    expect(extractKeywords('box the traffic lights and the car', { prefer: 'Traffic lights over a street.' })).toEqual(['traffic light', 'car']);
    expect(extractKeywords('find the car and the person', { prefer: 'Three people wait at a bus stop.' })).toEqual(['person', 'car']);
    expect(extractKeywords('outline the car and the berry', { prefer: 'A bowl of berries and leaves.' })).toEqual(['berry', 'car']);
  });

  it('puts a phrase whose modifiers the description names too ahead of a head-only match', () => {
    expect(extractKeywords('find the red car and the blue car', { prefer: 'A blue car is parked near a tree.' })).toEqual(['blue car', 'red car']);
  });

  it('keeps the text order when the description names nothing, and honours max', () => {
    const text = 'outline the bicycle, the red car and the dog';
    expect(extractKeywords(text, { prefer: 'An empty beach at sunset.' })).toEqual(['bicycle', 'red car', 'dog']);
    expect(extractKeywords(text, { prefer: '' })).toEqual(['bicycle', 'red car', 'dog']);
    expect(extractKeywords(text, { prefer: 'dogs and bicycles', max: 2 })).toEqual(['bicycle', 'dog']);
  });

  it('combines with the preferred phrase list', () => {
    const text = 'outline the bicycle, the red car and the dog';
    expect(extractKeywords(text, { preferred: ['a car'], prefer: 'a dog on grass' })).toEqual(['red car', 'dog', 'bicycle']);
  });

  it('finds the same phrases with and without a description', () => {
    for (const c of CORPUS.filter((k) => k.keywords !== undefined)) {
      const plain = extractKeywords(c.text);
      const preferred = extractKeywords(c.text, { prefer: 'A photo of a dog, two cars and a person next to a tree.' });
      expect([...preferred].sort(), c.text).toEqual([...plain].sort());
    }
  });
});

describe('extractKeywords on long texts', () => {
  /** An image request, `n` filler clauses without objects, then one more object at the end. */
  const request = (n: number): string => `Segment the brown dog next to the car, ${'and then please do it again slowly, '.repeat(n)}and also the zebra`;

  it('gives the same keywords as before for texts up to MAX_PARSED characters, cached or not', () => {
    for (const n of [12, 50]) {
      const text = request(n);
      expect(text.length).toBeLessThanOrEqual(MAX_PARSED);
      expect(text.length > MAX_CACHED_TEXT).toBe(n === 50);
      for (let i = 0; i < 2; i++) {
        expect(extractKeywords(text)).toEqual(['brown dog', 'car', 'zebra']);
        expect(extractKeywords(text, { max: 3, prefer: 'a zebra on grass' })).toEqual(['zebra', 'brown dog', 'car']);
      }
    }
  });

  it('reads only the first MAX_PARSED characters of a 16K-character text, and caches no long text', () => {
    const before = keywordCacheStats();
    const text = request(450);
    expect(text.length).toBeGreaterThan(16_000);
    const start = performance.now();
    // The zebra is named past the parsed prefix: not found even when the description names it.
    expect(extractKeywords(text, { max: 3, prefer: 'a zebra on grass' })).toEqual(['brown dog', 'car']);
    console.log(`extractKeywords on ${text.length} characters: ${(performance.now() - start).toFixed(1)} ms`);
    for (let i = 0; i < 20; i++) expect(extractKeywords(`${i} ${text}`, { max: 3 })).toEqual(['brown dog', 'car']);
    expect(keywordCacheStats()).toEqual(before);
  });

  it('bounds the parse cache to MAX_CACHED_TEXT characters a text', () => {
    for (let i = 0; i < 300; i++) extractKeywords(`find the red car number ${i} ${'x'.repeat(i * 3)}`);
    const { entries, chars } = keywordCacheStats();
    expect(entries).toBeLessThanOrEqual(128);
    expect(chars).toBeLessThanOrEqual(128 * MAX_CACHED_TEXT);
  });
});
