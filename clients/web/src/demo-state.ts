// What the demo page (app.ts) exposes as window.vlpDemo: what it saw, for its Chromium test and
// for anyone poking at it from the console. No DOM types: the Node-side test imports it too.
export interface DemoState {
  status: 'connecting' | 'ready' | 'resuming' | 'closed' | 'failed';
  /** Resumes completed after a dropped connection. */
  resumes: number;
  /** seq of each ready (the first, then one per resume: it precedes the replayed frames). */
  readySeqs: number[];
  /** Every frame's seq, type (and turn), in order (the last MAX_FRAMES). */
  frames: { seq: number; t: string; turn?: string }[];
  /** Answer text per turn. */
  answers: Record<string, string>;
  finals: string[];
  masksDrawn: number;
  /** playback.truncate sent: the turn and the characters heard when its speech stopped. */
  truncations: { turn: string; heard: number }[];
  error?: string;
}
