// One user session: options, dialogue history, the running turn and the outbox. Outlives its
// connection for resume_window_ms so a client can reconnect and replay what it missed.
import { loadPlanning } from '../planning/lazy.ts';
import type { ConnectionGrant } from '../transport/types.ts';
import type { ClientMessage, ServerPayload, TurnStartMsg, CancelReason, GoawayMsg, PlaybackTruncateMsg, WatchStartMsg, WatchStopMsg } from '../../protocol/messages.ts';
import { SessionWatches, type WatchHost } from './watches.ts';
import type { StoredImage } from '../images/types.ts';
import { truncateHeard, type LastAnswer } from './playback.ts';
export type { TurnKind };
import { VlpError, type ErrorCode, ERRORS } from '../../protocol/errors.ts';
import type { GatewayContext } from './context.ts';
import { Outbox, type OutboxSink } from './outbox.ts';
import { DialogueHistory } from './history.ts';
import { applyOptions, defaultOptions, limitsOf, type ResolvedOptions } from './options.ts';
import { newResumeToken, newSessionId } from './ids.ts';
import { checkGenParams, mergeParams } from '../backends/params.ts';
import type { TurnRun } from './turn.ts';
import { reportTurnFailure } from './turn-failure.ts';
import { BufferedStream, type Speculation } from './speculation.ts';
import type { GenEvent } from '../backends/ports.ts';
import type { SegmentEvent } from '../backends/segmenter-port.ts';
import type { GenParams, ImagePutMsg, TurnKind } from '../../protocol/messages.ts';
import type { ChatMessage } from '../backends/ports.ts';
import { fitForSegmenter } from './image-prep.ts';
import type { AudioStartMsg } from '../../protocol/messages.ts';
import { checkFormat } from '../audio/formats.ts';
import { VoiceInput, type VoiceTurnMarks, type VoiceTurnStarter } from './voice.ts';
import { SessionVision } from './session-vision.ts';
import { routeTurn } from './turn-router.ts';
import type { ModelEntry } from '../models.ts';
import { safeErrorFields } from '../observability/fatal.ts';
import { RealtimeGuard } from '../audio/rate-guard.ts';
import { judgeSpeech, type IgnoredSpeech, type SpeechVerdict } from './speech-judge.ts';

const MAX_REMEMBERED_TURN_IDS = 256;

export type SessionState = 'active' | 'detached' | 'closed';

export interface SessionHost {
  /** Called when the outbox overflows (slow consumer) so the connection can be closed. */
  onSlowConsumer(session: Session): void;
  /** Called once when the session ends, with the reason its running turn (if any) was given. */
  onClosed(session: Session, reason: CancelReason): void;
}


export class Session implements VoiceTurnStarter, WatchHost {
  readonly id = newSessionId();
  readonly resumeToken = newResumeToken();
  readonly outbox: Outbox;
  readonly history: DialogueHistory;
  state: SessionState = 'active';
  options: ResolvedOptions;
  turn: TurnRun | undefined;
  /** performance.now() of the last client message, or of the detach. */
  lastActivity = performance.now();
  /** The session's maximum duration, ms: limits.maxSessionMs, or its client token's claim when
   *  shorter (Infinity: no limit). */
  readonly durationMs: number;
  /** performance.now() at which it is reached; session/expiry.ts ends the session then. */
  readonly expiresAt: number;
  /** The session is being ended (expiry.ts): no new turn starts, spoken or typed. */
  private ending = false;
  /** The latest answer turn that ended, for playback.truncate (playback.ts). */
  lastAnswer: LastAnswer | undefined;
  /** The streamed text of the latest answer that ended, when it began and ended: the echo guard
   *  compares spoken input with it until audio.echoGuard.windowMs after the client would have
   *  finished speaking it. */
  recentAnswer: { text: string; startedAt: number; endedAt: number } | undefined;
  /** The turn promise of the running turn, for shutdown waits and tests. */
  turnDone: Promise<void> | undefined;
  private readonly seenTurnIds = new Set<string>();
  /** Turns started in this session (speculations check none ran in between). */
  private turnsStarted = 0;
  /** The open audio stream (audio.start .. audio.end), if any. */
  private voice: VoiceInput | undefined;
  /** The stream that ended last (audio.end, or audio.start ending the open one) and still waits
   *  for its final transcript, if any. At most one per session: when another stream ends and is
   *  left waiting for a final of its own, this one is closed (its final is dropped, SPEC.md
   *  audio.end); one that closes as it ends leaves this one waiting. */
  private endingVoice: VoiceInput | undefined;
  /** Real-time guard of the session's audio, across its streams: cycling audio.start does not
   *  renew the burst allowance. */
  private audioGuard: RealtimeGuard | undefined;
  private voiceTurns = 0;
  /** Aborted when the session closes: background work (image descriptions) stops with it. */
  private readonly lifetime = new AbortController();
  /** The session's images: image.put, descriptions, the latest image, image turn messages. */
  private readonly vision = new SessionVision(this, this.lifetime.signal, (imageId) => this.watches?.frame(imageId) ?? false);
  /** The session's watches (watch.start), created with the first. */
  private watches: SessionWatches | undefined;
  private watchTurns = 0;
  /** A voice turn waiting for the turn it superseded to end (at most one: newer ones replace it). */
  private waitingVoice: { msg: TurnStartMsg; marks: VoiceTurnMarks } | undefined;

