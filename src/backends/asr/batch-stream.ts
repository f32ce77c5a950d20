// The utterance/partial logic of the batch ASR adapters (whisper-asr-webservice, SageMaker Whisper),
// written once over a `transcribe` function that each transport supplies.
//
// Per VAD utterance: the audio from speechStart (plus a pre-roll kept in a small ring) to
// speechEnd, bounded by maxUtteranceMs. While speech goes on, every partialIntervalMs the utterance
// so far is re-transcribed (at most one such request in flight; a busy tick is skipped) and
// reported as a partial whose stable part is the local agreement of successive hypotheses. On
// speechEnd the partial request is aborted and the whole utterance transcribed once for the final.
// Audio outside speech is kept only in the pre-roll ring; write() always returns true (memory is
// bounded by maxUtteranceMs plus the ring).
//
// Finals are emitted in utterance order even when a later utterance's request returns first; the
// next utterance's partials wait until the previous final is out. A failed partial request is
// skipped; a failed final request is the stream's `error` event (nothing follows it).
import { VlpError } from '../../../protocol/errors.ts';
import { abortError, isAbortError } from '../abort.ts';
import type { AsrEvent, AsrHandlers, AsrOptions, AsrStream } from './port.ts';
import { SAMPLES_PER_MS } from './config.ts';
import { asrTimeoutError } from './errors.ts';
import { LocalAgreement } from './text.ts';

export interface Transcript {
  /** The transcript (tidied by the caller of transcribe; may be empty). */
  text: string;
  /** Detected language code, when the service reports it. */
  language?: string;
}

export interface TranscribeOptions extends AsrOptions {
  /** true for the utterance's final transcription, false for a partial re-transcription. */
  final: boolean;
}

/**
 * One transcription of 16 kHz mono PCM16 samples. It must read `samples` before its first await
 * (the stream reuses the memory afterwards), stop at once when `signal` aborts (rejecting with
 * anything), and reject with a VlpError (UPSTREAM_*) for every upstream failure.
 */
export type Transcribe = (samples: Int16Array, signal: AbortSignal, opts: TranscribeOptions) => Promise<Transcript>;

export interface BatchStreamSettings {
  /** Service name for messages ("whisper-asr-webservice"). */
  service: string;
  partialIntervalMs: number;
  requestTimeoutMs: number;
  maxUtteranceMs: number;
  /** Audio kept before the VAD's speech start, ms. */
  preRollMs: number;
}

/** How far back a speechStart may point (the VAD's decision delay) beyond the pre-roll, ms. */
const LOOKBACK_MS = 1_000;
/** Audio kept after the VAD's speech end when it is already written, ms. */
const POST_ROLL_MS = 200;
/** No partial request for less utterance audio than this, ms. */
const MIN_PARTIAL_MS = 300;
/** First utterance buffer, ms (grown by doubling up to maxUtteranceMs). */
const INITIAL_UTTERANCE_MS = 5_000;

interface Utterance {
  /** Sample (stream clock) of buf[0]. */
  start: number;
  buf: Int16Array;
  len: number;
}

/** Rethrows a consumer's exception outside our promise chains (as if thrown synchronously). */
function surface(err: unknown): void {
  queueMicrotask(() => {
    throw err;
  });
}

export class BatchAsrStream implements AsrStream {
  private readonly ring: Int16Array;
  /** Samples written since the stream began (the VAD's clock). */
  private pos = 0;
  private utt: Utterance | undefined;
  private readonly maxSamples: number;
  private readonly preRoll: number;
  private timer: NodeJS.Timeout | undefined;
  private partial: AbortController | undefined;
  /** Utterance length at the last partial request (a tick without new audio is skipped). */
  private partialLen = 0;
  private readonly agreement = new LocalAgreement();
  private lastPartial = '';
  private readonly finals = new Set<AbortController>();
  private pendingFinals = 0;
  private chain: Promise<void> = Promise.resolve();
  private dead = false;

