// Per-session outbound queue: stamps seq, keeps the replay ring, applies the overflow policy.
// Control frames are never dropped (overflow closes the session as a slow consumer); gen.token
// frames of one turn coalesce while the socket is backpressured (up to MAX_MERGED_TOKEN_CHARS of
// text per frame); intent.update and asr.partial are latest-wins. A frame is written at once when
// nothing is queued and the socket takes more (lowest latency); otherwise it waits in the queue
// for the socket's drain. The queue is bounded by frames and by an estimate of the bytes it holds
// (frame-bytes.ts); past either bound the session is a slow consumer. Frames about the connection
// itself (goaway, the fatal error before a close) go around the queue and are not kept for replay
// (sendDirect).
import type { GenTokenMsg, ServerMessage, ServerPayload } from '../../protocol/messages.ts';
import type { SendResult } from '../transport/types.ts';
import { ReplayRing } from './replay.ts';
import { frameBytes, textBytes } from './frame-bytes.ts';

/** Where frames go: the session's current connection (encodes and writes one frame). */
export interface OutboxSink {
  send(msg: ServerMessage): SendResult;
  /** msgpack bytes of the frame just sent (valid until the next send), when the connection
   *  speaks msgpack: the replay buffer copies them instead of encoding again. */
  readonly lastMsgpack?: Uint8Array | undefined;
}

export interface OutboxOptions {
  /** Max frames waiting to be written; beyond it onOverflow fires once. */
  maxFrames: number;
  /** Max estimated bytes of the frames waiting (frameBytes); beyond it onOverflow fires once.
   *  Default 512 KiB (the default of limits.outboxMaxBytes). */
  maxBytes?: number;
  replayFrames: number;
  /** Byte bound of the replay buffer. */
  replayBytes?: number;
  onOverflow: () => void;
}

/** Longest text a queued gen.token frame grows to by merging, UTF-16 code units (≤ 192 KiB of
 *  UTF-8). Past it the next token starts a new frame, so a client that does not read a long
 *  answer fills the queue up to maxBytes or maxFrames (slow consumer) instead of one frame growing
 *  without end. */
export const MAX_MERGED_TOKEN_CHARS = 64 * 1024;

/** Seqs of frames written by sendDirect that are remembered (each connection gets at most one
 *  fatal error and a goaway or two: shutdown's, the duration limit's): older ones are far behind
 *  any resumable cursor. */
const MAX_UNREPLAYED = 8;

export class Outbox {
  private seq = 0;
  /** Seqs of the latest frames written by sendDirect: not in the replay ring. */
  private readonly unreplayed: number[] = [];
  private queue: ServerPayload[] = [];
  private head = 0;
  /** Sum of frameBytes over the queue from `head` (kept in step with every change to it). */
  private queuedBytes = 0;
  private readonly maxBytes: number;
  private sink: OutboxSink | undefined;
  private blocked = false;
  private scheduled = false;
  /** True after an overflow until the next attach. */
  overflowed = false;
  readonly replay: ReplayRing;
  /** Frames written to a socket, and sends that hit the high-water mark (for metrics). */
  sentFrames = 0;
  backpressureEvents = 0;

  constructor(private readonly opts: OutboxOptions) {
    this.replay = new ReplayRing(opts.replayFrames, opts.replayBytes);
    this.maxBytes = opts.maxBytes ?? 512 << 10;
  }

  get lastSeq(): number {
    return this.seq;
  }

  get pending(): number {
    return this.queue.length - this.head;
  }

  /** Estimated bytes of the frames waiting (frame-bytes.ts); 0 when none wait. */
  get pendingBytes(): number {
    return this.queuedBytes;
  }

  /** Attach a connection; frames queued while detached were already moved to the replay ring. */
  attach(sink: OutboxSink): void {
    this.sink = sink;
    this.overflowed = false;
    this.blocked = false;
    this.schedule();
  }

  /** Connection lost: sequence everything still queued into the replay ring (nothing is lost). */
  detach(): void {
    this.sink = undefined;
    this.blocked = false;
    this.drainToReplay();
  }

  push(p: ServerPayload): void {
    const sink = this.sink;
    if (!sink) {
      this.keep(this.stamp(p));
      return;
    }
    if (!this.blocked && this.head === this.queue.length) {
      // Fast path: nothing queued and the socket takes more: write now (lowest latency).
      const msg = this.stamp(p);
      const r = sink.send(msg);
      this.replay.add(msg, sink.lastMsgpack);
      this.sentFrames++;
      if (r === 'backpressure') {
        this.blocked = true;
        this.backpressureEvents++;
      }
      return;
    }
    const tail = this.queue.length > this.head ? this.queue[this.queue.length - 1] : undefined;
    if (
      p.t === 'gen.token' &&
      tail !== undefined &&
      tail.t === 'gen.token' &&
      tail.turn === p.turn &&
      tail.text.length + p.text.length <= MAX_MERGED_TOKEN_CHARS
    ) {
      this.queuedBytes += textBytes(p.text);
      tail.text += p.text;
      tail.n += p.n;
      if (this.queuedBytes > this.maxBytes) this.overflow();
      return;
    }
    if (p.t === 'intent.update' || p.t === 'asr.partial') {
      const k = this.replaceable(p);
      if (k >= 0) {
        const q = this.queue[k] as ServerPayload;
        this.queue[k] = p;
        this.queuedBytes += frameBytes(p) - frameBytes(q);
        if (this.queuedBytes > this.maxBytes) this.overflow();
        return;
      }
    }
    this.queue.push(p);
    this.queuedBytes += frameBytes(p);
    if (this.pending > this.opts.maxFrames || this.queuedBytes > this.maxBytes) {
      this.overflow();
      return;
    }
    this.schedule();
  }