  constructor(
    readonly ctx: GatewayContext,
    private readonly host: SessionHost,
    /** What the connection's credential grants (a client token's max_session_s claim). */
    grant?: ConnectionGrant,
  ) {
    const { limits } = ctx.config;
    this.outbox = new Outbox({
      maxFrames: limits.outboxMaxFrames,
      maxBytes: limits.outboxMaxBytes,
      replayFrames: limits.replayFrames,
      replayBytes: limits.replayBytes,
      onOverflow: () => host.onSlowConsumer(this),
    });
    this.history = new DialogueHistory(limits.historyChars);
    this.options = defaultOptions(ctx.config);
    const bounds = [limits.maxSessionMs, grant?.maxSessionMs ?? 0].filter((ms) => ms > 0);
    this.durationMs = bounds.length > 0 ? Math.min(...bounds) : Number.POSITIVE_INFINITY;
    this.expiresAt = performance.now() + this.durationMs;
  }

  attach(sink: OutboxSink): void {
    this.state = 'active';
    this.lastActivity = performance.now();
    this.outbox.attach(sink);
  }

  detach(): void {
    if (this.state !== 'active') return;
    // Audio belongs to the connection: a resumed client starts a new stream with audio.start.
    // An ending stream (after audio.end) is kept: its final transcript and voice turn go on while
    // detached like a running turn, and reach a resuming client through the replay buffer. It is
    // bounded by its own timeout, and close() closes it when the resume window runs out.
    this.voice?.close();
    this.state = 'detached';
    this.lastActivity = performance.now();
    this.outbox.detach();
  }

  send(p: ServerPayload): void {
    this.outbox.push(p);
  }

  sendError(code: ErrorCode, message: string, extra: { turn?: string; ref?: string; retryable?: boolean } = {}): void {
    const spec = ERRORS[code];
    this.ctx.metrics.errorsTotal.inc({ code });
    const frame: ServerPayload = {
      t: 'error',
      code,
      message,
      retryable: extra.retryable ?? spec.retryable,
      fatal: 'close' in spec,
      ...(extra.turn !== undefined ? { turn: extra.turn } : {}),
      ...(extra.ref !== undefined ? { ref: extra.ref } : {}),
    };
    if ('close' in spec) this.outbox.pushNow(frame);
    else this.outbox.push(frame);
  }

  /** The error frame of a connection about to close (`conn`, the session's connection): written
   *  at once, ahead of frames waiting behind backpressure, and not kept for replay (it concerns
   *  that connection, not the session: a resuming client does not get it again). */
  sendFatal(code: ErrorCode, message: string, conn: OutboxSink): void {
    this.ctx.metrics.errorsTotal.inc({ code });
    this.outbox.sendDirect({ t: 'error', code, message, retryable: ERRORS[code].retryable, fatal: true }, conn);
  }

