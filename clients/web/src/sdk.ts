// Browser SDK for the vlp.v1 gateway: one WebSocket (binary msgpack, the protocol/ codec bundled
// for the browser), hello → ready, every later server frame to the listeners, typed senders for
// turns, images, audio and watches, acks. Browsers cannot set headers on a WebSocket upgrade, so a
// client token (POST /v1/client_tokens, minted by your server with an API key) travels as
// `?token=`. No Node APIs: bundled by clients/web/bundle.ts.
import { createClientCodec, type ClientCodec } from '../../../protocol/codec.ts';
import { CloseCode } from '../../../protocol/errors.ts';
import { SeqTracker } from '../../node/seq.ts';
import {
  SUBPROTOCOL_MSGPACK,
  type AudioStartMsg,
  type ClientMessage,
  type GenParams,
  type ReadyMsg,
  type ServerMessage,
  type SessionOptions,
  type WatchStartMsg,
} from '../../../protocol/messages.ts';

export interface BrowserConnectOptions {
  /** A client token for a gateway with client authentication (sent as ?token=), or a function
   *  that returns a fresh one (called for every connection, resumes included). */
  token?: string | (() => string | Promise<string>);
  /** Client name for the gateway's logs. */
  client?: string;
  options?: SessionOptions;
  /** Handshake plus ready, ms. Default 10 000. */
  connectTimeoutMs?: number;
  /** Acknowledge every this many frames (lets the gateway free its replay buffer). Default 64. */
  ackEvery?: number;
  /** When the connection drops (1006, or 4008 slow consumer), reconnect and resume the session
   *  within its resume window, replaying the frames missed (SPEC §12). Default true. */
  resume?: boolean;
}

export interface AskOptions {
  /** Turn id; default t1, t2, … */
  id?: string;
  /** Image id (from putImage) the question is about. */
  image?: string;
  model?: string;
  params?: GenParams;
}

/** watch.start's fields (SPEC watch.start, section 9b): `id` and `labels`, and optionally
 *  interval_ms, box_threshold, enter_frames, leave_frames, ask and cooldown_ms. */
export type WatchOptions = Omit<WatchStartMsg, 't'>;

/** open: frames flow; resuming: the connection dropped and the session is being resumed
 *  (send() returns false meanwhile); closed: for good (onClose has fired). */
export type ConnectionState = 'open' | 'resuming' | 'closed';

type FrameListener = (msg: ServerMessage) => void;
type CloseListener = (code: number, reason: string) => void;
type StateListener = (state: ConnectionState) => void;

/** The codec's frame is a view into its reused encode buffer (never a SharedArrayBuffer);
 *  WebSocket.send copies the bytes before it returns. */
function sendFrame(ws: WebSocket, frame: Uint8Array | string): void {
  ws.send(frame as Uint8Array<ArrayBuffer> | string);
}

/** A message event's payload as the codec takes it (binaryType is 'arraybuffer'). */
function payload(ev: MessageEvent): Uint8Array | string {
  const data: unknown = ev.data;
  return typeof data === 'string' ? data : new Uint8Array(data as ArrayBuffer);
}

/** Thrown by connect() when the gateway refuses or the handshake does not complete. */
export class VlpBrowserError extends Error {
  constructor(
    message: string,
    /** The gateway's error code when it sent one (e.g. SERVER_AT_CAPACITY), else the close code. */
    readonly code: string,
  ) {
    super(message);
    this.name = 'VlpBrowserError';
  }
}

/** Close codes after which a resume can work (SPEC §11): a lost connection, a slow consumer. */
const ABNORMAL_CLOSURE = 1006;
const RESUMABLE = new Set<number>([ABNORMAL_CLOSURE, CloseCode.SLOW_CONSUMER]);
/** First wait before a resume attempt, ms (doubles per attempt, at most RESUME_MAX_WAIT_MS). */
const RESUME_FIRST_WAIT_MS = 250;
const RESUME_MAX_WAIT_MS = 4000;
/** Resumes in a row after which no frame was delivered: the connection is not usable (a proxy
 *  that drops it at once, a replayed frame it cannot pass), so the client gives up. */
const MAX_RESUMES_WITHOUT_PROGRESS = 5;
/** Refusals of a resume that another attempt will not change. */
const FINAL_REFUSALS = new Set(['SESSION_RESUME_FAILED', 'SERVER_SHUTTING_DOWN', 'TOKEN', 'BAD_URL']);

async function tokenOf(token: BrowserConnectOptions['token']): Promise<string | undefined> {
  return typeof token === 'function' ? await token() : token;
}

