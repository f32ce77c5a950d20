// The demo page (index.html): connects to the gateway, streams typed and spoken questions' answers
// as they arrive, shows partial transcripts, uploads an image and draws detections and masks over
// it, and watches the camera for objects (camera watch: a frame a second, watch.event shown and its
// boxes drawn over that frame, the answer of the turn its question started streamed like any).
// Query parameters: gw (WebSocket URL, default ws://<this host>:8080/v1/ws), token (a client token
// for a gateway with authentication). window.vlpDemo exposes what the page saw, for tests.
import type { ErrorCode } from '../../../protocol/errors.ts';
import type { ServerMessage, WatchEventMsg } from '../../../protocol/messages.ts';
import { CAMERA_FRAME_PREFIX, startCamera, type Camera } from './camera.ts';
import type { DemoState } from './demo-state.ts';
import { startMicrophone, type Microphone } from './mic.ts';
import { drawBoxes, drawMask } from './overlay.ts';
import { VlpBrowserClient } from './sdk.ts';
import { AnswerSpeaker } from './speech.ts';

const state: DemoState = {
  status: 'connecting',
  resumes: 0,
  readySeqs: [],
  frames: [],
  answers: {},
  finals: [],
  masksDrawn: 0,
  truncations: [],
  camera: 'off',
  cameraFrames: 0,
  watchEvents: [],
  watchDrawn: 0,
};
/** Bounds of what the page keeps (a session may run for hours with the microphone open). */
const MAX_FRAMES = 2000;
const MAX_ANSWERS = 50;
const MAX_FINALS = 50;
const MAX_WATCH_EVENTS = 50;
/** The page's one watch (starting it again replaces it on the gateway). */
const WATCH_ID = 'camera';
/** watch.start bounds (SPEC watch.start), checked here to say what is wrong before sending. */
const MAX_LABELS = 8;
const MAX_LABEL_CHARS = 64;
const MAX_ASK_CHARS = 1024;
/** Errors with ref watch.start that mean the watch did not start (the others, detection failures,
 *  leave it running). */
const WATCH_REFUSALS = new Set<ErrorCode>(['PROTO_INVALID_FIELD', 'PROTO_FIELD_TOO_LARGE', 'PROTO_RATE_LIMITED', 'INPUT_WATCH_LIMIT', 'INPUT_WATCH_UNAVAILABLE']);
(window as unknown as { vlpDemo: DemoState }).vlpDemo = state;

function el<T extends HTMLElement>(id: string): T {
  const e = document.getElementById(id);
  if (!e) throw new Error(`#${id} missing`);
  return e as T;
}

const status = el<HTMLSpanElement>('status');
const question = el<HTMLInputElement>('question');
const send = el<HTMLButtonElement>('send');
const cancel = el<HTMLButtonElement>('cancel');
const micButton = el<HTMLButtonElement>('mic');
const level = el<HTMLDivElement>('level').firstElementChild as HTMLDivElement;
const imageInput = el<HTMLInputElement>('image');
const transcript = el<HTMLDivElement>('transcript');
const answer = el<HTMLDivElement>('answer');
const canvas = el<HTMLCanvasElement>('canvas');
const log = el<HTMLDivElement>('log');
const notice = el<HTMLDivElement>('notice');
const watchLabels = el<HTMLInputElement>('watch-labels');
const watchAsk = el<HTMLInputElement>('watch-ask');
const watchStart = el<HTMLButtonElement>('watch-start');
const watchStop = el<HTMLButtonElement>('watch-stop');
const preview = el<HTMLVideoElement>('preview');

const params = new URLSearchParams(location.search);
const gateway = params.get('gw') ?? `ws://${location.hostname || '127.0.0.1'}:8080/v1/ws`;
const token = params.get('token') ?? undefined;

