// Live voice input of one session, one per audio.start: decode → VAD → ring → ASR stream, and
// transcripts back to the client; a final transcript starts a dialogue turn like a typed one.
//
// Sample positions: `samplesIn` counts 16 kHz samples decoded since audio.start (the clock of
// vad.at_ms). The ASR stream sees its own clock (samples written to it); `asrOffset` maps one
// onto the other across reopened streams and audio dropped from the ring.
import type { AudioStartMsg } from '../../protocol/messages.ts';
import { VlpError, type ErrorCode } from '../../protocol/errors.ts';
import type { AsrBackend, AsrEvent, AsrStream } from '../backends/asr/port.ts';
import { createDecoder } from '../audio/decoder.ts';
import { createVad, type Vad } from '../audio/vad.ts';
import { PcmRing } from '../audio/ring.ts';
import { RealtimeGuard } from '../audio/rate-guard.ts';
import { SAMPLES_PER_MS, type AudioDecoder, type VadEvent } from '../audio/types.ts';
import type { Session } from './session.ts';
import { IntentTracker } from '../understanding/hysteresis.ts';
import { extractKeywords } from '../understanding/keywords.ts';
import type { IntentLabel } from '../understanding/labels.ts';
import type { GatewayMetrics } from '../observability/metrics.ts';
import type { Speculation } from './speculation.ts';
import { UtteranceSpeculation, type SpeculationStarter } from './voice-speculation.ts';
import { safeErrorFields } from '../observability/fatal.ts';
import { BARGE_IN_TAIL_WORDS } from './echo-guard.ts';
import { isIgnored, type IgnoredSpeech, type SpeechVerdict } from './speech-judge.ts';

/** Intents served by the segmenter (speculated on while the user speaks). */
const SEGMENT_LABELS: ReadonlySet<IntentLabel> = new Set<IntentLabel>(['detect', 'segment', 'mask']);

/** Marks a voice turn carries (performance.now() values) and its speculative work. */
export interface VoiceTurnMarks {
  speechEndAt: number;
  asrFinalAt: number;
  /** When the utterance's intent became stable on partial transcripts. */
  intentStableAt?: number;
  /** Speculative work of the utterance, committed or discarded by the turn. */
  speculation?: Speculation;
  /** Speculations of the utterance discarded before its final transcript. */
  priorDiscarded?: number;
}

/** Chunks held while the decoder and VAD load (first audio.start of the process loads WASM). */
const MAX_PENDING_CHUNKS = 200;
/** asr.lag and repeated audio errors are sent at most this often. */
const NOTICE_INTERVAL_MS = 500;
/** After an ASR stream failed, the next one is opened no sooner than this, or than the wait the
 *  error names (retryAfterS: WhisperLive WAIT, an HTTP Retry-After) when that is longer. */
const REOPEN_BACKOFF_MS = 1_000;

export type BargeIn = 'off' | 'speech_start' | 'first_words';

/** What the session needs to start a voice turn (implemented by Session). */
export interface VoiceTurnStarter extends SpeculationStarter {
  startVoiceTurn(text: string, marks: VoiceTurnMarks, language?: string): string | undefined;
  /** The session holds an image a spoken turn can refer to. */
  readonly hasImage: boolean;
  readonly latestImageId: string | undefined;
  imageDescription(imageId: string | undefined): string | undefined;
  /** The session's running turn, if any, cancelled for barge-in. */
  bargeIn(): boolean;
  /** A turn runs (something to barge in on). */
  readonly hasRunningTurn: boolean;
  /** Is this transcript (its last `tail` words) the user's bid for the turn, or the assistant's own
   *  voice (options.echo_guard), or a backchannel said while it speaks (options.ignore_backchannels)? */
  judgeSpeech(transcript: string, tail?: number): SpeechVerdict;
  /** A final transcript that was echo or a backchannel: announced and cancelled, no turn runs. */
  dropSpokenTurn(text: string, reason: IgnoredSpeech, language?: string): void;
}