  /** goaway to the attached connection, if any: written at once and not kept for replay. */
  sendGoaway(timeLeftMs: number, reason: GoawayMsg['reason'] = 'shutdown'): void {
    this.outbox.sendDirect({ t: 'goaway', reason, time_left_ms: timeLeftMs });
  }

  updateOptions(o: NonNullable<Extract<ClientMessage, { t: 'session.update' }>['options']>): void {
    this.options = applyOptions(this.options, o, this.ctx.config, (id) => this.ctx.models.get(id) !== undefined);
    // Planning's libraries load now rather than in the first planned turn; a failed load reaches
    // that turn as its error.
    if (this.options.plan) loadPlanning().catch(() => undefined);
  }

  /** The checks of turn.start, sending nothing: what the turn runs with, or why it cannot start. */
  private admitTurn(msg: TurnStartMsg): { entry: ModelEntry; params: GenParams; text: string } | VlpError {
    if (this.ending) return new VlpError('TURN_BUSY', 'the session is ending: it reached its maximum duration; start a new session');
    if (this.turn) return new VlpError('TURN_BUSY', `turn ${this.turn.id} is still running; cancel it or wait for its end`);
    if (this.seenTurnIds.has(msg.id)) return new VlpError('TURN_ID_REUSED', 'turn.start.id was already used in this session');
    const text = msg.text.trim();
    if (text.length === 0) return new VlpError('INPUT_TEXT_EMPTY', 'turn.start.text is empty');
    const vision = msg.image !== undefined;
    const modelId = msg.model ?? (vision ? this.ctx.config.defaultVisionModel : this.options.model);
    const entry = this.ctx.models.get(modelId);
    if (!entry) return new VlpError('INPUT_MODEL_UNKNOWN', 'turn.start.model is not a configured model (see ready.models)');
    if (vision && !entry.backend.capabilities.vision) {
      return new VlpError('INPUT_MODEL_NOT_VISION', `model ${entry.config.id} is text-only; send image turns to a vlm model`);
    }
    try {
      return { entry, text, params: checkGenParams(mergeParams(entry.config.params, this.options.params, msg.params), limitsOf(this.ctx.config)) };
    } catch (err) {
      if (err instanceof VlpError) return err;
      throw err;
    }
  }

  startTurn(msg: TurnStartMsg, voice?: VoiceTurnMarks): void {
    const admitted = this.admitTurn(msg);
    if (admitted instanceof VlpError) return this.sendError(admitted.code, admitted.message, { turn: msg.id, ref: 'turn.start' });
    const { entry, params, text } = admitted;
    this.rememberTurnId(msg.id);
    const run: TurnRun = {
      id: msg.id,
      controller: new AbortController(),
      // A voice turn's clock starts at the end of speech: its marks measure what the user waits.
      startedAt: voice?.speechEndAt ?? performance.now(),
      cancelReason: undefined,
      ...(voice ? { asrFinalAt: voice.asrFinalAt } : {}),
      ...(voice?.intentStableAt !== undefined ? { intentStableAt: voice.intentStableAt } : {}),
    };
    this.turn = run;
    this.turnsStarted++;
    run.spec = { committed: 0, discarded: voice?.priorDiscarded ?? 0 };
    const work = routeTurn(this, this.vision, run, msg, entry, params, text, voice?.speculation)
      .catch((err: unknown) => {
        reportTurnFailure(this, run, err);
      })
      // turnDone never rejects: a failure to report the failure is logged (nobody awaits it but
      // shutdown, and an unhandled rejection would end the process).
      .catch((err: unknown) => {
        this.ctx.log.error({ session: this.id, error: safeErrorFields(err) }, 'turn failure could not be reported');
      });
    this.turnDone = work.finally(() => {
      if (this.turn === run) this.turn = undefined;
    });
  }

