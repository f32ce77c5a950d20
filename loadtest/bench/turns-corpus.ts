// The scripted corpus of bench:turns: spoken turns (espeak-ng clips, registered in the simulated
// recognizer) and typed turns, each with the image of the session, and the intent each should get.
import type { ClipName } from '../../sim/asr/index.ts';
import type { IntentLabel } from '../../src/understanding/labels.ts';

export type CorpusTurn =
  | { kind: 'spoken'; clip: ClipName; expect: IntentLabel; segment: boolean }
  | { kind: 'typed'; text: string; expect: IntentLabel; segment: boolean };

/** One pass of the corpus; the benchmark runs it `reps` times per mode. */
export const TURNS_CORPUS: readonly CorpusTurn[] = [
  { kind: 'spoken', clip: 'segment-dog', expect: 'segment', segment: true },
  { kind: 'spoken', clip: 'detect-cars', expect: 'detect', segment: true },
  { kind: 'spoken', clip: 'what-in-image', expect: 'vqa', segment: false },
  { kind: 'spoken', clip: 'hello-how-are-you', expect: 'chat', segment: false },
  { kind: 'spoken', clip: 'describe-long', expect: 'vqa', segment: false },
  { kind: 'typed', text: 'segment the dog', expect: 'segment', segment: true },
  { kind: 'typed', text: 'draw boxes around the cars', expect: 'detect', segment: true },
  { kind: 'typed', text: 'what is in this image?', expect: 'vqa', segment: false },
];
