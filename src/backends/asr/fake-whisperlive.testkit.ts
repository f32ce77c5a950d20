// Test-only helper: a scripted WhisperLive server on loopback (the `ws` server) that records each
// connection's options frame, its binary audio (as float32 samples) and when it closed, and lets
// the test send any message. Not a simulator (that lives in sim/asr/).
import type { AddressInfo } from 'node:net';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { WebSocketServer } from 'ws';
import type { WebSocket } from 'ws';

export interface FakeWlSegment {
  start: number;
  end: number;
  text: string;
  completed: boolean;
}

export class FakeWlConnection {
  /** The first text frame, parsed. */
  readonly options: Promise<Record<string, unknown>>;
  /** Resolves with performance.now() and the close code when the socket closed. */
  readonly closed: Promise<{ at: number; code: number }>;
  readonly binary: Buffer[] = [];
  readonly texts: string[] = [];
  sawEndOfAudio = false;
  private resolveOptions!: (o: Record<string, unknown>) => void;

  constructor(readonly ws: WebSocket) {
    this.options = new Promise((resolve) => {
      this.resolveOptions = resolve;
    });
    this.closed = new Promise((resolve) => ws.once('close', (code: number) => resolve({ at: performance.now(), code })));
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (!isBinary) {
        this.texts.push(data.toString());
        if (this.texts.length === 1) this.resolveOptions(JSON.parse(data.toString()) as Record<string, unknown>);
        return;
      }
      if (data.length === 12 && data.toString('latin1') === 'END_OF_AUDIO') {
        this.sawEndOfAudio = true;
        return;
      }
      this.binary.push(Buffer.from(data));
    });
  }

  /** All audio received, as float32 samples. */
  samples(): Float32Array {
    const all = Buffer.concat(this.binary);
    const out = new Float32Array(all.length / 4);
    for (let i = 0; i < out.length; i++) out[i] = all.readFloatLE(i * 4);
    return out;
  }

  get sampleCount(): number {
    let n = 0;
    for (const b of this.binary) n += b.length;
    return n / 4;
  }

  send(msg: unknown): void {
    this.ws.send(typeof msg === 'string' ? msg : JSON.stringify(msg));
  }

  ready(): void {
    this.send({ uid: 'u', message: 'SERVER_READY', backend: 'faster_whisper' });
  }

  segments(segs: FakeWlSegment[]): void {
    this.send({
      uid: 'u',
      segments: segs.map((s) => ({ start: s.start.toFixed(3), end: s.end.toFixed(3), text: s.text, completed: s.completed })),
    });
  }

  /** The server's TCP socket (to pause reading for back-pressure tests). */
  get socket(): Socket {
    return (this.ws as unknown as { _socket: Socket })._socket;
  }
}

export interface FakeWhisperLive {
  url: string;
  conns: FakeWlConnection[];
  /** Resolves with the next connection (or the existing one at that index). */
  connection(i: number): Promise<FakeWlConnection>;
  close(): Promise<void>;
}

/** `onConnection` runs for each new client (e.g. to send SERVER_READY after the options). */
export async function startFakeWhisperLive(onConnection?: (c: FakeWlConnection) => void): Promise<FakeWhisperLive> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  const conns: FakeWlConnection[] = [];
  const waiters: (() => void)[] = [];
  wss.on('connection', (ws) => {
    const c = new FakeWlConnection(ws);
    conns.push(c);
    onConnection?.(c);
    for (const w of waiters.splice(0)) w();
  });
  const { port } = wss.address() as AddressInfo;
  return {
    url: `ws://127.0.0.1:${port}`,
    conns,
    async connection(i) {
      while (conns[i] === undefined) await new Promise<void>((resolve) => waiters.push(resolve));
      return conns[i] as FakeWlConnection;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of wss.clients) c.terminate();
        wss.close(() => resolve());
      }),
  };
}

/** Sends SERVER_READY as soon as the options frame arrives. */
export function readyOnOptions(c: FakeWlConnection): void {
  void c.options.then(() => c.ready());
}
