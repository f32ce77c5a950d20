// Keyword extraction: corpus phrases, the seed's stopwords never lead a phrase, preferred phrases
// (from the VLM's description) rank first by head noun, dedupe and max.
import { describe, expect, it } from 'vitest';
import { CORPUS } from './corpus.ts';
import { extractKeywords } from './keywords.ts';

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
