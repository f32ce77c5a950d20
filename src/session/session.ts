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
import { SessionImages } from './images.ts';
import type { ImagePutMsg, TurnKind } from '../../protocol/messages.ts';
import type { ModelEntry } from '../models.ts';
import type { ChatMessage } from '../backends/ports.ts';
import { fitImage, dataUri, base64Budget } from '../images/fit.ts';
import { DEFAULT_VLM_MAX_SIDE } from '../images/defaults.ts';
import type { StoredImage } from '../images/types.ts';
import { runSegmentTurn } from './segment-turn.ts';
import { extractKeywords } from '../understanding/keywords.ts';
import { LABEL_INFO, unsupportedCode, type IntentLabel } from '../understanding/labels.ts';
import type { AudioStartMsg } from '../../protocol/messages.ts';
import { checkFormat } from '../audio/formats.ts';
import { VoiceInput, type VoiceTurnStarter } from './voice.ts';

/** Intents served by the segmenter. */
const SEGMENT_LABELS: ReadonlySet<IntentLabel> = new Set<IntentLabel>(['detect', 'segment', 'mask']);
/** Score at which an intent the turn cannot serve is refused rather than answered by the model
 *  (the seed's 0.65 threshold). */
const STRONG_INTENT = 0.65;
/** Score of a segment/mask intent on a text-only turn that is answered INPUT_SEGMENT_NO_IMAGE. */
const NO_IMAGE_SEGMENT_SCORE = 0.35;

const MAX_REMEMBERED_TURN_IDS = 256;

export type SessionState = 'active' | 'detached' | 'closed';

export interface SessionHost {
  /** Called when the outbox overflows (slow consumer) so the connection can be closed. */
  onSlowConsumer(session: Session): void;
  /** Called once when the session ends. */
  onClosed(session: Session): void;
}