  /** Speculative segmentation while the user speaks (options.speculate): the VoiceInput calls it
   *  when the partial transcript's intent is stable and confident. Returns false when it does not apply. */
  speculateSegment(phrases: string[]): Speculation | undefined {
    const seg = this.ctx.segmenter;
    const imageId = this.vision.latestImageId;
    if (!seg || imageId === undefined || phrases.length === 0) return undefined;
    const img = this.vision.peek(imageId);
    if (!img) return undefined;
    const { config } = this.ctx;
    const limit = config.segmenter.requestLimitBytes;
    const stream = new BufferedStream<SegmentEvent>(async function* (signal) {
      const image = await fitForSegmenter(img, limit);
      yield* seg.segment({ image, phrases, boxThreshold: config.segmenter.boxThreshold, textThreshold: config.segmenter.textThreshold, hq: config.segmenter.hq, signal });
    });
    this.ctx.metrics.speculationsTotal.inc({ outcome: 'started' });
    return { kind: 'segment', imageId, phrases: [...phrases], stream, startedAt: performance.now() };
  }

  /** Speculative answer at the end of speech, before the final transcript (options.speculate): a
   *  dialogue answer, or the VLM's when the text asks about the session's image. */
  async speculateAnswer(text: string, signal: AbortSignal): Promise<Speculation | undefined> {
    const t = text.trim();
    if (t.length === 0 || this.turn || this.options.plan) return undefined;
    const image = this.vision.voiceImage(t);
    const entry = this.ctx.models.get(image !== undefined ? this.ctx.config.defaultVisionModel : this.options.model);
    if (!entry || (image !== undefined && !entry.backend.capabilities.vision)) return undefined;
    let params: GenParams;
    try {
      params = checkGenParams(mergeParams(entry.config.params, this.options.params, undefined), limitsOf(this.ctx.config));
    } catch {
      return undefined;
    }
    const historyVersion = this.history.version;
    let messages: ChatMessage[];
    if (image !== undefined) {
      const built = await this.vision.visionMessages(image, entry, t).catch(() => undefined);
      if (!built || signal.aborted) return undefined;
      messages = built;
    } else messages = this.history.messagesFor(this.options.systemPrompt, t);
    const stream = new BufferedStream<GenEvent>((sig) => entry.backend.generate({ messages, params, signal: sig }));
    this.ctx.metrics.speculationsTotal.inc({ outcome: 'started' });
    return { kind: 'answer', text: t, imageId: image, modelId: entry.config.id, historyVersion, stream, startedAt: performance.now() };
  }

  /** audio.start: check the format and open a voice stream (a previous one ends as on audio.end). */
  startAudio(msg: AudioStartMsg): void {
    const asr = this.ctx.asr;
    if (!asr) return this.sendError('AUDIO_ASR_UNAVAILABLE', 'voice input is not available: no speech recognition service is configured', { ref: 'audio.start' });
    try {
      checkFormat(msg.format);
    } catch (err) {
      if (err instanceof VlpError) return this.sendError(err.code, err.message, { ref: 'audio.start' });
      throw err;
    }
    this.endAudio();
    const a = this.ctx.config.audio;
    this.audioGuard ??= new RealtimeGuard({ factor: a.maxRealtimeFactor, burstMs: a.burstMs });
    const voice = new VoiceInput(this, msg, asr, this, this.voiceClosed, this.audioGuard);
    this.voice = voice;
    // Counted from audio.start until the stream has closed (after audio.end, once its final came).
    this.ctx.metrics.voiceStreamsActive.inc();
    voice.init().catch((err: unknown) => {
      this.ctx.log.error({ session: this.id, error: safeErrorFields(err) }, 'audio pipeline failure could not be handled');
    });
  }

  audioChunk(data: Uint8Array, arrivedAt: number): void {
    const voice = this.voice;
    if (!voice || voice.isClosed) return this.sendError('AUDIO_FORMAT_MISSING', 'send audio.start with the format before audio.chunk', { ref: 'audio.chunk' });
    voice.chunk(data, arrivedAt);
  }