  constructor(
    private readonly transcribe: Transcribe,
    private readonly opts: AsrOptions,
    private readonly handlers: AsrHandlers,
    private readonly s: BatchStreamSettings,
    /** Called once when the stream closes (close() or its error). */
    private readonly onClosed?: () => void,
  ) {
    this.maxSamples = Math.max(1, Math.round(s.maxUtteranceMs * SAMPLES_PER_MS));
    this.preRoll = Math.round(s.preRollMs * SAMPLES_PER_MS);
    this.ring = new Int16Array(this.preRoll + LOOKBACK_MS * SAMPLES_PER_MS);
  }

  write(samples: Int16Array): boolean {
    if (this.dead) return true;
    const first = this.pos;
    this.pos += samples.length;
    this.toRing(samples);
    const u = this.utt;
    if (u !== undefined) {
      // A speechStart ahead of the audio: skip what comes before the utterance's first sample.
      const skip = u.start + u.len - first;
      this.append(skip > 0 ? samples.subarray(Math.min(skip, samples.length)) : samples);
    }
    return true;
  }

  onDrain(_cb: () => void): void {
    // write() never refuses audio.
  }

  speechStart(atSample: number): void {
    if (this.dead || this.utt !== undefined) return;
    const ringFirst = this.pos - Math.min(this.pos, this.ring.length);
    const from = Math.max(0, atSample - this.preRoll, ringFirst);
    const u = this.newUtterance(from);
    if (from < this.pos) {
      const n = this.pos - from;
      this.grow(u, n);
      this.fromRing(from, u.buf, n);
      u.len = n;
    }
    this.utt = u;
    this.timer = setInterval(this.tick, this.s.partialIntervalMs);
    this.timer.unref();
  }

  speechEnd(atSample: number): void {
    if (this.dead) return;
    const u = this.utt;
    this.stopPartials();
    this.utt = undefined;
    if (u === undefined) {
      this.finalize(new Int16Array(0)); // no speechStart: still one final
      return;
    }
    const keep = atSample + POST_ROLL_MS * SAMPLES_PER_MS - u.start;
    if (keep < u.len) u.len = Math.max(0, keep);
    this.finalize(u.buf.subarray(0, u.len));
  }

  close(): void {
    if (this.dead) return;
    this.dead = true;
    this.stopPartials();
    for (const ac of this.finals) ac.abort();
    this.finals.clear();
    this.utt = undefined;
    this.onClosed?.();
  }

  // -------------------------------------------------------------------------------------------

  private newUtterance(start: number): Utterance {
    this.agreement.reset();
    this.lastPartial = '';
    this.partialLen = 0;
    return { start, buf: new Int16Array(Math.min(this.maxSamples, INITIAL_UTTERANCE_MS * SAMPLES_PER_MS)), len: 0 };
  }

  private grow(u: Utterance, need: number): void {
    if (u.buf.length >= need) return;
    let size = u.buf.length;
    while (size < need) size *= 2;
    const buf = new Int16Array(Math.min(this.maxSamples, size));
    buf.set(u.buf.subarray(0, u.len));
    u.buf = buf;
  }

  private append(samples: Int16Array): void {
    let rest = samples;
    while (rest.length > 0 && this.utt !== undefined) {
      const u = this.utt;
      const take = Math.min(rest.length, this.maxSamples - u.len);
      this.grow(u, u.len + take);
      u.buf.set(rest.subarray(0, take), u.len);
      u.len += take;
      rest = rest.subarray(take);
      if (u.len >= this.maxSamples) {
        // maxUtteranceMs: cut here, finalize, go on with the rest of the speech.
        this.partial?.abort();
        this.partial = undefined;
        this.finalize(u.buf.subarray(0, u.len));
        this.utt = this.newUtterance(u.start + u.len);
      }
    }
  }

