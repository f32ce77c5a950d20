// Rules classifier: accuracy on the labelled corpus, score shape, image context, determinism
// (incremental partials give the same result as a fresh parse), and a printed (unasserted) cost.
import { describe, expect, it } from 'vitest';
import { CORPUS, PARTIAL_SEQUENCES } from './corpus.ts';
import { RulesIntentClassifier, topLabel } from './rules.ts';

const classifier = new RulesIntentClassifier();

describe('RulesIntentClassifier', () => {
  it('warmUp leaves no trace: the same answers as a fresh classifier, nothing cached', () => {
    const warmed = new RulesIntentClassifier({ cacheSize: 2 });
    warmed.warmUp();
    const fresh = new RulesIntentClassifier({ cacheSize: 2 });
    for (const text of ['segment the dog in this picture', 'what is in this image?', 'write a poem']) {
      for (const hasImage of [true, false]) expect(warmed.classify(text, { hasImage })).toEqual(fresh.classify(text, { hasImage }));
    }
  });

  it('has a corpus of at least 120 utterances', () => {
    expect(CORPUS.length).toBeGreaterThanOrEqual(120);
  });

  it('labels at least 90% of the corpus right', () => {
    const misses = CORPUS.filter((c) => topLabel(classifier.classify(c.text, c)) !== c.label);
    const accuracy = 1 - misses.length / CORPUS.length;
    console.log(`intent accuracy ${(accuracy * 100).toFixed(1)}% (${CORPUS.length - misses.length}/${CORPUS.length})`);
    for (const m of misses) console.log(`  miss: "${m.text}" image=${m.hasImage} expected ${m.label}`);
    expect(accuracy).toBeGreaterThanOrEqual(0.9);
  });

  it('returns every label once, sorted, scores in [0,1] summing to at most 1', () => {
    for (const c of CORPUS) {
      const { labels } = classifier.classify(c.text, c);
      expect(new Set(labels.map((l) => l.label)).size).toBe(10);
      for (let i = 1; i < labels.length; i++) expect(labels[i - 1]!.score).toBeGreaterThanOrEqual(labels[i]!.score);
      for (const l of labels) expect(l.score >= 0 && l.score <= 1).toBe(true);
      expect(labels.reduce((a, l) => a + l.score, 0)).toBeLessThanOrEqual(1);
    }
  });

  it('lemmatizes: "segmenting the dogs" is a segment request', () => {
    expect(topLabel(classifier.classify('segmenting the dogs', { hasImage: true }))).toBe('segment');
    expect(topLabel(classifier.classify('Outlining the Cats', { hasImage: true }))).toBe('segment');
  });

  it('down-weights vision labels without an image', () => {
    const withImage = classifier.classify('where is the cup', { hasImage: true });
    const without = classifier.classify('where is the cup', { hasImage: false });
    expect(topLabel(withImage)).toBe('detect');
    expect(topLabel(without)).toBe('chat');
    const score = (r: typeof withImage): number => r.labels.find((l) => l.label === 'detect')!.score;
    expect(score(without)).toBeLessThan(score(withImage));
  });

  it('is deterministic: same text, fresh or incremental, gives the same result', () => {
    const incremental = new RulesIntentClassifier({ cacheSize: 1 });
    for (const seq of PARTIAL_SEQUENCES) {
      for (const p of seq.partials) {
        const fresh = new RulesIntentClassifier().classify(p, seq);
        expect(incremental.classify(p, seq)).toEqual(fresh);
        expect(classifier.classify(p, seq)).toEqual(fresh);
      }
    }
  });

  it('handles empty and odd input', () => {
    expect(topLabel(classifier.classify('', { hasImage: false }))).toBe('chat');
    expect(topLabel(classifier.classify('  ?  ', { hasImage: true }))).toBe('vqa');
    expect(topLabel(classifier.classify("What's in this PHOTO?", { hasImage: true }))).toBe('vqa');
  });

  it('micro-benchmark: prints the mean cost per classify over the corpus (asserts nothing on time)', () => {
    const c = new RulesIntentClassifier({ cacheSize: 1 });
    const texts = CORPUS.flatMap((k) => [...(k.text.split(' ').map((_, i, w) => w.slice(0, i + 1).join(' ')))]);
    for (const t of texts) c.classify(t, { hasImage: true }); // warm the word cache
    const rounds = 5;
    const start = performance.now();
    for (let r = 0; r < rounds; r++) for (const t of texts) c.classify(t, { hasImage: r % 2 === 0 });
    const meanUs = ((performance.now() - start) * 1000) / (rounds * texts.length);
    console.log(`rules classify: mean ${meanUs.toFixed(1)} µs per partial over ${texts.length} partials × ${rounds}`);
    expect(texts.length).toBeGreaterThan(0);
  });
});
