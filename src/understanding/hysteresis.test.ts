// IntentTracker: partial sequences settle early and never flap afterwards, alternating inputs do not
// flip the label, a persistent challenger takes over, and "stable" needs hold + score.
import { describe, expect, it } from 'vitest';
import type { IntentResult } from './classifier-port.ts';
import { PARTIAL_SEQUENCES } from './corpus.ts';
import { IntentTracker } from './hysteresis.ts';
import type { IntentLabel } from './labels.ts';
import { RulesIntentClassifier } from './rules.ts';

const result = (a: IntentLabel, sa: number, b: IntentLabel, sb: number): IntentResult => ({
  labels: [{ label: a, score: sa }, { label: b, score: sb }].sort((x, y) => y.score - x.score),
});

describe('IntentTracker', () => {
  it('settles on the final label by settleBy on every partial sequence and never leaves it', () => {
    const classifier = new RulesIntentClassifier();
    for (const seq of PARTIAL_SEQUENCES) {
      const tracker = new IntentTracker();
      const tops = seq.partials.map((p) => tracker.update(classifier.classify(p, seq)).top);
      expect(tops.slice(seq.settleBy), seq.partials.at(-1)).toEqual(tops.slice(seq.settleBy).map(() => seq.label));
      const changes = tops.filter((t, i) => i > 0 && t !== tops[i - 1]).length;
      expect(changes, seq.partials.at(-1)).toBeLessThanOrEqual(1);
    }
  });

  it('reports stable once the top held 2 updates with score >= 0.6', () => {
    const t = new IntentTracker();
    expect(t.update(result('segment', 0.9, 'chat', 0.1))).toMatchObject({ changed: true, stable: false, top: 'segment' });
    expect(t.update(result('segment', 0.9, 'chat', 0.1))).toMatchObject({ changed: false, stable: true });
    const low = new IntentTracker();
    low.update(result('vqa', 0.5, 'chat', 0.4));
    expect(low.update(result('vqa', 0.5, 'chat', 0.4)).stable).toBe(false);
  });

  it('does not flap on alternating inputs, even with large margins', () => {
    const t = new IntentTracker();
    const tops: IntentLabel[] = [];
    let changes = 0;
    for (let i = 0; i < 20; i++) {
      const u = t.update(i % 2 === 0 ? result('segment', 0.9, 'vqa', 0.05) : result('vqa', 0.9, 'segment', 0.05));
      tops.push(u.top);
      if (u.changed) changes++;
    }
    expect(changes).toBe(1);
    expect(new Set(tops)).toEqual(new Set(['segment']));
  });

  it('switches after 2 updates with a margin, after 3 without one', () => {
    const t = new IntentTracker();
    t.update(result('chat', 0.7, 'detect', 0.2));
    expect(t.update(result('detect', 0.8, 'chat', 0.1)).changed).toBe(false);
    expect(t.update(result('detect', 0.8, 'chat', 0.1))).toMatchObject({ changed: true, top: 'detect' });

    const close = new IntentTracker();
    close.update(result('chat', 0.5, 'vqa', 0.4));
    expect(close.update(result('vqa', 0.46, 'chat', 0.44)).top).toBe('chat');
    expect(close.update(result('vqa', 0.46, 'chat', 0.44)).top).toBe('chat');
    expect(close.update(result('vqa', 0.46, 'chat', 0.44))).toMatchObject({ changed: true, top: 'vqa' });
  });

  it('reset forgets the label', () => {
    const t = new IntentTracker();
    t.update(result('chat', 0.9, 'vqa', 0.1));
    t.reset();
    expect(t.top).toBeNull();
    expect(t.update(result('vqa', 0.9, 'chat', 0.1))).toMatchObject({ changed: true, top: 'vqa' });
  });
});
