// Test double of the gateway for the SDK and CLI tests: a ws server on 127.0.0.1:0 speaking vlp.v1
// through the real server codec, answering hello/turn.start/turn.cancel/ping from a fixed script.
import { WebSocketServer, type WebSocket } from 'ws';
import { createServerCodec, type ServerCodec } from '../../protocol/codec.ts';
import type { ClientMessage, ServerMessage, ServerPayload, Subprotocol, TurnStartMsg } from '../../protocol/messages.ts';

/** The answer to every ordinary turn.start, one token per gen.token frame. */
export const TOKENS = ['The', ' capital', ' of', ' France', ' is', ' Paris', '.'];

/**
 * Special turn.start texts: ERROR → turn-scoped error; FATAL → fatal error without a turn, then close;
 * SLOW → a token every 20 ms (up to 200); MANY:<n> → n tokens at once; GAP → a seq jump mid-turn;
 * DROP → 2 tokens sent, 3 more and gen.done only logged (lost), then the socket is dropped.
 * Special hello.client values: reject → fatal SERVER_AT_CAPACITY; close → close before ready.
 */
interface Session {
  id: string;
  token: string;
  seq: number;
  /** Every frame stamped for this session, for replay on resume. */
  log: ServerMessage[];
}

export interface FakeGateway {
  url: string;
  /** Client messages received, in order, across connections. */
  received: ClientMessage[];
  /** Subprotocol negotiated per connection, in order. */
  subprotocols: Subprotocol[];
  /** Whether each received frame was binary, in order. */
  binaryFrames: boolean[];
  close(): Promise<void>;
}

const ready = (s: Session, resumed: boolean): ServerPayload => ({
  t: 'ready',
  session_id: s.id,
  resume_token: s.token,
  resumed,
  protocol: 1,
  models: [{ id: 'llama-2-7b-chat', kind: 'llm' }],
  limits: {
    max_frame_bytes: 8 << 20,
    max_text_chars: 16_384,
    max_audio_chunk_bytes: 65_536,
    max_image_bytes: 6 << 20,
    resume_window_ms: 30_000,
    replay_frames: 4_096,
  },
});

export async function startFakeGateway(): Promise<FakeGateway> {
  const wss = new WebSocketServer({
    host: '127.0.0.1',
    port: 0,
    handleProtocols: (offered) => [...offered].find((p) => p === 'vlp.v1.msgpack' || p === 'vlp.v1.json') ?? false,
  });
  await new Promise<void>((r) => wss.once('listening', () => r()));
  const sessions = new Map<string, Session>();
  const gw: FakeGateway = {
    url: '',
    received: [],
    subprotocols: [],
    binaryFrames: [],
    close: () =>
      new Promise<void>((r) => {
        for (const c of wss.clients) c.terminate();
        wss.close(() => r());
      }),
  };
  const addr = wss.address();
  if (addr === null || typeof addr === 'string') throw new Error('expected a TCP address');
  gw.url = `ws://127.0.0.1:${addr.port}/v1/ws`;

  wss.on('connection', (ws) => {
    const sub = ws.protocol as Subprotocol;
    gw.subprotocols.push(sub);
    new Connection(ws, createServerCodec(sub), sessions, gw).listen();
  });
  return gw;
}

class Connection {
  private session: Session | undefined;
  private timer: NodeJS.Timeout | undefined;
  private turn: string | undefined;

  constructor(
    private readonly ws: WebSocket,
    private readonly codec: ServerCodec,
    private readonly sessions: Map<string, Session>,
    private readonly gw: FakeGateway,
  ) {}

  listen(): void {
    this.ws.on('message', (data: Buffer, isBinary) => {
      this.gw.binaryFrames.push(isBinary);
      const r = this.codec.decode(data, isBinary);
      if (!r.ok) {
        this.emit({ t: 'error', code: r.code, message: r.message, retryable: false, fatal: false, ...(r.ref !== undefined && { ref: r.ref }) });
        return;
      }
      this.gw.received.push(r.msg);
      this.handle(r.msg);
    });
    this.ws.on('close', () => clearInterval(this.timer));
  }

  /** Stamp, log and (unless `lost`) send one frame. */
  private emit(p: ServerPayload, lost = false): void {
    const s = this.session ?? { id: '-', token: '-', seq: 0, log: [] };
    s.seq += 1;
    const msg = { ...p, seq: s.seq } as ServerMessage;
    s.log.push(msg);
    if (!lost) this.ws.send(this.codec.encode(msg));
  }

