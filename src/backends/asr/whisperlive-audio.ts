// The audio uplink of one WhisperLive stream: PCM16 samples sent as binary float32 LE frames
// (backend-protocols §5), a bounded pre-ready buffer (audio that arrives before SERVER_READY; the
// oldest is dropped, which moves the server's clock: see `dropped`), and back-pressure on the
// socket's send buffer (write() returns false above the high-water mark; the drain callback
// fires once it is down to a quarter of that).
import { endianness } from 'node:os';
import type WebSocket from 'ws';
import { ASR_SAMPLE_RATE } from './config.ts';

const LITTLE_ENDIAN = endianness() === 'LE';
const SCALE = 1 / 32768;
/** While write() is refused, the socket buffer is checked this often, ms. */
const DRAIN_POLL_MS = 5;
/** Pre-ready audio is sent in frames of this many samples (1 s). */
const FLUSH_FRAME = ASR_SAMPLE_RATE;
/** Largest audio frame, samples (4 s = 256 KB of float32). */
const MAX_FRAME = 4 * ASR_SAMPLE_RATE;

/** What the uplink uses of the socket. */
export type FrameSocket = Pick<WebSocket, 'send' | 'bufferedAmount'>;

export class AudioUplink {
  /** Samples dropped from the pre-ready buffer (server second 0 is our sample `dropped`). */
  private droppedSamples = 0;
  private pending: Int16Array[] = [];
  private pendingSamples = 0;
  private scratch = new Float32Array(320);
  private view: Float32Array = this.scratch;
  private blocked = false;
  private stopped = false;
  private drainTimer: NodeJS.Timeout | undefined;
  private drainCb: (() => void) | undefined;
  private readonly lowWater: number;

  /** `maxPending`: pre-ready buffer bound, samples; `highWaterMarkBytes`: send buffer bound. */
  constructor(
    private readonly ws: FrameSocket,
    private readonly maxPending: number,
    private readonly highWaterMarkBytes: number,
  ) {
    this.lowWater = highWaterMarkBytes / 4;
  }

  /** Samples dropped from the pre-ready buffer so far. */
  get dropped(): number {
    return this.droppedSamples;
  }

  /** Once ready: sends `samples`; false when the socket buffer is over the high-water mark (the
   *  drain callback follows once it drained). */
  write(samples: Int16Array): boolean {
    this.send(samples);
    if (this.ws.bufferedAmount > this.highWaterMarkBytes) {
      this.block();
      return false;
    }
    return true;
  }

  onDrain(cb: () => void): void {
    this.drainCb = cb;
  }

  /** Before SERVER_READY: keep a copy, at most maxPending samples (oldest dropped). */
  hold(samples: Int16Array): void {
    if (samples.length === 0) return;
    this.pending.push(samples.slice());
    this.pendingSamples += samples.length;
    while (this.pendingSamples > this.maxPending) {
      const first = this.pending[0] as Int16Array;
      const excess = this.pendingSamples - this.maxPending;
      if (first.length <= excess) {
        this.pending.shift();
        this.pendingSamples -= first.length;
        this.droppedSamples += first.length;
      } else {
        this.pending[0] = first.subarray(excess);
        this.pendingSamples -= excess;
        this.droppedSamples += excess;
      }
    }
  }

  /** SERVER_READY: sends the held audio. */
  ready(): void {
    if (this.pendingSamples > 0) this.flushPending();
    else this.pending = [];
  }

  /** The stream ended: no more drain callbacks, held audio dropped. */
  stop(): void {
    this.stopped = true;
    this.stopDrainPoll();
    this.pending = [];
  }

  /** Converts to float32 LE in a reused buffer and sends one binary frame. ws copies the payload
   *  while masking it (client frames are masked; a typed-array payload is treated as read-only),
   *  so the buffer is free again when send() returns. */
  private send(samples: Int16Array): void {
    const n = samples.length;
    if (n === 0) return;
    if (n > MAX_FRAME) {
      // Frames stay well under the server's message limit (python-websockets: 1 MiB).
      for (let off = 0; off < n; off += MAX_FRAME) this.send(samples.subarray(off, Math.min(n, off + MAX_FRAME)));
      return;
    }
    let f = this.scratch;
    if (f.length < n) {
      f = this.scratch = new Float32Array(Math.max(n, f.length * 2));
      this.view = f;
    }
    if (LITTLE_ENDIAN) {
      for (let i = 0; i < n; i++) f[i] = (samples[i] as number) * SCALE;
      if (this.view.length !== n) this.view = f.subarray(0, n);
      this.ws.send(this.view);
    } else {
      const bytes = Buffer.allocUnsafe(n * 4);
      for (let i = 0; i < n; i++) bytes.writeFloatLE((samples[i] as number) * SCALE, i * 4);
      this.ws.send(bytes);
    }
  }

  private flushPending(): void {
    const chunks = this.pending;
    this.pending = [];
    let frame = new Int16Array(Math.min(FLUSH_FRAME, this.pendingSamples));
    let fill = 0;
    for (const c of chunks) {
      let off = 0;
      while (off < c.length) {
        const take = Math.min(c.length - off, frame.length - fill);
        frame.set(c.subarray(off, off + take), fill);
        fill += take;
        off += take;
        if (fill === frame.length) {
          this.send(frame);
          fill = 0;
          frame = new Int16Array(frame.length);
        }
      }
    }
    if (fill > 0) this.send(frame.subarray(0, fill));
    this.pendingSamples = 0;
    if (this.ws.bufferedAmount > this.highWaterMarkBytes) this.block();
  }

  private block(): void {
    if (this.blocked) return;
    this.blocked = true;
    this.drainTimer = setInterval(this.pollDrain, DRAIN_POLL_MS);
    this.drainTimer.unref();
  }

  private readonly pollDrain = (): void => {
    if (this.stopped) return this.stopDrainPoll();
    if (this.ws.bufferedAmount > this.lowWater) return;
    this.stopDrainPoll();
    this.drainCb?.();
  };

  private stopDrainPoll(): void {
    this.blocked = false;
    if (this.drainTimer !== undefined) clearInterval(this.drainTimer);
    this.drainTimer = undefined;
  }
}