/** Opens a socket, sends `hello`, resolves on ready. */
async function handshake(url: string, hello: ClientMessage, opts: BrowserConnectOptions, codec: ClientCodec, signal?: AbortSignal): Promise<{ ws: WebSocket; ready: ReadyMsg }> {
  const deadline = Date.now() + (opts.connectTimeoutMs ?? 10_000);
  let target: URL;
  try {
    target = new URL(url);
  } catch (err) {
    throw new VlpBrowserError(`cannot open ${url}: ${(err as Error).message}`, 'BAD_URL');
  }
  // The token function counts against the same deadline (a fetch that hangs on a dead network).
  let token: string | undefined;
  try {
    token = await Promise.race([
      tokenOf(opts.token),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no client token in time')), Math.max(0, deadline - Date.now()))),
    ]);
  } catch (err) {
    throw new VlpBrowserError(`the client token could not be had: ${(err as Error).message}`, 'TOKEN');
  }
  if (signal?.aborted) throw new VlpBrowserError('closed by the client', 'CLOSED');
  if (token !== undefined) target.searchParams.set('token', token);
  let ws: WebSocket;
  try {
    ws = new WebSocket(target.toString(), [SUBPROTOCOL_MSGPACK]);
  } catch (err) {
    throw new VlpBrowserError(`cannot open ${url}: ${(err as Error).message}`, 'BAD_URL');
  }
  ws.binaryType = 'arraybuffer';
  return new Promise((resolve, reject) => {
    let settled = false;
    const fail = (err: VlpBrowserError): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      ws.close();
      reject(err);
    };
    const onAbort = (): void => fail(new VlpBrowserError('closed by the client', 'CLOSED'));
    signal?.addEventListener('abort', onAbort, { once: true });
    const timer = setTimeout(() => fail(new VlpBrowserError('no ready from the gateway in time', 'TIMEOUT')), Math.max(0, deadline - Date.now()));
    ws.onopen = () => sendFrame(ws, codec.encode(hello));
    ws.onmessage = (ev: MessageEvent) => {
      const r = codec.decode(payload(ev));
      if (!r.ok || settled) return; // a newer server's frame: ignored
      const msg = r.msg;
      // Before ready the gateway sends only errors about the hello (SESSION_OPTION_INVALID, at
      // capacity, a failed resume…): the session did not start.
      if (msg.t === 'error') return fail(new VlpBrowserError(msg.message, msg.code));
      if (msg.t !== 'ready') return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      resolve({ ws, ready: msg });
    };
    ws.onclose = (ev) => fail(new VlpBrowserError(`the gateway closed the connection (${ev.code}${ev.reason ? ` ${ev.reason}` : ''})`, String(ev.code)));
    ws.onerror = () => undefined; // a close always follows, with its code
  });
}

export class VlpBrowserClient {
  private readonly frameListeners = new Set<FrameListener>();
  private readonly closeListeners = new Set<CloseListener>();
  private readonly stateListeners = new Set<StateListener>();
  private turnCount = 0;
  private sinceAck = 0;
  /** Server seq bookkeeping shared with the Node SDK: what ack and hello.resume carry, and the
   *  duplicates a replay may bring (dropped). */
  private readonly seq = new SeqTracker(0);
  private closedWith: { code: number; reason: string } | undefined;
  private closing = false;
  private stateNow: ConnectionState = 'open';
  /** Aborts a resume in progress (its wait and its handshake) when close() is called. */
  private resumeAbort: AbortController | undefined;
  /** lastSeq when the current connection was resumed, and how many resumes in a row made no
   *  progress; the wait before the next attempt carries over until frames flow again. */
  private resumedAtSeq = -1;
  private fruitlessResumes = 0;
  private nextWait = RESUME_FIRST_WAIT_MS;

  private constructor(
    private ws: WebSocket,
    private readonly codec: ClientCodec,
    /** The latest ready (a resume brings a new one; its resume_token is the one to use). */
    public ready: ReadyMsg,
    private readonly url: string,
    private readonly opts: BrowserConnectOptions,
  ) {
    this.seq.noteReady(ready.seq);
    this.attach();
  }

