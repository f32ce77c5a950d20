// The demo page (index.html): connects to the gateway, streams typed and spoken questions' answers
// as they arrive, shows partial transcripts, uploads an image and draws detections and masks over
// it. Query parameters: gw (WebSocket URL, default ws://<this host>:8080/v1/ws), token (a client
// token for a gateway with authentication). window.vlpDemo exposes what the page saw, for tests.
import type { ServerMessage } from '../../../protocol/messages.ts';
import type { DemoState } from './demo-state.ts';
import { startMicrophone, type Microphone } from './mic.ts';
import { drawBoxes, drawMask } from './overlay.ts';
import { VlpBrowserClient } from './sdk.ts';
import { AnswerSpeaker } from './speech.ts';

const state: DemoState = { status: 'connecting', resumes: 0, readySeqs: [], frames: [], answers: {}, finals: [], masksDrawn: 0, truncations: [] };
/** Bounds of what the page keeps (a session may run for hours with the microphone open). */
const MAX_FRAMES = 2000;
const MAX_ANSWERS = 50;
const MAX_FINALS = 50;
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

const params = new URLSearchParams(location.search);
const gateway = params.get('gw') ?? `ws://${location.hostname || '127.0.0.1'}:8080/v1/ws`;
const token = params.get('token') ?? undefined;

let client: VlpBrowserClient | undefined;
/** The latest answer turn (the one the speaker may still be speaking). */
let lastSpoken: string | undefined;
/** A turn whose voice was cut while it streamed: truncated when it ends. */
let silencedTurn: string | undefined;
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

function setStatus(s: DemoState['status'], text: string): void {
  state.status = s;
  status.textContent = text;
}

function logFrame(msg: ServerMessage): void {
  const turn = 'turn' in msg && typeof msg.turn === 'string' ? msg.turn : undefined;
  state.frames.push(turn === undefined ? { seq: msg.seq, t: msg.t } : { seq: msg.seq, t: msg.t, turn });
  if (state.frames.length > MAX_FRAMES) state.frames.splice(0, state.frames.length - MAX_FRAMES);
  if (msg.t === 'gen.token') return; // the answer shows them; a row each would flood the log
  const line = document.createElement('div');
  line.textContent = `${msg.seq} ${msg.t}${turn !== undefined ? ` ${turn}` : ''}${msg.t === 'error' ? ` ${msg.code}: ${msg.message}` : ''}`;
  log.prepend(line);
  while (log.childElementCount > 200) log.lastElementChild?.remove();
}

function showAnswer(turn: string): void {
  answer.textContent = state.answers[turn] ?? '';
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
      // Silenced while it streamed (the user spoke over it): the truncation goes now, the turn
      // being over (the gateway refuses one for a running turn).
      if (silencedTurn === msg.turn) stopSpeaking(msg.turn);
      if (msg.turn === running) {
        running = undefined;
        // Still being spoken: Stop stays to cut the voice (and the history) short.
        cancel.disabled = !speakBox.checked;
      }
      break;
    case 'turn.cancelled':
      // A barge-in (or Stop): the voice stops, and the history keeps only what was heard.
      stopSpeaking(msg.turn);
      if (msg.turn === running) {
        running = undefined;
        cancel.disabled = true;
      }
      break;
    case 'vad':
      // The user speaks over an answer being spoken. Still streaming: the voice stops now, and the
      // truncation goes when the turn ends (barge-in cancels it, or gen.done). Streamed whole (the
      // gateway has nothing to cancel): truncated now.
      if (msg.event !== 'speech_start' || lastSpoken === undefined || speaker.current !== lastSpoken) break;
      if (running === lastSpoken) {
        speaker.silence(lastSpoken);
        silencedTurn = lastSpoken;
      } else stopSpeaking(lastSpoken);
      break;
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
    case 'detect.boxes':
      if (picture) canvas.getContext('2d')?.drawImage(picture, 0, 0);
      drawBoxes(canvas, msg);
      break;
    case 'mask.frame':
      drawMask(canvas, msg);
      state.masksDrawn++;
      break;
    case 'error':
      state.error = `${msg.code}: ${msg.message}`;
      notice.textContent = state.error;
      // An error naming the running turn ended it (SPEC §4).
      if (msg.turn !== undefined && msg.turn === running) {
        running = undefined;
        cancel.disabled = true;
      }
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
    client = await VlpBrowserClient.connect(gateway, { client: 'vlp-demo', ...(token !== undefined && { token }) });
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
  };
  c.onState((st) => {
    if (st === 'resuming') {
      setStatus('resuming', 'connection lost: resuming the session…');
      inputs(false); // nothing is sent meanwhile
    } else if (st === 'open') {
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
  if (silencedTurn === turn) silencedTurn = undefined;
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
    canvas.width = bitmap.width;
    canvas.height = bitmap.height;
    canvas.getContext('2d')?.drawImage(bitmap, 0, 0);
    imageId = `img${++imageCount}`;
    if (!client.putImage(imageId, bytes)) notice.textContent = 'not connected: the image was not sent';
  })();
});

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