  private handle(msg: ClientMessage): void {
    switch (msg.t) {
      case 'hello':
        return this.hello(msg.client, msg.resume);
      case 'turn.start':
        return this.start(msg);
      case 'turn.cancel':
        if (this.turn === undefined || (msg.id !== undefined && msg.id !== this.turn)) {
          this.emit({ t: 'error', code: 'TURN_NOT_FOUND', message: 'no such turn', retryable: false, fatal: false, ref: 'turn.cancel' });
          return;
        }
        clearInterval(this.timer);
        this.emit({ t: 'turn.cancelled', turn: this.turn, reason: 'client' });
        this.turn = undefined;
        return;
      case 'ping':
        return this.emit({ t: 'pong', ts: msg.ts });
      default:
        return;
    }
  }

  private hello(client: string | undefined, resume: { session_id: string; token: string; last_seq: number } | undefined): void {
    if (client === 'close') {
      this.ws.close(4000, 'go away');
      return;
    }
    if (client === 'reject') {
      this.emit({ t: 'error', code: 'SERVER_AT_CAPACITY', message: 'too many sessions', retryable: true, fatal: true, ref: 'hello' });
      this.ws.close(1008, 'at capacity');
      return;
    }
    if (resume !== undefined) {
      const s = this.sessions.get(resume.session_id);
      if (s === undefined || s.token !== resume.token) {
        this.emit({ t: 'error', code: 'SESSION_RESUME_FAILED', message: 'unknown session', retryable: false, fatal: true, ref: 'hello' });
        this.ws.close(4001, 'resume failed');
        return;
      }
      this.session = s;
      const replay = s.log.filter((m) => m.seq > resume.last_seq);
      this.emit(ready(s, true)); // stamped after the frames it precedes, as a real outbox may do
      for (const m of replay) this.ws.send(this.codec.encode(m));
      return;
    }
    const n = this.sessions.size + 1;
    this.session = { id: `s${n}`, token: `tok-${n}`, seq: 0, log: [] };
    this.sessions.set(this.session.id, this.session);
    this.emit(ready(this.session, false));
  }

  private start(msg: TurnStartMsg): void {
    const id = msg.id;
    if (msg.text === 'FATAL') {
      this.emit({ t: 'turn.started', turn: id, kind: 'chat', model: 'llama-2-7b-chat' });
      this.emit({ t: 'error', code: 'SERVER_SHUTTING_DOWN', message: 'shutting down', retryable: true, fatal: true });
      this.ws.close(1001, 'shutdown');
      return;
    }
    if (msg.text === 'ERROR') {
      this.emit({ t: 'error', code: 'UPSTREAM_OVERLOADED', message: 'model overloaded', retryable: true, fatal: false, turn: id, ref: 'turn.start' });
      return;
    }
    this.turn = id;
    this.emit({ t: 'turn.started', turn: id, kind: 'chat', model: msg.model ?? 'llama-2-7b-chat' });
    const many = /^MANY:(\d+)$/.exec(msg.text);
    const tokens = many ? Array.from({ length: Number(many[1]) }, (_, i) => `w${i} `) : TOKENS;
    const token = (i: number, lost = false): void =>
      this.emit({ t: 'gen.token', turn: id, i, n: 1, text: tokens[i % tokens.length] ?? '' }, lost);
    const done = (count: number, lost = false): void => {
      this.emit({ t: 'gen.done', turn: id, finish: 'eos_token', tokens: count, ttft_ms: 3, total_ms: 9, text: tokens.slice(0, count).join('') }, lost);
      this.emit({ t: 'turn.metrics', turn: id, marks: { first_token: 3, done: 9 }, counts: { tokens: count, boxes: 0, masks: 0, spec_committed: 0, spec_discarded: 0, retries: 0 } }, lost);
      this.turn = undefined;
    };
    if (msg.text === 'SLOW') {
      let i = 0;
      this.timer = setInterval(() => {
        token(i);
        i += 1;
        if (i >= 200) {
          clearInterval(this.timer);
          done(i);
        }
      }, 20);
      return;
    }
    if (msg.text === 'DROP') {
      for (let i = 0; i < 5; i++) token(i, i >= 2);
      done(5, true);
      setTimeout(() => this.ws.terminate(), 30); // let the sent frames reach the client first
      return;
    }
    for (let i = 0; i < tokens.length; i++) {
      if (msg.text === 'GAP' && i === 3 && this.session !== undefined) this.session.seq += 2;
      token(i);
    }
    done(tokens.length);
  }
}