  /** audio.end (or a new audio.start). A stream still waiting for its final transcript after
   *  this becomes the session's one ending stream; an earlier ending stream is closed then. */
  endAudio(): void {
    const voice = this.voice;
    if (!voice) return;
    this.voice = undefined;
    voice.end();
    if (voice.isClosed) return;
    const older = this.endingVoice;
    this.endingVoice = voice;
    if (older) {
      this.ctx.log.debug({ session: this.id }, 'voice stream closed before its final transcript: a newer stream ended');
      older.close();
    }
  }

  /** VoiceInput's onClosed: every stream leaves the session's accounting here, once. */
  private readonly voiceClosed = (voice: VoiceInput): void => {
    this.ctx.metrics.voiceStreamsActive.dec();
    if (this.voice === voice) this.voice = undefined;
    if (this.endingVoice === voice) this.endingVoice = undefined;
  };

  /** VoiceTurnStarter: a final transcript becomes a turn; a running turn is superseded. */
  startVoiceTurn(text: string, marks: VoiceTurnMarks, language?: string): string | undefined {
    const id = this.nextVoiceTurnId();
    this.send({ t: 'asr.final', text, turn: id, ...(language !== undefined ? { language } : {}) });
    // A spoken question about "this image" refers to the session's latest image.
    const image = this.vision.voiceImage(text);
    const msg: TurnStartMsg = { t: 'turn.start', id, text, ...(image !== undefined ? { image } : {}) };
    const waiting = this.waitingVoice;
    if (waiting) {
      // A newer utterance replaces one still waiting for the running turn to end: the waiting
      // turn never starts, and its client learns so.
      this.waitingVoice = { msg, marks };
      waiting.marks.speculation?.stream.abort();
      this.send({ t: 'turn.cancelled', turn: waiting.msg.id, reason: 'superseded' });
    } else if (this.turn) {
      this.waitingVoice = { msg, marks };
      this.cancelTurn(undefined, 'superseded');
      (this.turnDone ?? Promise.resolve())
        .then(() => {
          const next = this.waitingVoice;
          this.waitingVoice = undefined;
          if (next) this.startSpokenTurn(next.msg, next.marks);
        })
        .catch((err: unknown) => {
          this.ctx.log.error({ session: this.id, error: safeErrorFields(err) }, 'waiting voice turn could not be started');
        });
    } else {
      this.startSpokenTurn(msg, marks);
    }
    return id;
  }

  /** VoiceTurnStarter: a backchannel while the assistant speaks (ignore_backchannels), the
   *  assistant's own voice (echo_guard), or the user's words (speech-judge.ts). */
  judgeSpeech(transcript: string, tail?: number): SpeechVerdict {
    return judgeSpeech(this, transcript, tail);
  }

  /** VoiceTurnStarter: a final transcript that was echo or a backchannel: its voice turn is
   *  announced and cancelled at once (asr.final, then turn.cancelled with that reason), and nothing
   *  else changes. */
  dropSpokenTurn(text: string, reason: IgnoredSpeech, language?: string): void {
    const id = this.nextVoiceTurnId();
    this.rememberTurnId(id);
    this.send({ t: 'asr.final', text, turn: id, ...(language !== undefined ? { language } : {}) });
    this.send({ t: 'turn.cancelled', turn: id, reason });
  }

  private nextVoiceTurnId(): string {
    let id: string;
    do id = `v${++this.voiceTurns}`;
    while (this.seenTurnIds.has(id));
    return id;
  }

  /** VoiceTurnStarter: a turn runs. */
  get hasRunningTurn(): boolean {
    return this.turn !== undefined;
  }

  /** VoiceTurnStarter: the session holds an image a spoken turn can refer to. */
  get hasImage(): boolean {
    return this.vision.latestImageId !== undefined;
  }

  /** VoiceTurnStarter: the image a spoken segmentation would work on. */
  get latestImageId(): string | undefined {
    return this.vision.latestImageId;
  }

  private startSpokenTurn(msg: TurnStartMsg, marks: VoiceTurnMarks): void {
    if (this.state !== 'closed') this.startTurn(msg, marks);
    // Not started (closed, or refused): its speculative work is closed with it.
    if (this.turn?.id !== msg.id) marks.speculation?.stream.abort();
  }

