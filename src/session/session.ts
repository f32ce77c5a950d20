// One user session: options, dialogue history, the running turn and the outbox. Outlives its
// connection for resume_window_ms so a client can reconnect and replay what it missed.
import type { ClientMessage, ServerPayload, TurnStartMsg, CancelReason } from '../../protocol/messages.ts';
export type { TurnKind };
import { VlpError, type ErrorCode, ERRORS } from '../../protocol/errors.ts';
import type { GatewayContext } from './context.ts';
import { Outbox, type OutboxSink } from './outbox.ts';
import { DialogueHistory } from './history.ts';
import { applyOptions, defaultOptions, limitsOf, type ResolvedOptions } from './options.ts';
import { newResumeToken, newSessionId } from './ids.ts';
import { checkGenParams, mergeParams } from '../backends/params.ts';
import { runTextTurn, type TurnRun } from './turn.ts';
import { reportTurnFailure } from './turn-failure.ts';
import { BufferedStream, committedGenerator, committedSegmenter, normalizeTranscript, samePhrases, type Speculation } from './speculation.ts';
import type { GenEvent } from '../backends/ports.ts';
import type { SegmentEvent } from '../backends/segmenter-port.ts';
import type { IntentResult } from '../understanding/classifier-port.ts';
import { planSteps, planStepMessage, withPlan } from '../planning/index.ts';
import { SessionImages } from './images.ts';
import type { GenParams, ImagePutMsg, TurnKind } from '../../protocol/messages.ts';
import type { ModelEntry } from '../models.ts';
import type { ChatMessage } from '../backends/ports.ts';
import type { StoredImage } from '../images/types.ts';
import { runSegmentTurn } from './segment-turn.ts';
import { fitForSegmenter, withFittedImage } from './image-prep.ts';
import { extractKeywords } from '../understanding/keywords.ts';
import { LABEL_INFO, unsupportedCode, type IntentLabel } from '../understanding/labels.ts';
import type { AudioStartMsg } from '../../protocol/messages.ts';
import { checkFormat } from '../audio/formats.ts';
import { VoiceInput, type VoiceTurnMarks, type VoiceTurnStarter } from './voice.ts';

/** Intents served by the segmenter. */
const SEGMENT_LABELS: ReadonlySet<IntentLabel> = new Set<IntentLabel>(['detect', 'segment', 'mask']);
/** Score at which an intent the turn cannot serve is refused rather than answered by the model
 *  (the seed's 0.65 threshold). */
const STRONG_INTENT = 0.65;
/** Score of a segment/mask intent on a text-only turn that is answered INPUT_SEGMENT_NO_IMAGE. */
const NO_IMAGE_SEGMENT_SCORE = 0.35;

const MAX_REMEMBERED_TURN_IDS = 256;
/** What the vision model is asked about every image (its answer ranks detection keywords). */
const DESCRIBE_PROMPT = 'Describe this image in one short sentence, naming the main objects you can see.';

function preferOf(description: string | undefined): { prefer?: string } {
  return description === undefined ? {} : { prefer: description };
}

export type SessionState = 'active' | 'detached' | 'closed';

export interface SessionHost {
  /** Called when the outbox overflows (slow consumer) so the connection can be closed. */
  onSlowConsumer(session: Session): void;
  /** Called once when the session ends. */
  onClosed(session: Session): void;
}


