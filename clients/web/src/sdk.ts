// Browser SDK for the vlp.v1 gateway: one WebSocket (binary msgpack, the protocol/ codec bundled
// for the browser), hello → ready, every later server frame to the listeners, typed senders for
// turns, images and audio, acks. Browsers cannot set headers on a WebSocket upgrade, so a client
// token (POST /v1/client_tokens, minted by your server with an API key) travels as `?token=`.
// No Node APIs: bundled by clients/web/bundle.ts.
import { createClientCodec, type ClientCodec } from '../../../protocol/codec.ts';
import {
  SUBPROTOCOL_MSGPACK,
  type AudioStartMsg,
  type ClientMessage,
  type GenParams,
  type ReadyMsg,
  type ServerMessage,
  type SessionOptions,
} from '../../../protocol/messages.ts';

export interface BrowserConnectOptions {
  /** A client token for a gateway with client authentication (sent as ?token=). */
  token?: string;
  /** Client name for the gateway's logs. */
  client?: string;
  options?: SessionOptions;
  /** Handshake plus ready, ms. Default 10 000. */
  connectTimeoutMs?: number;
  /** Acknowledge every this many frames (lets the gateway free its replay buffer). Default 64. */
  ackEvery?: number;
}

export interface AskOptions {
  /** Turn id; default t1, t2, … */
  id?: string;
  /** Image id (from putImage) the question is about. */
  image?: string;
  model?: string;
  params?: GenParams;
}

type FrameListener = (msg: ServerMessage) => void;

/** The codec's frame is a view into its reused encode buffer (never a SharedArrayBuffer);
 *  WebSocket.send copies the bytes before it returns. */
function sendFrame(ws: WebSocket, frame: Uint8Array | string): void {
  ws.send(frame as Uint8Array<ArrayBuffer> | string);
}
type CloseListener = (code: number, reason: string) => void;

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

export class VlpBrowserClient {
  private readonly frameListeners = new Set<FrameListener>();
  private readonly closeListeners = new Set<CloseListener>();
  private turnCount = 0;
  private sinceAck = 0;
  private lastSeq = 0;
  private closedWith: { code: number; reason: string } | undefined;

  private constructor(
    private readonly ws: WebSocket,
    private readonly codec: ClientCodec,
    readonly ready: ReadyMsg,
    private readonly ackEvery: number,
  ) {}