  private toRing(samples: Int16Array): void {
    const cap = this.ring.length;
    if (cap === 0) return;
    const src = samples.length > cap ? samples.subarray(samples.length - cap) : samples;
    const at = (this.pos - src.length) % cap;
    const head = Math.min(src.length, cap - at);
    this.ring.set(src.subarray(0, head), at);
    if (head < src.length) this.ring.set(src.subarray(head), 0);
  }

  /** Copies ring samples [from, from + n) of the stream clock into dst[0..n). */
  private fromRing(from: number, dst: Int16Array, n: number): void {
    const cap = this.ring.length;
    const at = from % cap;
    const head = Math.min(n, cap - at);
    dst.set(this.ring.subarray(at, at + head), 0);
    if (head < n) dst.set(this.ring.subarray(0, n - head), head);
  }

  private stopPartials(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    this.partial?.abort();
    this.partial = undefined;
  }

  private readonly tick = (): void => {
    const u = this.utt;
    if (this.dead || u === undefined || this.partial !== undefined || this.pendingFinals > 0) return;
    if (u.len < MIN_PARTIAL_MS * SAMPLES_PER_MS || u.len === this.partialLen) return;
    this.partialLen = u.len;
    const ac = new AbortController();
    this.partial = ac;
    this.request(u.buf.subarray(0, u.len), ac, false).then(
      (res) => {
        if (this.partial === ac) this.partial = undefined;
        if (this.dead || this.utt !== u || this.pendingFinals > 0) return;
        const p = this.agreement.update(res.text);
        // Only a change of the text is news (the port's rule), not of its stable/unstable split.
        const text = p.stable + p.unstable;
        if (text === this.lastPartial) return;
        this.lastPartial = text;
        this.emit({ kind: 'partial', stable: p.stable, unstable: p.unstable });
      },
      () => {
        // A failed partial is not fatal: the next tick (or the final) tries again.
        if (this.partial === ac) this.partial = undefined;
      },
    );
  };

  private finalize(samples: Int16Array): void {
    const ac = new AbortController();
    this.finals.add(ac);
    this.pendingFinals++;
    const result = samples.length === 0 ? Promise.resolve<Transcript>({ text: '' }) : this.request(samples, ac, true);
    result.catch(() => undefined); // observed below, in order; avoid an early unhandled rejection
    this.chain = this.chain
      .then(async () => {
        let res: Transcript;
        try {
          res = await result;
        } catch (err) {
          this.fail(err);
          return;
        } finally {
          this.finals.delete(ac);
          this.pendingFinals--;
        }
        const language = res.language ?? this.opts.language;
        this.emit(language === undefined ? { kind: 'final', text: res.text } : { kind: 'final', text: res.text, language });
      })
      .catch(surface);
  }

  private async request(samples: Int16Array, ac: AbortController, final: boolean): Promise<Transcript> {
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      ac.abort();
    }, this.s.requestTimeoutMs);
    timer.unref();
    try {
      return await this.transcribe(samples, ac.signal, { ...this.opts, final });
    } catch (err) {
      if (timedOut) throw asrTimeoutError(this.s.service, final ? 'the final transcription' : 'a partial transcription', this.s.requestTimeoutMs);
      if (ac.signal.aborted) throw abortError(ac.signal.reason);
      if (err instanceof VlpError) throw err;
      throw new VlpError('UPSTREAM_RESET', `${this.s.service}: the transcription request failed`, { cause: err });
    } finally {
      clearTimeout(timer);
    }
  }

  private fail(err: unknown): void {
    if (this.dead || isAbortError(err)) return;
    const error = err instanceof VlpError ? err : new VlpError('UPSTREAM_RESET', `${this.s.service}: the transcription request failed`, { cause: err });
    this.close();
    this.handlers.onEvent({ kind: 'error', error });
  }

  private emit(ev: AsrEvent): void {
    if (!this.dead) this.handlers.onEvent(ev);
  }
}