export class Session implements VoiceTurnStarter {
  readonly id = newSessionId();
  readonly resumeToken = newResumeToken();
  readonly outbox: Outbox;
  readonly history: DialogueHistory;
  state: SessionState = 'active';
  options: ResolvedOptions;
  turn: TurnRun | undefined;
  /** performance.now() of the last client message, or of the detach. */
  lastActivity = performance.now();
  /** The turn promise of the running turn, for shutdown waits and tests. */
  turnDone: Promise<void> | undefined;
  private readonly seenTurnIds = new Set<string>();
  /** Turns started in this session (speculations check none ran in between). */
  private turnsStarted = 0;
  /** Created on the first image.put, so sessions without images carry no image state. */
  private imageState: SessionImages | undefined;
  /** The image of the latest image.put or image turn: follow-up segmentation turns use it. */
  private lastImageId: string | undefined;
  /** The open audio stream (audio.start .. audio.end), if any. */
  private voice: VoiceInput | undefined;
  private voiceTurns = 0;
  /** Aborted when the session closes: background work (image descriptions) stops with it. */
  private readonly lifetime = new AbortController();
  /** A voice turn waiting for the turn it superseded to end (at most one: newer ones replace it). */
  private waitingVoice: { msg: TurnStartMsg; marks: VoiceTurnMarks } | undefined;

  constructor(readonly ctx: GatewayContext, private readonly host: SessionHost) {
    const { limits } = ctx.config;
    this.outbox = new Outbox({
      maxFrames: limits.outboxMaxFrames,
      replayFrames: limits.replayFrames,
      replayBytes: limits.replayBytes,
      onOverflow: () => host.onSlowConsumer(this),
    });
    this.history = new DialogueHistory(limits.historyChars);
    this.options = defaultOptions(ctx.config);
  }

  attach(sink: OutboxSink): void {
    this.state = 'active';
    this.lastActivity = performance.now();
    this.outbox.attach(sink);
  }