  /** Index of the queued frame a latest-wins frame replaces, or -1 to append it: the newest queued
   *  frame of its type (intent.update: of its turn), unless a frame that closes what it describes
   *  lies after it — an asr.final after a queued asr.partial or turn-less intent.update (the new
   *  frame is about the next utterance and must not overtake that final), a turn.started or
   *  gen.done of the intent's turn. */
  private replaceable(p: ServerPayload): number {
    for (let k = this.queue.length - 1; k >= this.head; k--) {
      const q = this.queue[k] as ServerPayload;
      if (p.t === 'asr.partial') {
        if (q.t === 'asr.partial') return k;
        if (q.t === 'asr.final') return -1;
      } else if (p.t === 'intent.update') {
        if (q.t === 'intent.update' && q.turn === p.turn) return k;
        if ((q.t === 'turn.started' || q.t === 'gen.done') && q.turn === p.turn) return -1;
        // Updates made while the user speaks carry no turn: an asr.final closes that utterance, so
        // the next utterance's update must not replace (and overtake) the one before it.
        if (p.turn === undefined && q.t === 'asr.final') return -1;
      }
    }
    return -1;
  }

  /** Slow consumer: stop writing to this connection, keep every frame for a resume. The
   *  connection's fatal error (sent by onOverflow through sendDirect) takes its seq before the
   *  waiting frames get theirs in the replay ring: a client that got the error and resumes from
   *  its seq still gets every waiting frame. */
  private overflow(): void {
    this.overflowed = true;
    this.opts.onOverflow();
    this.sink = undefined;
    this.drainToReplay();
  }

  /** Send a frame now, ahead of nothing queued (flushes the queue first to keep order). */
  pushNow(p: ServerPayload): void {
    this.push(p);
    this.flush();
  }

  /** Write a frame about the connection rather than the session (goaway, a fatal error before the
   *  close) to `sink` at once: ahead of the waiting frames and even while backpressured (the
   *  transport buffers it; best effort, the connection is going away). It takes the next seq, so
   *  the frames after it stay in order, but is not kept for replay: a resume skips its seq (see
   *  replaySince). False when there is no connection to write to. */
  sendDirect(p: ServerPayload, sink: OutboxSink | undefined = this.sink): boolean {
    if (!sink) return false;
    const msg = this.stamp(p);
    this.unreplayed.push(msg.seq);
    if (this.unreplayed.length > MAX_UNREPLAYED) this.unreplayed.shift();
    const r = sink.send(msg);
    this.sentFrames++;
    if (r === 'backpressure' && sink === this.sink && !this.blocked) {
      this.blocked = true;
      this.backpressureEvents++;
    }
    return true;
  }

  /** The frames after `lastSeq` for a resume, or undefined when some are no longer held. Seqs of
   *  frames not kept for replay (sendDirect) right after `lastSeq` are skipped: a client that
   *  missed its goaway or fatal error resumes as one that got it. */
  replaySince(lastSeq: number): ServerMessage[] | undefined {
    let from = lastSeq;
    while (this.unreplayed.includes(from + 1)) from++;
    return this.replay.since(from, this.seq);
  }

  /** Re-send already sequenced frames (resume) through the current sink, bypassing the queue. */
  resend(frames: readonly ServerMessage[]): void {
    const sink = this.sink;
    if (!sink) return;
    for (const f of frames) {
      const r = sink.send(f);
      this.sentFrames++;
      if (r === 'backpressure') this.backpressureEvents++;
    }
  }

  onDrain(): void {
    this.blocked = false;
    this.flush();
  }

  private schedule(): void {
    if (this.scheduled || this.blocked || !this.sink || this.pending === 0) return;
    this.scheduled = true;
    setImmediate(this.flushTick);
  }

  private readonly flushTick = (): void => {
    this.scheduled = false;
    this.flush();
  };

  flush(): void {
    const sink = this.sink;
    if (!sink) return;
    while (!this.blocked && this.head < this.queue.length) {
      const p = this.queue[this.head] as ServerPayload;
      this.queue[this.head] = undefined as unknown as ServerPayload;
      this.head++;
      this.queuedBytes -= frameBytes(p);
      const msg = this.stamp(p);
      const r = sink.send(msg);
      this.replay.add(msg, sink.lastMsgpack);
      this.sentFrames++;
      if (r === 'backpressure') {
        this.blocked = true;
        this.backpressureEvents++;
      } else if (r === 'dropped') {
        // The connection is going away; its close handler detaches us. Keep the rest for replay.
        break;
      }
    }
    if (this.head >= this.queue.length) {
      this.queue.length = 0;
      this.head = 0;
      this.queuedBytes = 0;
    } else if (this.head > 1024) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
  }

  private drainToReplay(): void {
    for (let k = this.head; k < this.queue.length; k++) {
      const p = this.queue[k];
      if (p !== undefined) this.keep(this.stamp(p));
    }
    this.queue = [];
    this.head = 0;
    this.queuedBytes = 0;
  }

  /** The frame with its seq, keys in SPEC §2's canonical order (t, seq, then the fields). */
  private stamp(p: ServerPayload): ServerMessage {
    // The per-token frame as one literal (a fixed shape, no generic copy); Required<> makes a
    // field added to GenTokenMsg a compile error here rather than a field silently dropped.
    if (p.t === 'gen.token') return { t: p.t, seq: ++this.seq, turn: p.turn, i: p.i, n: p.n, text: p.text } satisfies Required<GenTokenMsg>;
    // p's own `t` lands on the first key (same value), its fields after seq.
    return Object.assign({ t: p.t, seq: ++this.seq }, p) as ServerMessage;
  }

  /** Store a frame that is not being written now (detached, or queued at a detach). */
  private keep(msg: ServerMessage): void {
    this.replay.add(msg);
  }
}
