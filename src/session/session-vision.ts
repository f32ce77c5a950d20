// A session's images as turns see them: image.put storage and checks, the vision model's
// background description of each image, the session's latest image (follow-up turns), and the
// messages of an image turn with its image fitted into the backend's request limit.
import { VlpError } from '../../protocol/errors.ts';
import type { ImagePutMsg } from '../../protocol/messages.ts';
import type { ChatMessage } from '../backends/ports.ts';
import type { StoredImage } from '../images/types.ts';
import type { ModelEntry } from '../models.ts';
import { safeErrorFields } from '../observability/fatal.ts';
import { LABEL_INFO } from '../understanding/labels.ts';
import { withFittedImage } from './image-prep.ts';
import { SessionImages } from './images.ts';
import type { Session } from './session.ts';
import { SEGMENT_LABELS } from './turn-router.ts';
import type { TurnRun } from './turn.ts';

/** What the vision model is asked about every image (its answer ranks detection keywords). */
const DESCRIBE_PROMPT = 'Describe this image in one short sentence, naming the main objects you can see.';
/** The description's max_new_tokens (one short sentence). */
const DESCRIBE_MAX_TOKENS = 48;

function preferOf(description: string | undefined): { prefer?: string } {
  return description === undefined ? {} : { prefer: description };
}

/** What the image handling uses of its session (read when used: options and state change). */
export type VisionHost = Pick<Session, 'id' | 'ctx' | 'state' | 'history' | 'options' | 'send' | 'sendError'>;

export class SessionVision {
  /** Created on the first image.put, so sessions without images carry no image state. */
  private imageState: SessionImages | undefined;
  /** The image of the latest image.put or image turn: follow-up segmentation turns use it. */
  private lastImageId: string | undefined;
  /** The id of the latest image.put admitted: only its image is described. */
  private newestPutId: string | undefined;
  /** The image description in flight, if any (at most one per session: a newer one aborts it). */
  private describing: AbortController | undefined;

  /** `lifetime` is aborted when the session closes: image descriptions stop with it. `onStored`
   *  gets the id of each newest image once its check has stored it (the session's watches); it
   *  returns true when the image is a watched camera frame, which is not described (a camera
   *  sends one a second: each would start a vision-model request and abort the previous one). */
  constructor(
    private readonly s: VisionHost,
    private readonly lifetime: AbortSignal,
    private readonly onStored: (imageId: string) => boolean = () => false,
  ) {}

  /** The image of the latest image.put or image turn, if any. */
  get latestImageId(): string | undefined {
    return this.lastImageId;
  }

  /** An image turn ran on `imageId`: follow-up turns refer to it. */
  setLatest(imageId: string): void {
    this.lastImageId = imageId;
  }

  /** The stored image now, without waiting for a pending check (speculative work). */
  peek(imageId: string): StoredImage | undefined {
    return this.imageState?.peek(imageId);
  }

  /** image.put: check and store the image in the background; errors go to the client. A put
   *  beyond the session's checks in flight is refused (PROTO_RATE_LIMITED) and changes nothing. */
  putImage(msg: ImagePutMsg): void {
    const images = (this.imageState ??= new SessionImages(this.s.ctx.config, this.lifetime));
    const refused = images.refusal(msg.id);
    if (refused) {
      this.s.sendError(refused.code, `image ${msg.id}: ${refused.message}`, { ref: 'image.put' });
      return;
    }
    this.lastImageId = msg.id;
    this.newestPutId = msg.id;
    images.put(msg).then((outcome) => {
      // Only the newest image is described and watched: an image another put overtook is not.
      if (outcome !== 'stored' || this.newestPutId !== msg.id) return;
      if (this.onStored(msg.id)) return;
      return this.describeImage(msg.id);
    }, (err: unknown) => {
      if (err instanceof VlpError) this.s.sendError(err.code, `image ${msg.id}: ${err.message}`, { ref: 'image.put' });
      else {
        this.s.ctx.log.error({ session: this.s.id, error: safeErrorFields(err) }, 'image check failed unexpectedly');
        this.s.sendError('SERVER_INTERNAL', `image ${msg.id}: unexpected gateway fault`, { ref: 'image.put' });
      }
    });
  }

  /** The vision model's description of an image, when it has one yet (keyword preference). */
  imageDescription(imageId: string | undefined): string | undefined {
    return imageId === undefined ? undefined : this.imageState?.description(imageId);
  }

  /** extractKeywords options of a turn on `imageId`: its description, if any, ranks keywords. */
  keywordPreference(imageId: string | undefined): { prefer?: string } {
    return preferOf(this.imageDescription(imageId));
  }