export class VoiceInput {
  private decoder: AudioDecoder | undefined;
  private vad: Vad | undefined;
  private asr: AsrStream | undefined;
  private asrWritable = true;
  /** performance.now() before which no new ASR stream is opened (backoff after a failure). */
  private reopenAt = -Infinity;
  /** Code of the last ASR failure the client was told about, until a stream gives a transcript
   *  again: a reopen failing with the same code is not reported again (one frame per outage). */
  private reportedAsrFailure: ErrorCode | undefined;
  /** Gateway sample at which the current ASR stream's sample 0 sits, plus audio dropped since. */
  private asrOffset = 0;
  private readonly ring: PcmRing;
  private readonly guard: RealtimeGuard;
  private pending: { data: Uint8Array; at: number }[] | undefined = [];
  private closed = false;
  private ending = false;
  private endTimer: NodeJS.Timeout | undefined;
  private samplesIn = 0;
  private lastNoticeAt = new Map<string, number>();
  private lastPartial = '';
  /** first_words: this utterance has not barged in yet (it may, at its next partial). */
  private bargePending = false;
  /** performance.now() of the end of speech of the utterance being finalized. */
  private speechEndAt: number | undefined;
  /** Utterances the current ASR stream was told ended (speechEnd) and has not yet finalized: after
   *  audio.end the stream closes when this reaches 0, so no utterance's final is cut off. */
  private awaitingFinals = 0;
  private readonly intent = new IntentTracker();
  /** Speculative work of the utterance in progress (options.speculate). */
  private readonly speculation: UtteranceSpeculation;
  /** performance.now() when the utterance's intent first became stable. */
  private intentStableAt: number | undefined;
  private lastIntentKey = '';
  private droppedReportedMs = 0;
  private totalDroppedMs = 0;
  /** The per-chunk metrics, looked up once (not through session → context per chunk). */
  private readonly chunksTotal: GatewayMetrics['audioChunksTotal'];
  private readonly forwardSeconds: GatewayMetrics['audioForwardSeconds'];

  constructor(
    private readonly s: Session,
    readonly msg: AudioStartMsg,
    private readonly backend: AsrBackend,
    private readonly turns: VoiceTurnStarter,
    /** Called once, when the stream has closed (whatever closed it): the session's accounting. */
    private readonly onClosed: (voice: VoiceInput) => void,
    /** The session's real-time guard, shared by its streams (a new audio.start gets no new burst
     *  allowance); a guard of its own when not given. */
    guard?: RealtimeGuard,
  ) {
    const a = s.ctx.config.audio;
    this.ring = new PcmRing(a.ringMs * SAMPLES_PER_MS);
    this.guard = guard ?? new RealtimeGuard({ factor: a.maxRealtimeFactor, burstMs: a.burstMs });
    this.chunksTotal = s.ctx.metrics.audioChunksTotal;
    this.forwardSeconds = s.ctx.metrics.audioForwardSeconds;
    this.speculation = new UtteranceSpeculation(s, turns);
  }

  /** Loads the decoder and VAD, opens the ASR stream, then replays chunks that arrived meanwhile. */
  async init(): Promise<void> {
    try {
      // allSettled: when one fails, the other (WASM memory, no finalizer) is still released.
      const [d, v] = await Promise.allSettled([createDecoder(this.msg.format), createVad(this.s.ctx.config.audio.vad)]);
      if (d.status === 'rejected' || v.status === 'rejected') {
        if (d.status === 'fulfilled') d.value.close();
        if (v.status === 'fulfilled') v.value.close();
        throw d.status === 'rejected' ? d.reason : (v as PromiseRejectedResult).reason;
      }
      const decoder = d.value;
      const vad = v.value;
      if (this.closed) {
        decoder.close();
        vad.close();
        return;
      }
      this.decoder = decoder;
      this.vad = vad;
      this.openAsr();
      const pending = this.pending ?? [];
      this.pending = undefined;
      for (const p of pending) this.chunk(p.data, p.at);
      if (this.ending) this.end();
    } catch (err) {
      const e = err instanceof VlpError ? err : new VlpError('SERVER_INTERNAL', 'audio pipeline failed to start', { cause: err });
      if (!(err instanceof VlpError)) this.s.ctx.log.error({ session: this.s.id, error: safeErrorFields(err) }, 'audio pipeline failed to start');
      this.s.sendError(e.code, e.message, { ref: 'audio.start' });
      this.close();
    }
  }