let client: VlpBrowserClient | undefined;
/** The latest answer turn (the one the speaker may still be speaking). */
let lastSpoken: string | undefined;
const speaker = new AnswerSpeaker();
const speakBox = el<HTMLInputElement>('speak');
/** Offered (and on) once the browser has a voice; then left to the user. */
let speechOffered = false;
const offerSpeech = (): void => {
  if (speechOffered || !speaker.available) return;
  speechOffered = true;
  speakBox.disabled = false;
  speakBox.checked = true;
};
offerSpeech();
// Switched off mid-answer: the voice stops and nothing is truncated (the user reads it).
speakBox.addEventListener('change', () => {
  if (!speakBox.checked) speaker.drop();
});
globalThis.speechSynthesis?.addEventListener?.('voiceschanged', offerSpeech);
let mic: Microphone | undefined;
/** The uploaded image, redrawn under each turn's detections. */
let picture: ImageBitmap | undefined;
let imageId: string | undefined;
let imageCount = 0;
let running: string | undefined;
let camera: Camera | undefined;
/** The camera frames sent, by id (at most 4: camera.ts rotates their ids); a watch event is drawn
 *  over the one it names. */
const cameraFrames = new Map<string, ImageBitmap>();
/** A watch.start was sent and no watch.stop since. */
let watching = false;
/** Stop was pressed while the connection was resuming: the watch.stop goes once it is open again
 *  (the watch survives the resume on the gateway). */
let unwatchPending = false;

function setStatus(s: DemoState['status'], text: string): void {
  state.status = s;
  status.textContent = text;
}

function logFrame(msg: ServerMessage): void {
  const turn = 'turn' in msg && typeof msg.turn === 'string' ? msg.turn : undefined;
  state.frames.push(turn === undefined ? { seq: msg.seq, t: msg.t } : { seq: msg.seq, t: msg.t, turn });
  if (state.frames.length > MAX_FRAMES) state.frames.splice(0, state.frames.length - MAX_FRAMES);
  if (msg.t === 'gen.token') return; // the answer shows them; a row each would flood the log
  const detail = msg.t === 'error' ? ` ${msg.code}: ${msg.message}` : msg.t === 'watch.event' ? ` ${msg.kind} ${msg.label} ×${msg.count} (${msg.image})${msg.turn_skipped !== undefined ? ` no turn: ${msg.turn_skipped}` : ''}` : '';
  const line = document.createElement('div');
  line.textContent = `${msg.seq} ${msg.t}${turn !== undefined ? ` ${turn}` : ''}${detail}`;
  log.prepend(line);
  while (log.childElementCount > 200) log.lastElementChild?.remove();
}

function showAnswer(turn: string): void {
  answer.textContent = state.answers[turn] ?? '';
}

/** Puts `image` on the canvas, the canvas sized to it (boxes and masks are drawn over it). */
function showImage(image: ImageBitmap): void {
  canvas.width = image.width;
  canvas.height = image.height;
  canvas.getContext('2d')?.drawImage(image, 0, 0);
}

/** The picture the page holds for an image id: the uploaded image, or a camera frame. */
function imageFor(id: string): ImageBitmap | undefined {
  return id === imageId ? picture : cameraFrames.get(id);
}

function onWatchEvent(msg: WatchEventMsg): void {
  state.watchEvents.push({
    watch: msg.watch,
    kind: msg.kind,
    label: msg.label,
    count: msg.count,
    image: msg.image,
    ...(msg.turn !== undefined && { turn: msg.turn }),
    ...(msg.turn_skipped !== undefined && { turnSkipped: msg.turn_skipped }),
  });
  if (state.watchEvents.length > MAX_WATCH_EVENTS) state.watchEvents.shift();
  if (msg.kind === 'leave') {
    transcript.textContent = `camera: ${msg.label} left the view`;
    return;
  }
  const why = msg.turn !== undefined ? ', asking about it' : msg.turn_skipped === 'busy' ? ' (not asked: an answer was running)' : msg.turn_skipped === 'cooldown' ? ' (not asked again yet)' : '';
  transcript.textContent = `camera: ${msg.label} came into view (${msg.count})${why}`;
  // Drawn over the frame the event names (kept for a few seconds: camera.ts).
  const frame = imageFor(msg.image);
  if (frame === undefined) return;
  showImage(frame);
  drawBoxes(canvas, msg);
  state.watchDrawn++;
}