  detach(): void {
    if (this.state !== 'active') return;
    // Audio belongs to the connection: a resumed client starts a new stream with audio.start.
    if (this.voice) {
      this.ctx.metrics.voiceStreamsActive.dec();
      this.voice.close();
      this.voice = undefined;
    }
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

  updateOptions(o: NonNullable<Extract<ClientMessage, { t: 'session.update' }>['options']>): void {
    this.options = applyOptions(this.options, o, this.ctx.config, (id) => this.ctx.models.get(id) !== undefined);
  }

  startTurn(msg: TurnStartMsg, voice?: VoiceTurnMarks): void {
    const ref = 'turn.start';
    if (this.turn) return this.sendError('TURN_BUSY', `turn ${this.turn.id} is still running; cancel it or wait for its end`, { turn: msg.id, ref });
    if (this.seenTurnIds.has(msg.id)) return this.sendError('TURN_ID_REUSED', 'turn.start.id was already used in this session', { turn: msg.id, ref });
    const text = msg.text.trim();
    if (text.length === 0) return this.sendError('INPUT_TEXT_EMPTY', 'turn.start.text is empty', { turn: msg.id, ref });
    const vision = msg.image !== undefined;
    const modelId = msg.model ?? (vision ? this.ctx.config.defaultVisionModel : this.options.model);
    const entry = this.ctx.models.get(modelId);
    if (!entry) return this.sendError('INPUT_MODEL_UNKNOWN', 'turn.start.model is not a configured model (see ready.models)', { turn: msg.id, ref });
    if (vision && !entry.backend.capabilities.vision) {
      return this.sendError('INPUT_MODEL_NOT_VISION', `model ${entry.config.id} is text-only; send image turns to a vlm model`, { turn: msg.id, ref });
    }
    const params = this.paramsFor(entry, msg, ref);
    if (!params) return;
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
    const work = this.routeTurn(run, msg, entry, params, text, voice?.speculation).catch((err: unknown) => {
      reportTurnFailure(this, run, err);
    });
    this.turnDone = work.finally(() => {
      if (this.turn === run) this.turn = undefined;
    });
  }

  /** Range-checked parameters of a turn on `entry`, or undefined after sending the error. */
  private paramsFor(entry: ModelEntry, msg: TurnStartMsg, ref: string): GenParams | undefined {
    try {
      return checkGenParams(mergeParams(entry.config.params, this.options.params, msg.params), limitsOf(this.ctx.config));
    } catch (err) {
      if (err instanceof VlpError) {
        this.sendError(err.code, err.message, { turn: msg.id, ref });
        return undefined;
      }
      throw err;
    }
  }

  /** The configured classifier; a served one that fails or times out falls back to the built-in rules. */
  private async classify(text: string, hasImage: boolean, signal: AbortSignal): Promise<IntentResult> {
    const r = this.ctx.intent.classify(text, { hasImage, signal });
    if (!('then' in r)) return r;
    try {
      return await r;
    } catch (err) {
      if (signal.aborted) throw err;
      this.ctx.metrics.errorsTotal.inc({ code: 'INTENT_FALLBACK' });
      this.ctx.log.warn({ session: this.id, classifier: this.ctx.intent.id, code: err instanceof VlpError ? err.code : 'unexpected' }, 'intent classifier failed; using the built-in rules');
      const fallback = this.ctx.fastIntent.classify(text, { hasImage });
      return 'then' in fallback ? { labels: [] } : fallback;
    }
  }

  /** Decides what the turn does (intent), then runs it. Errors before turn.started end it too. */
  private async routeTurn(run: TurnRun, msg: TurnStartMsg, entry: ModelEntry, params: GenParams, text: string, spec: Speculation | undefined): Promise<void> {
    const ref = 'turn.start';
    const turn = run.id;
    const counts = run.spec ?? { committed: 0, discarded: 0 };
    run.spec = counts;
    const discard = (): void => {
      if (!spec) return;
      spec.stream.abort();
      counts.discarded++;
      this.ctx.metrics.speculationsTotal.inc({ outcome: 'discarded' });
      spec = undefined;
    };
    try {
      let image = msg.image;
      const intent = await this.classify(text, image !== undefined || this.lastImageId !== undefined, run.controller.signal);
      if (run.controller.signal.aborted) {
        this.send({ t: 'turn.cancelled', turn, reason: run.cancelReason ?? 'client' });
        return;
      }
      const top = intent.labels[0];
      const wantsMasks = top !== undefined && SEGMENT_LABELS.has(top.label) && top.score >= this.ctx.config.segmenter.minIntentScore;
      // A follow-up such as "now segment the cat" works on the session's most recent image.
      if (image === undefined && wantsMasks && this.lastImageId !== undefined && msg.model === undefined) {
        image = this.lastImageId;
        const visionEntry = this.ctx.models.get(this.ctx.config.defaultVisionModel);
        if (visionEntry) {
          entry = visionEntry;
          const p = this.paramsFor(entry, msg, ref);
          if (!p) return;
          params = p;
        }
      }
      const vision = image !== undefined;
      // Without an image the classifier already down-weights vision intents: segmentation or mask
      // creation still on top is a clear request that needs an image. (Detect-style phrasings such
      // as "find", "count" or "where is" stay dialogue: they are common in plain chat.)
      if (!vision && top !== undefined && (top.label === 'segment' || top.label === 'mask') && top.score >= NO_IMAGE_SEGMENT_SCORE) {
        return this.sendError('INPUT_SEGMENT_NO_IMAGE', 'detection and segmentation need an image: send it with image.put and name it in turn.start.image', { turn, ref });
      }
      let keywords: string[] = [];
      if (vision && top !== undefined) {
        keywords = extractKeywords(text, { max: 3, ...preferOf(this.imageDescription(image)) });
        this.send({ t: 'intent.update', turn, labels: intent.labels.slice(0, 3), stable: true, keywords });
        const unsupported = unsupportedCode(top.label);
        if (unsupported !== null && top.score >= STRONG_INTENT) {
          return this.sendError(unsupported, `${top.label.replace(/_/g, '-')} is not served by this fleet (it serves dialogue, image questions, detection and segmentation)`, { turn, ref });
        }
        if (wantsMasks && !this.ctx.segmenter) {
          return this.sendError('INPUT_INTENT_UNSUPPORTED', 'detection and segmentation are not available: no segmentation service is configured', { turn, ref });
        }
      }
      if (image !== undefined) this.lastImageId = image;
      const segmenter = this.ctx.segmenter;
      if (vision && wantsMasks && segmenter) {
        const imageId = image as string;
        const found = await this.imageFor(run, imageId);
        if (!found) return discard();
        const stored = await fitForSegmenter(found, this.ctx.config.segmenter.requestLimitBytes);
        let seg = segmenter;
        if (spec?.kind === 'segment' && spec.imageId === imageId && samePhrases(spec.phrases, keywords) && !spec.stream.failed) {
          seg = committedSegmenter(segmenter, spec.stream);
          counts.committed++;
          this.ctx.metrics.speculationsTotal.inc({ outcome: 'committed' });
          spec = undefined;
        } else discard();
        return await runSegmentTurn(this, run, seg, { imageId, image: stored, phrases: keywords, userText: text });
      }
      const kind: TurnKind = vision ? 'vqa' : 'chat';
      if (
        spec?.kind === 'answer' &&
        spec.modelId === entry.config.id &&
        spec.imageId === image &&
        spec.historySize === this.history.size &&
        normalizeTranscript(spec.text) === normalizeTranscript(text) &&
        !spec.stream.failed &&
        !this.options.plan
      ) {
        const committed: ModelEntry = { config: entry.config, backend: committedGenerator(entry.backend, spec.stream) };
        counts.committed++;
        this.ctx.metrics.speculationsTotal.inc({ outcome: 'committed' });
        spec = undefined;
        // The request was built from the same transcript, image and history: its messages are what
        // these would be; the committed backend replays its answer.
        return await runTextTurn(this, run, committed, [{ role: 'user', content: text }], params, text, kind);
      }
      discard();
      const messages = vision ? await this.prepareVision(run, image as string, entry, text) : this.history.messagesFor(this.options.systemPrompt, text);
      if (!messages) return;
      const prepare = this.options.plan ? () => this.planInto(run, messages, vision) : undefined;
      return await runTextTurn(this, run, entry, messages, params, text, kind, prepare);
    } finally {
      discard();
    }
  }

  /** Chain-of-thought planning (options.plan): plan.step frames, then the plan joins the question. */
  private async planInto(run: TurnRun, messages: ChatMessage[], hasImage: boolean): Promise<void> {
    const planner = this.ctx.models.get(this.ctx.config.defaultModel);
    const last = messages[messages.length - 1];
    if (!planner || !last) return;
    const stream = planSteps(planner.backend, last.content, { signal: run.controller.signal, hasImage });
    for await (const step of stream) this.send(planStepMessage(run.id, step));
    const plan = await stream.result;
    last.content = withPlan(last.content, plan.text);
  }

  /** Speculative segmentation while the user speaks (options.speculate): the VoiceInput calls it
   *  when the partial transcript's intent is stable and confident. Returns false when it does not apply. */
  speculateSegment(phrases: string[]): Speculation | undefined {
    const seg = this.ctx.segmenter;
    const imageId = this.lastImageId;
    if (!seg || imageId === undefined || phrases.length === 0) return undefined;
    const img = this.imageState?.peek(imageId);
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
    const image = this.voiceImage(t);
    const entry = this.ctx.models.get(image !== undefined ? this.ctx.config.defaultVisionModel : this.options.model);
    if (!entry || (image !== undefined && !entry.backend.capabilities.vision)) return undefined;
    let params: GenParams;
    try {
      params = checkGenParams(mergeParams(entry.config.params, this.options.params, undefined), limitsOf(this.ctx.config));
    } catch {
      return undefined;
    }
    const historySize = this.history.size;
    let messages: ChatMessage[];
    if (image !== undefined) {
      const built = await this.visionMessages(image, entry, t).catch(() => undefined);
      if (!built || signal.aborted) return undefined;
      messages = built;
    } else messages = this.history.messagesFor(this.options.systemPrompt, t);
    const stream = new BufferedStream<GenEvent>((sig) => entry.backend.generate({ messages, params, signal: sig }));
    this.ctx.metrics.speculationsTotal.inc({ outcome: 'started' });
    return { kind: 'answer', text: t, imageId: image, modelId: entry.config.id, historySize, stream, startedAt: performance.now() };
  }

  /** The image a spoken turn refers to: the session's latest, when the text asks about an image. */
  private voiceImage(text: string): string | undefined {
    if (this.lastImageId === undefined) return undefined;
    const intent = this.ctx.fastIntent.classify(text, { hasImage: true });
    const top = 'then' in intent ? undefined : intent.labels[0];
    return top !== undefined && LABEL_INFO[top.label].needsImage && !SEGMENT_LABELS.has(top.label) ? this.lastImageId : undefined;
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
    const voice = new VoiceInput(this, msg, asr, this);
    this.voice = voice;
    this.ctx.metrics.voiceStreamsActive.inc();
    void voice.init();
  }

  audioChunk(data: Uint8Array, arrivedAt: number): void {
    const voice = this.voice;
    if (!voice || voice.isClosed) return this.sendError('AUDIO_FORMAT_MISSING', 'send audio.start with the format before audio.chunk', { ref: 'audio.chunk' });
    voice.chunk(data, arrivedAt);
  }

  /** audio.end (or a new audio.start, or the session closing). */
  endAudio(): void {
    const voice = this.voice;
    if (!voice) return;
    this.voice = undefined;
    this.ctx.metrics.voiceStreamsActive.dec();
    voice.end();
  }

  /** VoiceTurnStarter: a final transcript becomes a turn; a running turn is superseded. */
  startVoiceTurn(text: string, marks: VoiceTurnMarks, language?: string): string | undefined {
    let id: string;
    do id = `v${++this.voiceTurns}`;
    while (this.seenTurnIds.has(id));
    this.send({ t: 'asr.final', text, turn: id, ...(language !== undefined ? { language } : {}) });
    // A spoken question about "this image" refers to the session's latest image.
    const image = this.voiceImage(text);
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
      void (this.turnDone ?? Promise.resolve()).then(() => {
        const next = this.waitingVoice;
        this.waitingVoice = undefined;
        if (next) this.startSpokenTurn(next.msg, next.marks);
      });
    } else {
      this.startSpokenTurn(msg, marks);
    }
    return id;
  }