  /** Opens the socket, sends hello and resolves on ready (rejects on an error frame, a close or
   *  the timeout). `url` is the gateway's WebSocket URL, e.g. ws://host:8080/v1/ws. */
  static connect(url: string, opts: BrowserConnectOptions = {}): Promise<VlpBrowserClient> {
    let ws: WebSocket;
    try {
      const target = new URL(url);
      if (opts.token !== undefined) target.searchParams.set('token', opts.token);
      ws = new WebSocket(target.toString(), [SUBPROTOCOL_MSGPACK]);
    } catch (err) {
      return Promise.reject(new VlpBrowserError(`cannot open ${url}: ${(err as Error).message}`, 'BAD_URL'));
    }
    ws.binaryType = 'arraybuffer';
    const codec = createClientCodec(SUBPROTOCOL_MSGPACK);
    return new Promise<VlpBrowserClient>((resolve, reject) => {
      let settled = false;
      const fail = (err: VlpBrowserError): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        ws.close();
        reject(err);
      };
      const timer = setTimeout(() => fail(new VlpBrowserError('no ready from the gateway in time', 'TIMEOUT')), opts.connectTimeoutMs ?? 10_000);
      ws.onopen = () => {
        const hello: ClientMessage = { t: 'hello', client: opts.client ?? 'vlp-browser', ...(opts.options !== undefined && { options: opts.options }) };
        sendFrame(ws, codec.encode(hello));
      };
      ws.onmessage = (ev: MessageEvent<ArrayBuffer | string>) => {
        const r = codec.decode(typeof ev.data === 'string' ? ev.data : new Uint8Array(ev.data));
        if (!r.ok) return; // a newer server's frame: ignored
        const msg = r.msg;
        if (settled) return;
        // Before ready the gateway sends only errors about the hello (SESSION_OPTION_INVALID, at
        // capacity, …): the session did not start.
        if (msg.t === 'error') return fail(new VlpBrowserError(msg.message, msg.code));
        if (msg.t !== 'ready') return;
        settled = true;
        clearTimeout(timer);
        const client = new VlpBrowserClient(ws, codec, msg, opts.ackEvery ?? 64);
        client.attach();
        resolve(client);
      };
      ws.onclose = (ev) => fail(new VlpBrowserError(`the gateway closed the connection (${ev.code}${ev.reason ? ` ${ev.reason}` : ''})`, String(ev.code)));
      ws.onerror = () => undefined; // a close always follows, with its code
    });
  }

  private attach(): void {
    this.ws.onmessage = (ev: MessageEvent<ArrayBuffer | string>) => {
      const r = this.codec.decode(typeof ev.data === 'string' ? ev.data : new Uint8Array(ev.data));
      if (r.ok) this.deliver(r.msg);
    };
    this.ws.onclose = (ev) => {
      this.closedWith = { code: ev.code, reason: ev.reason };
      for (const l of this.closeListeners) l(ev.code, ev.reason);
    };
    this.lastSeq = this.ready.seq;
  }

  private deliver(msg: ServerMessage): void {
    if (msg.seq > this.lastSeq) this.lastSeq = msg.seq;
    for (const l of this.frameListeners) {
      try {
        l(msg);
      } catch (err) {
        // One failing listener must not starve the others (or the acks).
        console.error('vlp: a frame listener threw', err);
      }
    }
    if (msg.seq > 0 && ++this.sinceAck >= this.ackEvery) {
      this.sinceAck = 0;
      this.send({ t: 'ack', seq: this.lastSeq });
    }
  }

  /** Every server frame after ready. Returns the unsubscribe function. */
  onFrame(listener: FrameListener): () => void {
    this.frameListeners.add(listener);
    return () => this.frameListeners.delete(listener);
  }

  onClose(listener: CloseListener): () => void {
    if (this.closedWith) queueMicrotask(() => listener(this.closedWith?.code ?? 1006, this.closedWith?.reason ?? ''));
    this.closeListeners.add(listener);
    return () => this.closeListeners.delete(listener);
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

  /** Starts a turn (typed question); its frames carry the returned id. */
  ask(text: string, opts: AskOptions = {}): string {
    const id = opts.id ?? `t${++this.turnCount}`;
    this.send({
      t: 'turn.start',
      id,
      text,
      ...(opts.image !== undefined && { image: opts.image }),
      ...(opts.model !== undefined && { model: opts.model }),
      ...(opts.params !== undefined && { params: opts.params }),
    });
    return id;
  }

  /** Cancels the running turn (or the one named). */
  cancel(turnId?: string): void {
    this.send(turnId === undefined ? { t: 'turn.cancel' } : { t: 'turn.cancel', id: turnId });
  }

  /** Uploads an image (JPEG, PNG or WebP bytes) under `id`; later turns refer to it. */
  putImage(id: string, bytes: Uint8Array): void {
    this.send({ t: 'image.put', id, data: bytes });
  }

  startAudio(format: AudioStartMsg['format'], opts: { language?: string; task?: 'transcribe' | 'translate' } = {}): void {
    this.send({ t: 'audio.start', format, ...(opts.language !== undefined && { language: opts.language }), ...(opts.task !== undefined && { task: opts.task }) });
  }

  sendAudio(chunk: Uint8Array): boolean {
    return this.send({ t: 'audio.chunk', data: chunk });
  }

  endAudio(): void {
    this.send({ t: 'audio.end' });
  }

  close(): void {
    this.ws.close(1000);
  }
}