  /** One audio.chunk; `at` = performance.now() when its frame arrived. */
  chunk(data: Uint8Array, at: number): void {
    if (this.closed) return;
    this.chunksTotal.inc();
    if (this.pending) {
      if (this.pending.length >= MAX_PENDING_CHUNKS) return this.notice('AUDIO_TOO_FAST', 'audio arrives faster than the pipeline starts; chunk dropped');
      // A copy: the transport's contract keeps a frame's bytes valid only during its handler
      // (uWS reuses them), and these are read later.
      this.pending.push({ data: data.slice(), at });
      return;
    }
    const decoder = this.decoder as AudioDecoder;
    const knownMs = decoder.inputMs(data);
    if (knownMs !== undefined && !this.guard.admit(knownMs, at)) return this.tooFast(knownMs);
    let pcm: Int16Array;
    try {
      // Valid until the next decode: VAD, ring and ASR stream each copy what they keep.
      pcm = decoder.decodeTransient(data);
    } catch (err) {
      if (err instanceof VlpError) return this.notice(err.code, err.message);
      throw err;
    }
    if (knownMs === undefined && !this.guard.admit(pcm.length / SAMPLES_PER_MS, at)) return this.tooFast(pcm.length / SAMPLES_PER_MS);
    this.process(pcm, at);
  }

  /** audio.end: flush, end an utterance in progress, close the ASR stream after its final. When
   *  an utterance awaits its final the stream stays open (isClosed false) until the final, an ASR
   *  error, the timeout below or close(); the session keeps at most one such ending stream. */
  end(): void {
    if (this.closed) return;
    this.ending = true;
    if (this.pending) return; // init() calls end() again once loaded
    const decoder = this.decoder as AudioDecoder;
    const vad = this.vad as Vad;
    const tail = decoder.flush();
    if (tail.length > 0) this.process(tail, performance.now());
    if (vad.inSpeech) {
      vad.reset();
      this.onVad({ kind: 'speech_end', atSample: this.samplesIn }, performance.now());
    }
    if (this.awaitingFinals > 0 && this.asr) {
      // Utterances await their final transcripts; the last one closes the stream (onAsr); this bounds the wait.
      const { finalizeTimeoutMs, requestTimeoutMs } = this.s.ctx.config.asr;
      this.endTimer = setTimeout(() => this.close(), finalizeTimeoutMs + requestTimeoutMs);
      this.endTimer.unref();
    } else {
      this.close();
    }
  }

  /** Closes the stream at once: the ASR stream, decoder and VAD. A final transcript still awaited
   *  is dropped without a frame, like an empty one (protocol/SPEC.md, audio.end). Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.endTimer) clearTimeout(this.endTimer);
    this.pending = undefined;
    this.asr?.close();
    this.asr = undefined;
    this.speculation.discard();
    this.decoder?.close();
    this.vad?.close();
    this.onClosed(this);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  private process(pcm: Int16Array, at: number): void {
    if (pcm.length === 0) return;
    this.samplesIn += pcm.length;
    const events = (this.vad as Vad).push(pcm);
    this.forward(pcm, at);
    for (let i = 0; i < events.length; i++) {
      const ev = events[i] as VadEvent;
      this.onVad(ev, at - (this.samplesIn - ev.atSample) / SAMPLES_PER_MS);
    }
  }

  /** Hand the samples to the ASR stream at once when it keeps up, else keep them in the ring. */
  private forward(pcm: Int16Array, at: number): void {
    if (!this.asr && !this.ending && performance.now() >= this.reopenAt) this.openAsr();
    const asr = this.asr;
    if (!asr) {
      // No ASR stream (failed, backing off): the audio is lost; count it like a ring overflow.
      this.asrOffset += pcm.length;
      this.reportDropped(pcm.length);
      return;
    }
    if (this.asrWritable && this.ring.length === 0) {
      this.asrWritable = asr.write(pcm);
      this.forwardSeconds.observe((performance.now() - at) / 1000);
      return;
    }
    this.ring.write(pcm);
    const dropped = this.ring.takeDropped();
    if (dropped > 0) {
      this.asrOffset += dropped;
      this.reportDropped(dropped);
    }
  }

  private pump(): void {
    const asr = this.asr;
    if (!asr) return;
    this.asrWritable = true;
    while (this.asrWritable && this.ring.length > 0) this.asrWritable = asr.write(this.ring.read(SAMPLES_PER_MS * 100));
  }

  private reportDropped(samples: number): void {
    const ms = samples / SAMPLES_PER_MS;
    this.s.ctx.metrics.audioDroppedMs.inc(ms);
    this.droppedReportedMs += ms;
    this.totalDroppedMs += ms;
    const now = performance.now();
    const last = this.lastNoticeAt.get('asr.lag') ?? -Infinity;
    if (now - last < NOTICE_INTERVAL_MS) return;
    this.lastNoticeAt.set('asr.lag', now);
    this.s.send({ t: 'asr.lag', dropped_ms: Math.round(this.droppedReportedMs), total_dropped_ms: Math.round(this.totalDroppedMs) });
    this.droppedReportedMs = 0;
  }