function onFrame(msg: ServerMessage): void {
  logFrame(msg);
  switch (msg.t) {
    case 'turn.started': {
      running = msg.turn;
      // A new answer while the previous one is still spoken: that one was cut short.
      if (lastSpoken !== undefined) stopSpeaking(lastSpoken);
      lastSpoken = msg.turn;
      if (speakBox.checked) speaker.begin(msg.turn);
      state.answers[msg.turn] = '';
      const turns = Object.keys(state.answers);
      for (const old of turns.slice(0, Math.max(0, turns.length - MAX_ANSWERS))) delete state.answers[old];
      showAnswer(msg.turn);
      cancel.disabled = false;
      break;
    }
    case 'gen.token':
      state.answers[msg.turn] = (state.answers[msg.turn] ?? '') + msg.text;
      // Appended, not re-set: rewriting the whole answer per token grows with its square.
      if (msg.turn === running) answer.append(msg.text);
      speaker.add(msg.turn, msg.text); // a no-op unless this turn's speech began
      break;
    case 'gen.done':
      speaker.finish(msg.turn);
      if (msg.turn === running) {
        running = undefined;
        // Still being spoken: Stop stays to cut the voice (and the history) short.
        cancel.disabled = !speakBox.checked;
      }
      break;
    case 'turn.cancelled':
      // A barge-in (or Stop): the voice stops, and the history keeps only what was heard. An
      // utterance the echo guard took for this page's own voice (reason echo) never started.
      if (msg.reason === 'echo' || msg.reason === 'backchannel') {
        // Its asr.final came just before: not a bid for the turn after all.
        state.finals.pop();
        transcript.textContent = msg.reason === 'echo' ? '(the microphone heard this page speaking: ignored)' : `${transcript.textContent ?? ''} (listening: the answer goes on)`;
        break;
      }
      stopSpeaking(msg.turn);
      if (msg.turn === running) {
        running = undefined;
        cancel.disabled = true;
      }
      break;
    // vad: not a reason to stop the voice. The microphone also hears this page speaking; the
    // gateway's echo guard tells the user's words from it. The user speaking over an answer
    // still streaming cancels it (turn.cancelled, barge_in, at the first words that are not the
    // answer's own); over one already streamed, the new voice turn's turn.started stops it.
    case 'asr.partial': {
      transcript.textContent = msg.stable;
      const tail = document.createElement('span');
      tail.className = 'unstable';
      tail.textContent = msg.unstable;
      transcript.append(tail);
      break;
    }
    case 'asr.final':
      transcript.textContent = msg.text;
      state.finals.push(msg.text);
      if (state.finals.length > MAX_FINALS) state.finals.shift();
      break;
    case 'detect.boxes': {
      // The image the boxes refer to: the uploaded picture, or a camera frame (a watch's turn).
      const under = imageFor(msg.image) ?? picture;
      if (under) showImage(under);
      drawBoxes(canvas, msg);
      break;
    }
    case 'mask.frame':
      drawMask(canvas, msg);
      state.masksDrawn++;
      break;
    case 'watch.event':
      onWatchEvent(msg);
      break;
    case 'error':
      state.error = `${msg.code}: ${msg.message}`;
      notice.textContent = state.error;
      // An error naming the running turn ended it (SPEC §4).
      if (msg.turn !== undefined && msg.turn === running) {
        running = undefined;
        cancel.disabled = true;
      }
      // The watch did not start: the camera stops (there is nothing to stop on the gateway).
      if (msg.ref === 'watch.start' && WATCH_REFUSALS.has(msg.code)) stopWatch(false);
      break;
    case 'goaway':
      notice.textContent =
        msg.reason === 'max_session'
          ? `this session ends in ${Math.round(msg.time_left_ms / 1000)} s (maximum duration): reload for a new one`
          : `the gateway closes this connection in ${Math.round(msg.time_left_ms / 1000)} s (${msg.reason})`;
      break;
    default:
      break; // intent.update, plan.step, turn.metrics, asr.lag, pong: in the log only
  }
}