/** Marks of a voice turn: end of speech and final transcript, performance.now() values. */
export interface VoiceTurnMarks {
  speechEndAt: number;
  asrFinalAt: number;
  /** When the utterance's intent became stable on partial transcripts. */
  intentStableAt?: number;
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
  /** Created on the first image.put, so sessions without images carry no image state. */
  private imageState: SessionImages | undefined;
  /** The image of the latest image.put or image turn: follow-up segmentation turns use it. */
  private lastImageId: string | undefined;
  /** The open audio stream (audio.start .. audio.end), if any. */
  private voice: VoiceInput | undefined;
  private voiceTurns = 0;

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
    let params;
    try {
      params = checkGenParams(mergeParams(entry.config.params, this.options.params, msg.params), limitsOf(this.ctx.config));
    } catch (err) {
      if (err instanceof VlpError) return this.sendError(err.code, err.message, { turn: msg.id, ref });
      throw err;
    }
    // Intent decides between a detection/segmentation turn, an answer the fleet cannot give, and
    // a generation turn. (The built-in classifier is synchronous; an async one routes nothing yet.)
    const intent = this.ctx.intent.classify(text, { hasImage: vision || this.lastImageId !== undefined });
    const top = 'then' in intent ? undefined : intent.labels[0];
    const wantsMasks = top !== undefined && SEGMENT_LABELS.has(top.label) && top.score >= this.ctx.config.segmenter.minIntentScore;
    // A follow-up such as "now segment the cat" works on the session's most recent image.
    if (!vision && wantsMasks && this.lastImageId !== undefined && msg.model === undefined) {
      return this.startTurn({ ...msg, image: this.lastImageId }, voice);
    }
    // Without an image the classifier already down-weights vision intents: segmentation or mask
    // creation still on top is a clear request that needs an image. (Detect-style phrasings such
    // as "find", "count" or "where is" stay dialogue: they are common in plain chat.)
    if (!vision && top !== undefined && (top.label === 'segment' || top.label === 'mask') && top.score >= NO_IMAGE_SEGMENT_SCORE) {
      return this.sendError('INPUT_SEGMENT_NO_IMAGE', 'detection and segmentation need an image: send it with image.put and name it in turn.start.image', { turn: msg.id, ref });
    }
    let keywords: string[] = [];
    if (vision && top !== undefined && !('then' in intent)) {
      keywords = extractKeywords(text, { max: 3 });
      this.send({ t: 'intent.update', turn: msg.id, labels: intent.labels.slice(0, 3), stable: true, keywords });
      const unsupported = unsupportedCode(top.label);
      if (unsupported !== null && top.score >= STRONG_INTENT) {
        return this.sendError(unsupported, `${top.label.replace(/_/g, '-')} is not served by this fleet (it serves dialogue, image questions, detection and segmentation)`, { turn: msg.id, ref });
      }
      if (wantsMasks && !this.ctx.segmenter) {
        return this.sendError('INPUT_INTENT_UNSUPPORTED', 'detection and segmentation are not available: no segmentation service is configured', { turn: msg.id, ref });
      }
    }
    this.rememberTurnId(msg.id);
    if (msg.image !== undefined) this.lastImageId = msg.image;
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
    const segmenter = this.ctx.segmenter;
    const work = vision && wantsMasks && segmenter
      ? this.imageFor(run, msg.image as string).then((image) =>
          image ? runSegmentTurn(this, run, segmenter, { imageId: msg.image as string, image, phrases: keywords, userText: text }) : undefined,
        )
      : vision
      ? this.prepareVision(run, msg.image as string, entry, text).then((messages) => (messages ? runTextTurn(this, run, entry, messages, params, text, 'vqa') : undefined))
      : runTextTurn(this, run, entry, this.history.messagesFor(this.options.systemPrompt, text), params, text, 'chat');
    this.turnDone = work.finally(() => {
      if (this.turn === run) this.turn = undefined;
    });
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
    let image: string | undefined;
    if (this.lastImageId !== undefined) {
      const intent = this.ctx.intent.classify(text, { hasImage: true });
      const top = 'then' in intent ? undefined : intent.labels[0];
      if (top !== undefined && LABEL_INFO[top.label].needsImage && !SEGMENT_LABELS.has(top.label)) image = this.lastImageId;
    }
    const msg: TurnStartMsg = { t: 'turn.start', id, text, ...(image !== undefined ? { image } : {}) };
    const running = this.turn;
    if (running) {
      this.cancelTurn(undefined, 'superseded');
      void (this.turnDone ?? Promise.resolve()).then(() => {
        if (this.state !== 'closed') this.startTurn(msg, marks);
      });
    } else {
      this.startTurn(msg, marks);
    }
    return id;
  }

  /** VoiceTurnStarter: the session holds an image a spoken turn can refer to. */
  get hasImage(): boolean {
    return this.lastImageId !== undefined;
  }

  /** VoiceTurnStarter: the user spoke over a streaming answer; returns true when one was cancelled. */
  bargeIn(): boolean {
    return this.turn !== undefined && this.cancelTurn(undefined, 'barge_in');
  }

  /** image.put: check and store the image in the background; errors go to the client. */
  putImage(msg: ImagePutMsg): void {
    this.imageState ??= new SessionImages(this.ctx.config);
    this.lastImageId = msg.id;
    this.imageState.put(msg).catch((err: unknown) => {
      if (err instanceof VlpError) this.sendError(err.code, `image ${msg.id}: ${err.message}`, { ref: 'image.put' });
      else {
        this.ctx.log.error({ session: this.id, err }, 'image check failed unexpectedly');
        this.sendError('SERVER_INTERNAL', `image ${msg.id}: unexpected gateway fault`, { ref: 'image.put' });
      }
    });
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

  /** Resolve the turn's image, fit it into the backend's request limit, build the messages.
   *  Returns undefined when the turn already ended (error sent or cancelled). */
  private async prepareVision(run: TurnRun, imageId: string, entry: ModelEntry, text: string): Promise<ChatMessage[] | undefined> {
    const turn = run.id;
    const ref = 'turn.start';
    try {
      const img = await this.imageFor(run, imageId);
      if (!img) return undefined;
      const messages = this.history.messagesFor(this.options.systemPrompt, text);
      // Prompt bytes: the text of every message plus few-shot examples and JSON overhead.
      const promptBytes = messages.reduce((n, m) => n + Buffer.byteLength(m.content) + 16, 0) + JSON.stringify(entry.config.fewShot).length + 1024;
      const budget = base64Budget(entry.config.requestLimitBytes, promptBytes);
      const fitted = await fitImage(img.bytes, img, { maxBytes: budget, maxSide: DEFAULT_VLM_MAX_SIDE });
      if (run.controller.signal.aborted) {
        this.send({ t: 'turn.cancelled', turn, reason: run.cancelReason ?? 'client' });
        return undefined;
      }
      const last = messages[messages.length - 1] as ChatMessage;
      last.images = [dataUri(fitted.bytes, fitted.mime)];
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