  private onVad(ev: VadEvent, wallAt: number): void {
    this.s.send({ t: 'vad', event: ev.kind, at_ms: Math.round(ev.atSample / SAMPLES_PER_MS) });
    const asrAt = Math.max(0, ev.atSample - this.asrOffset);
    switch (ev.kind) {
      case 'speech_start':
        this.speculation.restart();
        this.bargePending = this.policy() === 'first_words';
        this.lastPartial = '';
        this.intent.reset();
        this.intentStableAt = undefined;
        this.lastIntentKey = '';
        if (this.policy() === 'speech_start' && this.turns.bargeIn()) this.s.ctx.metrics.bargeInsTotal.inc();
        this.asr?.speechStart(asrAt);
        return;
      case 'speech_end':
        this.speechEndAt = wallAt;
        if (this.asr) {
          this.awaitingFinals++;
          this.asr.speechEnd(asrAt);
        }
        // No answer is prepared for the assistant's own voice or a backchannel.
        if (!isIgnored(this.turns.judgeSpeech(this.lastPartial))) this.speculation.answer(this.lastPartial);
        return;
      default: {
        const never: never = ev;
        throw new Error(`unhandled vad event ${(never as VadEvent).kind}`);
      }
    }
  }

  /** first_words: the first partial with words cancels a streaming answer — with echo_guard or
   *  ignore_backchannels, the first one that is the user's bid for the turn (not the answer's own
   *  words coming back, not a backchannel, not too few words to tell: the next partial decides). */
  private firstWordsBargeIn(text: string): void {
    if (!this.bargePending || this.policy() !== 'first_words' || !this.turns.hasRunningTurn) return;
    const verdict = this.turns.judgeSpeech(text, BARGE_IN_TAIL_WORDS);
    if (verdict !== 'user') {
      if (isIgnored(verdict)) this.s.ctx.metrics.speechIgnoredTotal.inc({ reason: verdict, stage: 'partial' });
      return;
    }
    this.bargePending = false;
    if (this.turns.bargeIn()) this.s.ctx.metrics.bargeInsTotal.inc();
  }

  private policy(): BargeIn {
    return this.s.options.bargeIn;
  }

  private openAsr(): void {
    const cfg = this.s.ctx.config.asr;
    const language = this.msg.language ?? cfg.language;
    const stream = this.backend.open(
      { task: this.msg.task ?? 'transcribe', ...(language !== undefined ? { language } : {}) },
      { onEvent: (ev) => this.onAsrSafely(stream, ev) },
    );
    this.asr = stream;
    this.asrWritable = true;
    this.asrOffset = this.samplesIn;
    this.awaitingFinals = 0;
    stream.onDrain(() => {
      if (this.asr === stream) this.pump();
    });
  }

  /** The ASR adapters call this from socket and timer callbacks: an exception here (a bug) would be
   *  uncaught and end the process. It ends this audio stream instead, with SERVER_INTERNAL. */
  private onAsrSafely(stream: AsrStream, ev: AsrEvent): void {
    try {
      this.onAsr(stream, ev);
    } catch (err) {
      this.s.ctx.log.error({ session: this.s.id, event: ev.kind, error: safeErrorFields(err) }, 'transcript handling failed');
      if (this.closed) return;
      this.s.sendError('SERVER_INTERNAL', 'transcript handling failed; the audio stream is closed', { ref: 'audio' });
      this.close();
    }
  }