  /** VoiceTurnStarter: the user spoke over a streaming answer; returns true when one was cancelled. */
  bargeIn(): boolean {
    return this.turn !== undefined && this.cancelTurn(undefined, 'barge_in');
  }

  /** image.put: check and store the image in the background; errors go to the client. */
  putImage(msg: ImagePutMsg): void {
    this.vision.putImage(msg);
  }

  /** watch.start: start (or replace) a watch on the session's frames. */
  startWatch(msg: WatchStartMsg): void {
    if (this.state === 'closed') return;
    (this.watches ??= new SessionWatches(this)).start(msg);
  }

  /** watch.stop. */
  stopWatch(msg: WatchStopMsg): void {
    if (!this.watches) return this.sendError('INPUT_WATCH_NOT_FOUND', 'watch.stop names no running watch', { ref: msg.t });
    this.watches.stop(msg);
  }

  /** WatchHost: the stored image now, without waiting for a pending check. */
  peekImage(imageId: string): StoredImage | undefined {
    return this.vision.peek(imageId);
  }

  /** WatchHost: a watch's ask becomes a vision turn about the frame, when no other turn runs. A
   *  turn that would be refused (the deployment has no vision model, say) is not announced: the
   *  refusal comes back for the watch to report. */
  startWatchTurn(text: string, imageId: string, announce: (turn: string) => void): 'busy' | VlpError | undefined {
    if (this.ending || this.turn || this.waitingVoice || this.state === 'closed') return 'busy';
    let id: string;
    do id = `w${++this.watchTurns}`;
    while (this.seenTurnIds.has(id));
    const msg: TurnStartMsg = { t: 'turn.start', id, text, image: imageId };
    const admitted = this.admitTurn(msg);
    if (admitted instanceof VlpError) return admitted;
    announce(id);
    this.startTurn(msg);
    return undefined;
  }

  /** The vision model's description of an image, when it has one yet (keyword preference). */
  imageDescription(imageId: string | undefined): string | undefined {
    return this.vision.imageDescription(imageId);
  }

  /** Cancel the running turn; returns false when `id` does not name it. */
  cancelTurn(id: string | undefined, reason: CancelReason): boolean {
    const run = this.turn;
    if (!run || (id !== undefined && id !== run.id)) return false;
    if (run.cancelReason === undefined) {
      run.cancelReason = reason;
      run.controller.abort();
    }
    return true;
  }

  /** playback.truncate: keep only the heard part of the latest answer in the dialogue history. */
  truncatePlayback(msg: PlaybackTruncateMsg): void {
    const ref = msg.t;
    if (this.turn?.id === msg.turn) return this.sendError('TURN_BUSY', `turn ${msg.turn} is still running; truncate it after its gen.done or turn.cancelled`, { turn: msg.turn, ref });
    const last = this.lastAnswer;
    if (last?.turn !== msg.turn) return this.sendError('TURN_NOT_FOUND', 'playback.truncate names a turn that is not the latest answer', { turn: msg.turn, ref });
    truncateHeard(this.history, last, msg);
  }

  /** No turn starts from now on (the session is about to end): a waiting spoken turn is dropped
   *  and turn.start is refused. */
  beginEnding(): void {
    this.ending = true;
    const waiting = this.waitingVoice;
    this.waitingVoice = undefined;
    waiting?.marks.speculation?.stream.abort();
  }

  close(reason: CancelReason): void {
    if (this.state === 'closed') return;
    this.lifetime.abort();
    this.watches?.close();
    this.cancelTurn(undefined, reason);
    this.voice?.close();
    this.endingVoice?.close();
    this.state = 'closed';
    this.host.onClosed(this, reason);
  }

  private rememberTurnId(id: string): void {
    this.seenTurnIds.add(id);
    if (this.seenTurnIds.size > MAX_REMEMBERED_TURN_IDS) {
      const oldest = this.seenTurnIds.values().next().value;
      if (oldest !== undefined) this.seenTurnIds.delete(oldest);
    }
  }
}