  /** VoiceTurnStarter: the session holds an image a spoken turn can refer to. */
  get hasImage(): boolean {
    return this.lastImageId !== undefined;
  }

  /** VoiceTurnStarter: the image a spoken segmentation would work on. */
  get latestImageId(): string | undefined {
    return this.lastImageId;
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
    this.imageState ??= new SessionImages(this.ctx.config);
    this.lastImageId = msg.id;
    this.imageState.put(msg).then(() => this.describeImage(msg.id), (err: unknown) => {
      if (err instanceof VlpError) this.sendError(err.code, `image ${msg.id}: ${err.message}`, { ref: 'image.put' });
      else {
        this.ctx.log.error({ session: this.id, err }, 'image check failed unexpectedly');
        this.sendError('SERVER_INTERNAL', `image ${msg.id}: unexpected gateway fault`, { ref: 'image.put' });
      }
    });
  }

  /** The vision model's description of an image, when it has one yet (keyword preference). */
  imageDescription(imageId: string | undefined): string | undefined {
    return imageId === undefined ? undefined : this.imageState?.description(imageId);
  }

  /** The seed pipeline's VLM step, off the critical path: once per image, in the background, a
   *  one-sentence description; detection keywords the description also names rank first. Failures
   *  only mean no preference. Bounded: one request per image.put, aborted when the session ends. */
  private async describeImage(imageId: string): Promise<void> {
    const { config, models, log } = this.ctx;
    const entry = models.get(config.defaultVisionModel);
    if (!config.images.describe || !entry || !entry.backend.capabilities.vision || this.state === 'closed') return;
    const img = this.imageState?.peek(imageId);
    if (!img) return;
    try {
      // The image and the request only: no system prompt, no dialogue.
      const messages = await withFittedImage([{ role: 'user', content: DESCRIBE_PROMPT }], img, entry);
      let text = '';
      for await (const ev of entry.backend.generate({ messages, params: { max_new_tokens: 48, do_sample: false }, signal: this.lifetime.signal })) {
        if (ev.kind === 'done') text = ev.generatedText;
      }
      this.imageState?.setDescription(imageId, text);
    } catch (err) {
      if (!this.lifetime.signal.aborted) log.debug({ session: this.id, code: err instanceof VlpError ? err.code : 'unexpected' }, 'image description failed');
    }
  }