  /** The seed pipeline's VLM step, off the critical path: in the background, a one-sentence
   *  description of the session's newest image; detection keywords the description also names rank
   *  first. Failures only mean no preference. Bounded: at most one request per session, for the
   *  newest image (a newer image's description aborts an older one in flight), aborted when the
   *  session ends. */
  private async describeImage(imageId: string): Promise<void> {
    const { config, models, log } = this.s.ctx;
    const entry = models.get(config.defaultVisionModel);
    if (!config.images.describe || !entry || !entry.backend.capabilities.vision || this.s.state === 'closed' || this.lifetime.aborted) return;
    const img = this.imageState?.peek(imageId);
    if (!img) return;
    this.describing?.abort();
    const controller = new AbortController();
    this.describing = controller;
    const { signal } = controller;
    // The session's signal gets one listener per description, removed when it ends.
    const onSessionEnd = (): void => controller.abort();
    this.lifetime.addEventListener('abort', onSessionEnd, { once: true });
    try {
      // The image and the request only: no system prompt, no dialogue.
      const messages = await withFittedImage([{ role: 'user', content: DESCRIBE_PROMPT }], img, entry);
      if (signal.aborted) return;
      // The token cap ends a backend that ignores max_new_tokens without its text (backends/
      // token-cap.ts): then the description is the tokens' text (48 at most, off the token path).
      let text = '';
      let fromTokens = '';
      for await (const ev of entry.backend.generate({ messages, params: { max_new_tokens: DESCRIBE_MAX_TOKENS, do_sample: false }, signal })) {
        if (ev.kind === 'token') {
          if (!ev.special) fromTokens += ev.text;
        } else text = ev.capped === true ? fromTokens : ev.generatedText;
      }
      if (!signal.aborted) this.imageState?.setDescription(imageId, text);
    } catch (err) {
      if (!signal.aborted) log.debug({ session: this.s.id, code: err instanceof VlpError ? err.code : 'unexpected' }, 'image description failed');
    } finally {
      this.lifetime.removeEventListener('abort', onSessionEnd);
      if (this.describing === controller) this.describing = undefined;
    }
  }

  /** The image a spoken turn refers to: the session's latest, when the text asks about an image. */
  voiceImage(text: string): string | undefined {
    if (this.lastImageId === undefined) return undefined;
    const intent = this.s.ctx.fastIntent.classify(text, { hasImage: true });
    const top = 'then' in intent ? undefined : intent.labels[0];
    return top !== undefined && LABEL_INFO[top.label].needsImage && !SEGMENT_LABELS.has(top.label) ? this.lastImageId : undefined;
  }

  /** The turn's stored image, or undefined after sending the error that ends the turn. */
  async imageFor(run: TurnRun, imageId: string): Promise<StoredImage | undefined> {
    const ref = 'turn.start';
    const img = await this.imageState?.get(imageId);
    if (img) return img;
    const failed = this.imageState?.failure(imageId);
    if (failed) this.s.sendError(failed.code, `image ${imageId} was rejected: ${failed.message}`, { turn: run.id, ref });
    else this.s.sendError('INPUT_IMAGE_NOT_FOUND', `no image "${imageId}" in this session (send image.put first; it may have been rejected or evicted)`, { turn: run.id, ref });
    return undefined;
  }

  /** The turn's messages with its image fitted into the backend's request limit. Throws VlpError. */
  async visionMessages(imageId: string, entry: ModelEntry, text: string, img?: StoredImage): Promise<ChatMessage[]> {
    const stored = img ?? this.imageState?.peek(imageId);
    if (!stored) throw new VlpError('INPUT_IMAGE_NOT_FOUND', `no image "${imageId}" in this session`);
    return withFittedImage(this.s.history.messagesFor(this.s.options.systemPrompt, text), stored, entry);
  }

  /** Resolve the turn's image, fit it into the backend's request limit, build the messages.
   *  Returns undefined when the turn already ended (error sent or cancelled). */
  async prepareVision(run: TurnRun, imageId: string, entry: ModelEntry, text: string): Promise<ChatMessage[] | undefined> {
    const turn = run.id;
    const ref = 'turn.start';
    try {
      const img = await this.imageFor(run, imageId);
      if (!img) return undefined;
      const messages = await this.visionMessages(imageId, entry, text, img);
      if (run.controller.signal.aborted) {
        this.s.send({ t: 'turn.cancelled', turn, reason: run.cancelReason ?? 'client' });
        return undefined;
      }
      return messages;
    } catch (err) {
      if (err instanceof VlpError) this.s.sendError(err.code, err.message, { turn, ref });
      else {
        this.s.ctx.log.error({ session: this.s.id, turn, error: safeErrorFields(err) }, 'image preparation failed');
        this.s.sendError('SERVER_INTERNAL', 'unexpected gateway fault while preparing the image', { turn, ref });
      }
      return undefined;
    }
  }
}