  /** Opens the socket, sends hello and resolves on ready (rejects on an error frame, a close or
   *  the timeout). `url` is the gateway's WebSocket URL, e.g. ws://host:8080/v1/ws. */
  static async connect(url: string, opts: BrowserConnectOptions = {}): Promise<VlpBrowserClient> {
    const codec = createClientCodec(SUBPROTOCOL_MSGPACK);
    const hello: ClientMessage = { t: 'hello', client: opts.client ?? 'vlp-browser', ...(opts.options !== undefined && { options: opts.options }) };
    const { ws, ready } = await handshake(url, hello, opts, codec);
    return new VlpBrowserClient(ws, codec, ready, url, opts);
  }

  get state(): ConnectionState {
    return this.stateNow;
  }

  private setState(s: ConnectionState): void {
    if (s === this.stateNow) return;
    this.stateNow = s;
    for (const l of this.stateListeners) l(s);
  }

  private attach(): void {
    const ws = this.ws;
    ws.onmessage = (ev: MessageEvent) => {
      const r = this.codec.decode(payload(ev));
      if (r.ok) this.deliver(r.msg);
    };
    ws.onclose = (ev) => {
      if (ws !== this.ws) return;
      const canResume = !this.closing && this.opts.resume !== false && RESUMABLE.has(ev.code) && this.ready.limits.resume_window_ms > 0;
      if (canResume) void this.resumeSession();
      else this.finish(ev.code, ev.reason);
    };
  }

  private finish(code: number, reason: string): void {
    if (this.closedWith) return;
    this.closedWith = { code, reason };
    this.setState('closed');
    for (const l of this.closeListeners) l(code, reason);
  }

