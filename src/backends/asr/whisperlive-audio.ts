// The audio uplink of one WhisperLive stream: PCM16 samples sent as binary float32 LE frames
// (backend-protocols §5), a bounded pre-ready buffer (audio that arrives before SERVER_READY; the
// oldest is dropped, which moves the server's clock: see `dropped`), and back-pressure on the
// socket's send buffer (write() returns false above the high-water mark; the drain callback
// fires once it is down to a quarter of that).
import type WebSocket from 'ws';
import { ASR_SAMPLE_RATE } from './config.ts';
import { Float32FrameWriter } from './float32-frame.ts';
import type { ByteWriter } from './direct-write.ts';

const SCALE = 1 / 32768;
/** WebSocket.OPEN (a type-only import of ws here). */
const OPEN = 1;
/** While write() is refused, the socket buffer is checked this often, ms. */
const DRAIN_POLL_MS = 5;
/** Pre-ready audio is sent in frames of this many samples (1 s). */
const FLUSH_FRAME = ASR_SAMPLE_RATE;
/** Largest audio frame, samples (4 s = 256 KB of float32). */
const MAX_FRAME = 4 * ASR_SAMPLE_RATE;

/** Where the uplink's frames go: one binary WebSocket frame of float32 LE samples per call. */
export interface SampleSink {
  /** True when the frame went to the kernel whole and nothing is queued (bufferedAmount is then 0:
   *  no need to ask); false when that is not known. */
  send(samples: Int16Array): boolean;
  /** Bytes accepted but not yet written to the kernel. */
  readonly bufferedAmount: number;
}

/** The fast sink: frames built in place and written straight to the WebSocket's TCP socket
 *  (float32-frame.ts, direct-write.ts). Only while `ws` is open: once a close handshake started no
 *  data frame may follow (ws.send drops them then too). `ws.bufferedAmount` counts the socket's
 *  queue. */
export function rawSocketSink(ws: Pick<WebSocket, 'bufferedAmount' | 'readyState'>, out: ByteWriter): SampleSink {
  const writer = new Float32FrameWriter(out);
  return {
    send(samples) {
      return ws.readyState === OPEN ? writer.write(samples) : false;
    },
    get bufferedAmount() {
      return ws.bufferedAmount;
    },
  };
}

/** The fallback sink, through ws.send(): a typed array is read-only to ws, which copies it while
 *  masking with a random key, so one conversion buffer is reused. */
export function wsSendSink(ws: Pick<WebSocket, 'send' | 'bufferedAmount'>): SampleSink {
  let scratch = new Float32Array(320);
  return {
    send(samples) {
      const n = samples.length;
      if (scratch.length < n) scratch = new Float32Array(Math.max(n, scratch.length * 2));
      for (let i = 0; i < n; i++) scratch[i] = (samples[i] as number) * SCALE;
      // float32 LE on the wire; Float32Array is host order, so convert on a big-endian host.
      ws.send(LITTLE_ENDIAN ? scratch.subarray(0, n) : toLittleEndian(scratch.subarray(0, n)));
      return false;
    },
    get bufferedAmount() {
      return ws.bufferedAmount;
    },
  };
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function toLittleEndian(f: Float32Array): Buffer {
  const bytes = Buffer.allocUnsafe(f.length * 4);
  for (let i = 0; i < f.length; i++) bytes.writeFloatLE(f[i] as number, i * 4);
  return bytes;
}

export class AudioUplink {
  /** Samples dropped from the pre-ready buffer (server second 0 is our sample `dropped`). */
  private droppedSamples = 0;
  private pending: Int16Array[] = [];
  private pendingSamples = 0;
  private blocked = false;
  private stopped = false;
  private drainTimer: NodeJS.Timeout | undefined;
  private drainCb: (() => void) | undefined;
  private readonly lowWater: number;

  /** `sink`: where frames go (attach() may swap it before the first frame); `maxPending`:
   *  pre-ready buffer bound, samples; `highWaterMarkBytes`: send buffer bound. */
  constructor(
    private sink: SampleSink,
    private readonly maxPending: number,
    private readonly highWaterMarkBytes: number,
  ) {
    this.lowWater = highWaterMarkBytes / 4;
  }

  /** Frames go to `sink` from now on (WhisperLiveStream: the raw socket once the upgrade is done). */
  attach(sink: SampleSink): void {
    this.sink = sink;
  }

  /** Samples dropped from the pre-ready buffer so far. */
  get dropped(): number {
    return this.droppedSamples;
  }

  /** Once ready: sends `samples`; false when the socket buffer is over the high-water mark (the
   *  drain callback follows once it drained). */
  write(samples: Int16Array): boolean {
    if (this.send(samples)) return true; // nothing queued
    if (this.sink.bufferedAmount > this.highWaterMarkBytes) {
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

  /** One binary frame per call, at most MAX_FRAME samples each; true when nothing stayed queued. */
  private send(samples: Int16Array): boolean {
    const n = samples.length;
    if (n === 0) return false;
    if (n > MAX_FRAME) {
      // Frames stay well under the server's message limit (python-websockets: 1 MiB).
      let whole = true;
      for (let off = 0; off < n; off += MAX_FRAME) whole = this.sink.send(samples.subarray(off, Math.min(n, off + MAX_FRAME))) && whole;
      return whole;
    }
    return this.sink.send(samples);
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
    if (this.sink.bufferedAmount > this.highWaterMarkBytes) this.block();
  }

  private block(): void {
    if (this.blocked) return;
    this.blocked = true;
    this.drainTimer = setInterval(this.pollDrain, DRAIN_POLL_MS);
    this.drainTimer.unref();
  }

  private readonly pollDrain = (): void => {
    if (this.stopped) return this.stopDrainPoll();
    if (this.sink.bufferedAmount > this.lowWater) return;
    this.stopDrainPoll();
    this.drainCb?.();
  };

  private stopDrainPoll(): void {
    this.blocked = false;
    if (this.drainTimer !== undefined) clearInterval(this.drainTimer);
    this.drainTimer = undefined;
  }
}