  /** The turn's stored image, or undefined after sending the error that ends the turn. */
  private async imageFor(run: TurnRun, imageId: string): Promise<StoredImage | undefined> {
    const ref = 'turn.start';
    const img = await this.imageState?.get(imageId);
    if (img) return img;
    const failed = this.imageState?.failure(imageId);
    if (failed) this.sendError(failed.code, `image ${imageId} was rejected: ${failed.message}`, { turn: run.id, ref });
    else this.sendError('INPUT_IMAGE_NOT_FOUND', `no image "${imageId}" in this session (send image.put first; it may have been rejected or evicted)`, { turn: run.id, ref });
    return undefined;
  }

  /** The turn's messages with its image fitted into the backend's request limit. Throws VlpError. */
  private async visionMessages(imageId: string, entry: ModelEntry, text: string, img?: StoredImage): Promise<ChatMessage[]> {
    const stored = img ?? this.imageState?.peek(imageId);
    if (!stored) throw new VlpError('INPUT_IMAGE_NOT_FOUND', `no image "${imageId}" in this session`);
    return withFittedImage(this.history.messagesFor(this.options.systemPrompt, text), stored, entry);
  }

  /** Resolve the turn's image, fit it into the backend's request limit, build the messages.
   *  Returns undefined when the turn already ended (error sent or cancelled). */
  private async prepareVision(run: TurnRun, imageId: string, entry: ModelEntry, text: string): Promise<ChatMessage[] | undefined> {
    const turn = run.id;
    const ref = 'turn.start';
    try {
      const img = await this.imageFor(run, imageId);
      if (!img) return undefined;
      const messages = await this.visionMessages(imageId, entry, text, img);
      if (run.controller.signal.aborted) {
        this.send({ t: 'turn.cancelled', turn, reason: run.cancelReason ?? 'client' });
        return undefined;
      }
      return messages;
    } catch (err) {
      if (err instanceof VlpError) this.sendError(err.code, err.message, { turn, ref });
      else {
        this.ctx.log.error({ session: this.id, turn, err }, 'image preparation failed');
        this.sendError('SERVER_INTERNAL', 'unexpected gateway fault while preparing the image', { turn, ref });
      }
      return undefined;
    }
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

  close(reason: CancelReason): void {
    if (this.state === 'closed') return;
    this.lifetime.abort();
    this.cancelTurn(undefined, reason);
    if (this.voice) {
      this.ctx.metrics.voiceStreamsActive.dec();
      this.voice.close();
      this.voice = undefined;
    }
    this.state = 'closed';
    this.host.onClosed(this);
  }

  private rememberTurnId(id: string): void {
    this.seenTurnIds.add(id);
    if (this.seenTurnIds.size > MAX_REMEMBERED_TURN_IDS) {
      const oldest = this.seenTurnIds.values().next().value;
      if (oldest !== undefined) this.seenTurnIds.delete(oldest);
    }
  }
}