async function connect(): Promise<void> {
  setStatus('connecting', `connecting to ${gateway}…`);
  try {
    // The page speaks its answers aloud, and the microphone may hear them: a barge-in waits for
    // words (first_words), the gateway's echo guard tells the page's own voice from the user's, and
    // "uh-huh" while it speaks is the user listening, not interrupting.
    const options = { barge_in: 'first_words', echo_guard: true, ignore_backchannels: true } as const;
    client = await VlpBrowserClient.connect(gateway, { client: 'vlp-demo', options, ...(token !== undefined && { token }) });
  } catch (err) {
    setStatus('failed', `could not connect: ${(err as Error).message}`);
    return;
  }
  const c = client;
  c.onFrame(onFrame);
  c.onClose((code, reason) => {
    setStatus('closed', `closed (${code}${reason ? ` ${reason}` : ''}); reload to start a new session`);
    send.disabled = true;
    cancel.disabled = true;
    micButton.disabled = true;
    imageInput.disabled = true;
    // The camera stops itself too (camera.ts); its onStopped resets the watch buttons.
    watching = false;
    unwatchPending = false;
    watchStart.disabled = true;
    watchStop.disabled = true;
    // The microphone stops itself (mic.ts); the button shows it.
    mic = undefined;
    micButton.textContent = 'Start microphone';
    level.style.width = '0';
  });
  const readyText = (): string => `session ${c.ready.session_id} · models ${c.ready.models.map((m) => m.id).join(', ')}`;
  const inputs = (enabled: boolean): void => {
    send.disabled = !enabled;
    micButton.disabled = !enabled;
    imageInput.disabled = !enabled;
    watchStart.disabled = !enabled || watching || camera !== undefined;
  };
  c.onState((st) => {
    if (st === 'resuming') {
      setStatus('resuming', 'connection lost: resuming the session…');
      inputs(false); // nothing is sent meanwhile
    } else if (st === 'open') {
      if (unwatchPending) {
        unwatchPending = false;
        c.unwatch(WATCH_ID);
      }
      state.resumes++;
      state.readySeqs.push(c.ready.seq);
      setStatus('ready', `${readyText()} · resumed`);
      inputs(true);
    }
  });
  state.readySeqs.push(c.ready.seq);
  setStatus('ready', readyText());
  send.disabled = false;
  micButton.disabled = false;
  imageInput.disabled = false;
  watchStart.disabled = false;
}

el<HTMLFormElement>('ask').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const text = question.value.trim();
  if (!client || text.length === 0) return;
  if (client.ask(text, imageId !== undefined ? { image: imageId } : {}) === undefined) {
    notice.textContent = 'not connected: the question was not sent';
    return;
  }
  question.value = '';
});

/** Stops the voice on `turn` and tells the gateway how much of it was heard. */
function stopSpeaking(turn: string): void {
  const heard = speaker.stop(turn);
  if (heard === undefined || !client) return;
  client.truncatePlayback(turn, heard);
  state.truncations.push({ turn, heard });
}

cancel.addEventListener('click', () => {
  if (running !== undefined) client?.cancel();
  else if (lastSpoken !== undefined) stopSpeaking(lastSpoken); // the answer is done but still being spoken
});

micButton.addEventListener('click', () => {
  void (async () => {
    if (!client) return;
    if (mic) {
      const m = mic;
      mic = undefined;
      micButton.textContent = 'Start microphone';
      level.style.width = '0';
      await m.stop();
      return;
    }
    micButton.disabled = true;
    try {
      mic = await startMicrophone(client, { onLevel: (v) => (level.style.width = `${Math.min(100, Math.round(v * 400))}%`) });
      micButton.textContent = 'Stop microphone';
    } catch (err) {
      state.error = (err as Error).message;
      notice.textContent = `microphone: ${(err as Error).message}`;
    } finally {
      micButton.disabled = !client.open;
    }
  })();
});

imageInput.addEventListener('change', () => {
  void (async () => {
    const file = imageInput.files?.[0];
    if (!client || !file) return;
    let bitmap: ImageBitmap;
    try {
      bitmap = await createImageBitmap(file);
    } catch {
      notice.textContent = 'that file is not an image this browser can read';
      return;
    }
    // Over the gateway's limit (a phone photo often is): re-encode smaller rather than have the
    // frame refused (or, past max_frame_bytes, the connection closed).
    const bytes = await fitImage(file, bitmap, client.ready.limits.max_image_bytes);
    if (bytes === undefined) {
      bitmap.close();
      notice.textContent = `the image is larger than the gateway accepts (${client.ready.limits.max_image_bytes} bytes) even re-encoded`;
      return;
    }
    picture?.close();
    picture = bitmap;
    showImage(bitmap);
    imageId = `img${++imageCount}`;
    if (!client.putImage(imageId, bytes)) notice.textContent = 'not connected: the image was not sent';
  })();
});

/** The labels input as watch.start labels (comma-separated, trimmed, duplicates dropped), or why
 *  it cannot be one. */
