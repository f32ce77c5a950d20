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
  /** The camera watch's camera: off, starting (asking for the camera), on (sending frames). */
  camera: 'off' | 'starting' | 'on';
  /** image.put frames the camera has sent. */
  cameraFrames: number;
  /** watch.event frames without their boxes, in order (the last MAX_WATCH_EVENTS). */
  watchEvents: { watch: string; kind: 'enter' | 'leave'; label: string; count: number; image: string; turn?: string; turnSkipped?: string }[];
  /** Enter events whose boxes were drawn over the camera frame they name. */
  watchDrawn: number;
  error?: string;
}