  private onAsr(stream: AsrStream, ev: AsrEvent): void {
    if (this.closed || this.asr !== stream) return;
    switch (ev.kind) {
      case 'partial': {
        this.reportedAsrFailure = undefined; // the recognizer works again
        const text = ev.stable + ev.unstable;
        if (text === this.lastPartial) return;
        this.lastPartial = text;
        this.s.send({ t: 'asr.partial', stable: ev.stable, unstable: ev.unstable });
        this.partialIntent(text);
        if (text.trim().length > 0) this.firstWordsBargeIn(text);
        return;
      }
      case 'final': {
        this.reportedAsrFailure = undefined;
        const now = performance.now();
        const text = ev.text.trim();
        this.s.ctx.metrics.asrFinalsTotal.inc({ empty: text.length === 0 ? 'yes' : 'no' });
        this.lastPartial = '';
        const verdict = text.length > 0 ? this.turns.judgeSpeech(text) : 'unsure';
        if (isIgnored(verdict)) {
          // The assistant's own voice, or the user listening: no turn, and the answer goes on.
          this.speculation.discard();
          this.s.ctx.metrics.speechIgnoredTotal.inc({ reason: verdict, stage: 'final' });
          this.turns.dropSpokenTurn(text, verdict, ev.language);
        } else if (text.length > 0) {
          const { speculation: spec, priorDiscarded } = this.speculation.take();
          const marks = {
            speechEndAt: this.speechEndAt ?? now,
            asrFinalAt: now,
            ...(this.intentStableAt !== undefined ? { intentStableAt: this.intentStableAt } : {}),
            ...(spec ? { speculation: spec } : {}),
            priorDiscarded,
          };
          this.turns.startVoiceTurn(text, marks, ev.language);
        } else {
          this.speculation.discard();
        }
        this.speechEndAt = undefined;
        this.intent.reset();
        this.intentStableAt = undefined;
        this.lastIntentKey = '';
        if (this.awaitingFinals > 0) this.awaitingFinals--;
        if (this.ending && this.awaitingFinals === 0) this.close();
        return;
      }
      case 'error': {
        const e = ev.error;
        // A reopen failing for the cause the client already knows of (an overloaded or unreachable
        // recognizer) is not reported again: the audio lost meanwhile is, by asr.lag.
        if (e.code !== this.reportedAsrFailure) {
          this.reportedAsrFailure = e.code;
          this.s.sendError(e.code, `speech recognition: ${e.message}`, { ref: 'audio', retryable: e.retryable });
        }
        stream.close();
        this.asr = undefined;
        this.awaitingFinals = 0; // that stream's utterances will not be finalized
        this.reopenAt = performance.now() + Math.max(REOPEN_BACKOFF_MS, (e.retryAfterS ?? 0) * 1000);
        this.ring.read(this.ring.length);
        if (this.ending) this.close();
        return;
      }
      default: {
        const never: never = ev;
        throw new Error(`unhandled asr event ${(never as AsrEvent).kind}`);
      }
    }
  }

  /** Intent on the partial transcript: intent.update when the (hysteresis-held) top label, its
   *  stability or the keywords change. No turn id yet: the frame is about the utterance in progress. */
  private partialIntent(text: string): void {
    if (text.trim().length === 0) return;
    const result = this.s.ctx.fastIntent.classify(text, { hasImage: this.turns.hasImage });
    if ('then' in result) return; // a model-served classifier answers asynchronously: not on partials
    const u = this.intent.update(result);
    if (u.stable && this.intentStableAt === undefined) this.intentStableAt = performance.now();
    const description = this.turns.imageDescription(this.turns.latestImageId);
    const keywords = extractKeywords(text, { max: 3, ...(description !== undefined ? { prefer: description } : {}) });
    const key = `${u.top}|${u.stable ? 1 : 0}|${keywords.join(',')}`;
    if (key === this.lastIntentKey) return;
    this.lastIntentKey = key;
    // The held label first (hysteresis), then the rest as classified.
    const held = u.labels.find((l) => l.label === u.top) ?? { label: u.top, score: 0 };
    const labels = [held, ...u.labels.filter((l) => l.label !== u.top)].slice(0, 3);
    this.s.send({ t: 'intent.update', labels, stable: u.stable, keywords });
    const top = labels[0];
    if (u.stable && top !== undefined && SEGMENT_LABELS.has(top.label) && top.score >= this.s.ctx.config.segmenter.minIntentScore) this.speculation.segment(keywords);
  }

  private tooFast(ms: number): void {
    this.s.ctx.metrics.audioDroppedMs.inc(ms);
    this.notice('AUDIO_TOO_FAST', `audio arrives faster than ${this.s.ctx.config.audio.maxRealtimeFactor}x real time; excess chunks are dropped`);
  }

  /** An error frame at most every NOTICE_INTERVAL_MS per code (a bad stream does not flood). */
  private notice(code: ErrorCode, message: string): void {
    const now = performance.now();
    const last = this.lastNoticeAt.get(code) ?? -Infinity;
    if (now - last < NOTICE_INTERVAL_MS) return;
    this.lastNoticeAt.set(code, now);
    this.s.sendError(code, message, { ref: 'audio.chunk' });
  }
}