function parseLabels(text: string): string[] | string {
  const labels: string[] = [];
  for (const part of text.split(',')) {
    const label = part.trim();
    if (label === '') continue;
    if (label.length > MAX_LABEL_CHARS) return `a label is at most ${MAX_LABEL_CHARS} characters`;
    if (!labels.some((l) => l.toLowerCase() === label.toLowerCase())) labels.push(label);
  }
  if (labels.length === 0) return 'name what to watch for: labels separated by commas';
  if (labels.length > MAX_LABELS) return `at most ${MAX_LABELS} labels`;
  return labels;
}

/** A camera frame was sent: kept under its id (replacing, and releasing, the frame sent before
 *  under that id). */
function keepFrame(id: string, bitmap: ImageBitmap): void {
  cameraFrames.get(id)?.close();
  cameraFrames.set(id, bitmap);
  state.cameraFrames++;
}

/** The camera stopped (Stop, a refused watch, or the connection closing). */
function cameraStopped(): void {
  camera = undefined;
  for (const bitmap of cameraFrames.values()) bitmap.close();
  cameraFrames.clear();
  watching = false;
  state.camera = 'off';
  preview.hidden = true;
  watchStop.disabled = true;
  watchStart.disabled = !(client?.open ?? false);
}

/** Stops the camera watch: watch.stop (`sendStop`, when the gateway runs it), no more frames, the
 *  camera released. */
function stopWatch(sendStop: boolean): void {
  if (watching && sendStop && client && !client.unwatch(WATCH_ID)) unwatchPending = client.state === 'resuming';
  watching = false;
  camera?.stop(); // its onStopped: cameraStopped()
}

watchStart.addEventListener('click', () => {
  void (async () => {
    if (!client || watching || camera !== undefined) return;
    const labels = parseLabels(watchLabels.value);
    const ask = watchAsk.value.trim();
    if (typeof labels === 'string' || ask.length > MAX_ASK_CHARS) {
      notice.textContent = typeof labels === 'string' ? labels : `the question is at most ${MAX_ASK_CHARS} characters`;
      return;
    }
    watchStart.disabled = true;
    state.camera = 'starting';
    let started: Camera;
    try {
      started = await startCamera(client, { video: preview, onFrame: keepFrame, onStopped: cameraStopped });
    } catch (err) {
      state.camera = 'off';
      state.error = (err as Error).message;
      notice.textContent = `camera: ${(err as Error).message}`;
      watchStart.disabled = !client.open;
      return;
    }
    // Stopped already (the connection closed while it started): cameraStopped() reset the page.
    if (!started.active) return;
    camera = started;
    state.camera = 'on';
    preview.hidden = false;
    watchStop.disabled = false;
    // Sent after the camera's first frame, so the watch starts on it (a watch begins on the
    // session's latest image, which could otherwise be a picture uploaded earlier). The interval
    // is left at its default, 1000 ms: one detection per frame sent.
    // frame_prefix: a photo chosen meanwhile (its own id) is not taken for a camera frame.
    watching = client.watch({ id: WATCH_ID, labels, frame_prefix: CAMERA_FRAME_PREFIX, ...(ask !== '' && { ask }) });
    if (!watching) {
      notice.textContent = 'not connected: the watch was not started';
      stopWatch(false);
    }
  })();
});

watchStop.addEventListener('click', () => stopWatch(true));

/** The file's bytes when they fit `limit`, else a JPEG re-encoding at most 2048 px on its longest
 *  side (then 1024), or undefined when even that does not fit. */
async function fitImage(file: File, bitmap: ImageBitmap, limit: number): Promise<Uint8Array | undefined> {
  if (file.size <= limit) return new Uint8Array(await file.arrayBuffer());
  for (const side of [2048, 1024]) {
    const scale = Math.min(1, side / Math.max(bitmap.width, bitmap.height));
    const c = document.createElement('canvas');
    c.width = Math.max(1, Math.round(bitmap.width * scale));
    c.height = Math.max(1, Math.round(bitmap.height * scale));
    c.getContext('2d')?.drawImage(bitmap, 0, 0, c.width, c.height);
    const blob = await new Promise<Blob | null>((resolve) => c.toBlob(resolve, 'image/jpeg', 0.88));
    if (blob !== null && blob.size <= limit) return new Uint8Array(await blob.arrayBuffer());
  }
  return undefined;
}

void connect();
