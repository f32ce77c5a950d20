// Deterministic simulated detection: 0..3 boxes per phrase from a hash of (image bytes, phrase),
// scored and thresholded like Grounding DINO (keep score > box_threshold), then capped and numbered.
import { createHash } from 'node:crypto';
import { fnv1a, mix32, mulberry32, randInt } from '../random.ts';

export interface SimBox {
  id: number;
  label: string;
  score: number;
  box: [number, number, number, number];
}

/** Phrases that always get at least one box, and words that never get any. */
const ALWAYS = new Set(['dog', 'cat', 'person', 'car']);
const NEVER = ['nothing', 'unicorn'];
/** Lowest score of the guaranteed box; above a demo box_threshold of 0.5. */
const ALWAYS_MIN_SCORE = 0.62;

export function imageHash(bytes: Uint8Array): number {
  return createHash('sha256').update(bytes).digest().readUInt32BE(0);
}

function round2(v: number): number {
  return Math.round(v * 100) / 100;
}

/** The boxes of one phrase before thresholds; scores do not depend on the thresholds. */
function phraseBoxes(seed: number, phrase: string, h: number, w: number): Omit<SimBox, 'id'>[] {
  if (NEVER.some((n) => phrase.includes(n))) return [];
  const rand = mulberry32(mix32(seed, fnv1a(phrase)));
  const always = phrase.split(/\s+/).some((word) => ALWAYS.has(word));
  const n = Math.max(randInt(rand, 0, 3), always ? 1 : 0);
  const out: Omit<SimBox, 'id'>[] = [];
  for (let i = 0; i < n; i++) {
    // Grounding DINO gives normalized cx, cy, w, h; the service converts to pixel xyxy.
    const bw = 0.15 + rand() * 0.45;
    const bh = 0.15 + rand() * 0.45;
    const cx = bw / 2 + rand() * (1 - bw);
    const cy = bh / 2 + rand() * (1 - bh);
    const raw = 0.3 + rand() * 0.67;
    const score = always && i === 0 ? ALWAYS_MIN_SCORE + (raw - 0.3) / 2 : raw;
    out.push({
      label: phrase,
      score: round2(score),
      box: [round2((cx - bw / 2) * w), round2((cy - bh / 2) * h), round2((cx + bw / 2) * w), round2((cy + bh / 2) * h)],
    });
  }
  return out;
}

/** All kept boxes, best score first, at most maxInstances, ids 0..n-1 in that order. A guaranteed
 *  box below a high box_threshold is lifted just above it, so "dog" is always found. */
export function detect(
  bytes: Uint8Array,
  phrases: readonly string[],
  size: [number, number],
  boxThreshold: number,
  maxInstances: number,
): SimBox[] {
  const [h, w] = size;
  const seed = imageHash(bytes);
  const kept: Omit<SimBox, 'id'>[] = [];
  for (const phrase of phrases) {
    const boxes = phraseBoxes(seed, phrase, h, w);
    boxes.forEach((b, i) => {
      const guaranteed = i === 0 && phrase.split(/\s+/).some((word) => ALWAYS.has(word));
      if (b.score > boxThreshold) kept.push(b);
      else if (guaranteed) kept.push({ ...b, score: Math.min(0.999, (boxThreshold + 1) / 2) });
    });
  }
  kept.sort((a, b) => b.score - a.score);
  return kept.slice(0, maxInstances).map((b, id) => ({ id, ...b }));
}
