// A session's images as turns see them: image.put storage and checks, the vision model's
// background description of each image, the session's latest image (follow-up turns), and the
// messages of an image turn with its image fitted into the backend's request limit.
import { VlpError } from '../../protocol/errors.ts';
import type { ImagePutMsg } from '../../protocol/messages.ts';
import type { ChatMessage } from '../backends/ports.ts';
import type { StoredImage } from '../images/types.ts';
import type { ModelEntry } from '../models.ts';
import { LABEL_INFO } from '../understanding/labels.ts';
import { withFittedImage } from './image-prep.ts';
import { SessionImages } from './images.ts';
import type { Session } from './session.ts';
import { SEGMENT_LABELS } from './turn-router.ts';
import type { TurnRun } from './turn.ts';

/** What the vision model is asked about every image (its answer ranks detection keywords). */
const DESCRIBE_PROMPT = 'Describe this image in one short sentence, naming the main objects you can see.';

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

  /** `lifetime` is aborted when the session closes: image descriptions stop with it. */
  constructor(private readonly s: VisionHost, private readonly lifetime: AbortSignal) {}

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

  /** image.put: check and store the image in the background; errors go to the client. */
  putImage(msg: ImagePutMsg): void {
    this.imageState ??= new SessionImages(this.s.ctx.config);
    this.lastImageId = msg.id;
    this.imageState.put(msg).then(() => this.describeImage(msg.id), (err: unknown) => {
      if (err instanceof VlpError) this.s.sendError(err.code, `image ${msg.id}: ${err.message}`, { ref: 'image.put' });
      else {
        this.s.ctx.log.error({ session: this.s.id, err }, 'image check failed unexpectedly');
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

  /** The seed pipeline's VLM step, off the critical path: once per image, in the background, a
   *  one-sentence description; detection keywords the description also names rank first. Failures
   *  only mean no preference. Bounded: one request per image.put, aborted when the session ends. */
  private async describeImage(imageId: string): Promise<void> {
    const { config, models, log } = this.s.ctx;
    const entry = models.get(config.defaultVisionModel);
    if (!config.images.describe || !entry || !entry.backend.capabilities.vision || this.s.state === 'closed') return;
    const img = this.imageState?.peek(imageId);
    if (!img) return;
    try {
      // The image and the request only: no system prompt, no dialogue.
      const messages = await withFittedImage([{ role: 'user', content: DESCRIBE_PROMPT }], img, entry);
      let text = '';
      for await (const ev of entry.backend.generate({ messages, params: { max_new_tokens: 48, do_sample: false }, signal: this.lifetime })) {
        if (ev.kind === 'done') text = ev.generatedText;
      }
      this.imageState?.setDescription(imageId, text);
    } catch (err) {
      if (!this.lifetime.aborted) log.debug({ session: this.s.id, code: err instanceof VlpError ? err.code : 'unexpected' }, 'image description failed');
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
        this.s.ctx.log.error({ session: this.s.id, turn, err }, 'image preparation failed');
        this.s.sendError('SERVER_INTERNAL', 'unexpected gateway fault while preparing the image', { turn, ref });
      }
      return undefined;
    }
  }
}
