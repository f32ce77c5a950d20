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