  /** Reconnects with hello.resume until it works, is refused, or the resume window runs out. */
  private async resumeSession(): Promise<void> {
    if (this.resumedAtSeq === this.seq.lastSeq) {
      // The last resume delivered nothing before this drop.
      if (++this.fruitlessResumes >= MAX_RESUMES_WITHOUT_PROGRESS) return this.finish(ABNORMAL_CLOSURE, `resumed ${this.fruitlessResumes} times without progress`);
    } else {
      this.fruitlessResumes = 0;
      this.nextWait = RESUME_FIRST_WAIT_MS;
    }
    this.setState('resuming');
    const abort = new AbortController();
    this.resumeAbort = abort;
    const deadline = Date.now() + this.ready.limits.resume_window_ms;
    for (;;) {
      const wait = this.nextWait;
      this.nextWait = Math.min(wait * 2, RESUME_MAX_WAIT_MS);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, wait);
        abort.signal.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
      });
      if (abort.signal.aborted) return; // close() finished it
      const hello: ClientMessage = {
        t: 'hello',
        client: this.opts.client ?? 'vlp-browser',
        resume: { session_id: this.ready.session_id, token: this.ready.resume_token, last_seq: this.seq.lastSeq },
      };
      try {
        const { ws, ready } = await handshake(this.url, hello, this.opts, this.codec, abort.signal);
        this.resumeAbort = undefined;
        this.ws = ws;
        this.ready = ready;
        this.sinceAck = 0;
        this.seq.noteReady(ready.seq); // it precedes the replayed frames it follows in seq
        this.resumedAtSeq = this.seq.lastSeq;
        this.attach();
        this.setState('open');
        return;
      } catch (err) {
        if (abort.signal.aborted) return;
        const code = err instanceof VlpBrowserError ? err.code : '';
        // Refused for good (the session is gone or expired, the gateway is going away, no token):
        // the application starts a new session.
        if (FINAL_REFUSALS.has(code)) {
          this.resumeAbort = undefined;
          return this.finish(code === 'SESSION_RESUME_FAILED' ? CloseCode.RESUME_FAILED : ABNORMAL_CLOSURE, code);
        }
        if (Date.now() + this.nextWait > deadline) {
          this.resumeAbort = undefined;
          return this.finish(ABNORMAL_CLOSURE, 'could not resume within the resume window');
        }
      }
    }
  }

  private deliver(msg: ServerMessage): void {
    // A resume replays from last_seq + 1; anything delivered already is dropped.
    if (msg.seq > 0 && this.seq.observe(msg.seq) === 'duplicate') return;
    for (const l of this.frameListeners) {
      try {
        l(msg);
      } catch (err) {
        // One failing listener must not starve the others (or the acks).
        console.error('vlp: a frame listener threw', err);
      }
    }
    if (msg.seq > 0 && ++this.sinceAck >= (this.opts.ackEvery ?? 64)) {
      this.sinceAck = 0;
      this.send({ t: 'ack', seq: this.seq.lastSeq });
    }
  }

  /** Every server frame after ready. Returns the unsubscribe function. */
  onFrame(listener: FrameListener): () => void {
    this.frameListeners.add(listener);
    return () => this.frameListeners.delete(listener);
  }

  /** Fires once, when the connection is closed for good (after a failed resume, if any). */
  onClose(listener: CloseListener): () => void {
    if (this.closedWith) queueMicrotask(() => listener(this.closedWith?.code ?? 1006, this.closedWith?.reason ?? ''));
    this.closeListeners.add(listener);
    return () => this.closeListeners.delete(listener);
  }

  /** open → resuming → open while a dropped connection is resumed; closed at the end. */
  onState(listener: StateListener): () => void {
    this.stateListeners.add(listener);
    return () => this.stateListeners.delete(listener);
  }

  get open(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  /** Bytes the browser has not yet written to the network (for pacing uploads). */
  get bufferedAmount(): number {
    return this.ws.bufferedAmount;
  }

  /** False when the socket is not open (nothing was sent). */
  send(msg: ClientMessage): boolean {
    if (this.ws.readyState !== WebSocket.OPEN) return false;
    sendFrame(this.ws, this.codec.encode(msg));
    return true;
  }

  /** Starts a turn (typed question); its frames carry the returned id. Undefined when it could not
   *  be sent (the connection is resuming or closed: nothing is queued; ask again once open). */
  ask(text: string, opts: AskOptions = {}): string | undefined {
    const id = opts.id ?? `t${this.turnCount + 1}`;
    const sent = this.send({
      t: 'turn.start',
      id,
      text,
      ...(opts.image !== undefined && { image: opts.image }),
      ...(opts.model !== undefined && { model: opts.model }),
      ...(opts.params !== undefined && { params: opts.params }),
    });
    if (!sent) return undefined;
    if (opts.id === undefined) this.turnCount++;
    return id;
  }

  /** Cancels the running turn (or the one named). The senders below return false when the
   *  connection is not open (resuming or closed): nothing is queued. */
  cancel(turnId?: string): boolean {
    return this.send(turnId === undefined ? { t: 'turn.cancel' } : { t: 'turn.cancel', id: turnId });
  }

  /** The user heard (or saw) only the first `heardChars` characters (code points) of the latest
   *  answer's streamed text, e.g. its speech stopped at a barge-in: the dialogue history keeps only
   *  that part (SPEC playback.truncate). */
  truncatePlayback(turnId: string, heardChars: number): boolean {
    return this.send({ t: 'playback.truncate', turn: turnId, heard_chars: heardChars });
  }

  /** Uploads an image (JPEG, PNG or WebP bytes) under `id`; later turns refer to it. */
  putImage(id: string, bytes: Uint8Array): boolean {
    return this.send({ t: 'image.put', id, data: bytes });
  }

  /** Watches the session's images for objects (watch.start, SPEC section 9b): the watch examines
   *  the newest image — at the start the latest one, then each putImage() — at most once per
   *  `interval_ms`, so a camera puts one image per frame. Starting an id that runs replaces that
   *  watch; a watch survives a resume. Nothing comes back on success: each label coming into view
   *  or leaving it arrives as a `watch.event` frame; a refusal or a failed detection as an `error`
   *  with ref "watch.start". With `ask`, an enter event names the vision turn it started in `turn`
   *  (w1, w2, …, chosen by the server), whose frames follow it like any turn's. */
  watch(opts: WatchOptions): boolean {
    return this.send({ ...opts, t: 'watch.start' });
  }

  /** Stops a watch (watch.stop): nothing more is sent for it; a turn it started goes on. An id that
   *  runs no watch gets an `error` INPUT_WATCH_NOT_FOUND (ref "watch.stop"). */
  unwatch(id: string): boolean {
    return this.send({ t: 'watch.stop', id });
  }

  startAudio(format: AudioStartMsg['format'], opts: { language?: string; task?: 'transcribe' | 'translate' } = {}): boolean {
    return this.send({ t: 'audio.start', format, ...(opts.language !== undefined && { language: opts.language }), ...(opts.task !== undefined && { task: opts.task }) });
  }

  sendAudio(chunk: Uint8Array): boolean {
    return this.send({ t: 'audio.chunk', data: chunk });
  }

  endAudio(): boolean {
    return this.send({ t: 'audio.end' });
  }

  /** Closes the session's connection (1000), or ends a resume in progress at once. */
  close(): void {
    this.closing = true;
    if (this.stateNow === 'open') this.ws.close(1000);
    else if (this.stateNow === 'resuming') {
      this.resumeAbort?.abort();
      this.resumeAbort = undefined;
      this.finish(1000, '');
    }
  }
}
