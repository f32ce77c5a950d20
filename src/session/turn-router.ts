// What an accepted turn.start does: classify its intent, pick the image and model, refuse what
// the fleet cannot serve, commit or discard speculative work, then run a segmentation turn or a
// text/image answer (with chain-of-thought planning when options.plan is on).
import { VlpError } from '../../protocol/errors.ts';
import type { GenParams, TurnKind, TurnStartMsg } from '../../protocol/messages.ts';
import { checkGenParams, mergeParams } from '../backends/params.ts';
import type { ChatMessage } from '../backends/ports.ts';
import type { ModelEntry } from '../models.ts';
import { loadPlanning } from '../planning/lazy.ts';
import type { IntentResult } from '../understanding/classifier-port.ts';
import { extractKeywords } from '../understanding/keywords.ts';
import { unsupportedCode, type IntentLabel } from '../understanding/labels.ts';
import { fitForSegmenter } from './image-prep.ts';
import { limitsOf } from './options.ts';
import { runSegmentTurn } from './segment-turn.ts';
import type { Session } from './session.ts';
import type { SessionVision } from './session-vision.ts';
import { committedGenerator, committedSegmenter, normalizeTranscript, samePhrases, type Speculation } from './speculation.ts';
import { runTextTurn, type TurnRun } from './turn.ts';

/** Intents served by the segmenter. */
export const SEGMENT_LABELS: ReadonlySet<IntentLabel> = new Set<IntentLabel>(['detect', 'segment', 'mask']);
/** Score at which an intent the turn cannot serve is refused rather than answered by the model
 *  (the seed's 0.65 threshold). */
const STRONG_INTENT = 0.65;
/** Score of a segment/mask intent on a text-only turn that is answered INPUT_SEGMENT_NO_IMAGE. */
const NO_IMAGE_SEGMENT_SCORE = 0.35;

/** Range-checked parameters of a turn on `entry`, or undefined after sending the error. */
export function paramsFor(s: Session, entry: ModelEntry, msg: TurnStartMsg, ref: string): GenParams | undefined {
  try {
    return checkGenParams(mergeParams(entry.config.params, s.options.params, msg.params), limitsOf(s.ctx.config));
  } catch (err) {
    if (err instanceof VlpError) {
      s.sendError(err.code, err.message, { turn: msg.id, ref });
      return undefined;
    }
    throw err;
  }
}

/** The configured classifier; a served one that fails or times out falls back to the built-in rules. */
async function classify(s: Session, text: string, hasImage: boolean, signal: AbortSignal): Promise<IntentResult> {
  const r = s.ctx.intent.classify(text, { hasImage, signal });
  if (!('then' in r)) return r;
  try {
    return await r;
  } catch (err) {
    if (signal.aborted) throw err;
    s.ctx.metrics.errorsTotal.inc({ code: 'INTENT_FALLBACK' });
    s.ctx.log.warn({ session: s.id, classifier: s.ctx.intent.id, code: err instanceof VlpError ? err.code : 'unexpected' }, 'intent classifier failed; using the built-in rules');
    const fallback = s.ctx.fastIntent.classify(text, { hasImage });
    return 'then' in fallback ? { labels: [] } : fallback;
  }
}

/** Decides what the turn does (intent), then runs it. Errors before turn.started end it too. */
export async function routeTurn(
  s: Session,
  vision: SessionVision,
  run: TurnRun,
  msg: TurnStartMsg,
  entry: ModelEntry,
  params: GenParams,
  text: string,
  spec: Speculation | undefined,
): Promise<void> {
  const ref = 'turn.start';
  const turn = run.id;
  const counts = run.spec ?? { committed: 0, discarded: 0 };
  run.spec = counts;
  const discard = (): void => {
    if (!spec) return;
    spec.stream.abort();
    counts.discarded++;
    s.ctx.metrics.speculationsTotal.inc({ outcome: 'discarded' });
    spec = undefined;
  };
  try {
    let image = msg.image;
    const intent = await classify(s, text, image !== undefined || vision.latestImageId !== undefined, run.controller.signal);
    if (run.controller.signal.aborted) {
      s.send({ t: 'turn.cancelled', turn, reason: run.cancelReason ?? 'client' });
      return;
    }
    const top = intent.labels[0];
    const wantsMasks = top !== undefined && SEGMENT_LABELS.has(top.label) && top.score >= s.ctx.config.segmenter.minIntentScore;
    // A follow-up such as "now segment the cat" works on the session's most recent image.
    if (image === undefined && wantsMasks && vision.latestImageId !== undefined && msg.model === undefined) {
      image = vision.latestImageId;
      const visionEntry = s.ctx.models.get(s.ctx.config.defaultVisionModel);
      if (visionEntry) {
        entry = visionEntry;
        const p = paramsFor(s, entry, msg, ref);
        if (!p) return;
        params = p;
      }
    }
    const hasImage = image !== undefined;
    // Without an image the classifier already down-weights vision intents: segmentation or mask
    // creation still on top is a clear request that needs an image. (Detect-style phrasings such
    // as "find", "count" or "where is" stay dialogue: they are common in plain chat.)
    if (!hasImage && top !== undefined && (top.label === 'segment' || top.label === 'mask') && top.score >= NO_IMAGE_SEGMENT_SCORE) {
      return s.sendError('INPUT_SEGMENT_NO_IMAGE', 'detection and segmentation need an image: send it with image.put and name it in turn.start.image', { turn, ref });
    }
    let keywords: string[] = [];
    if (hasImage && top !== undefined) {
      keywords = extractKeywords(text, { max: 3, ...vision.keywordPreference(image) });
      s.send({ t: 'intent.update', turn, labels: intent.labels.slice(0, 3), stable: true, keywords });
      const unsupported = unsupportedCode(top.label);
      if (unsupported !== null && top.score >= STRONG_INTENT) {
        return s.sendError(unsupported, `${top.label.replace(/_/g, '-')} is not served by this fleet (it serves dialogue, image questions, detection and segmentation)`, { turn, ref });
      }
      if (wantsMasks && !s.ctx.segmenter) {
        return s.sendError('INPUT_INTENT_UNSUPPORTED', 'detection and segmentation are not available: no segmentation service is configured', { turn, ref });
      }
    }
    if (image !== undefined) vision.setLatest(image);
    const segmenter = s.ctx.segmenter;
    if (hasImage && wantsMasks && segmenter) {
      const imageId = image as string;
      const found = await vision.imageFor(run, imageId);
      if (!found) return discard();
      const stored = await fitForSegmenter(found, s.ctx.config.segmenter.requestLimitBytes);
      let seg = segmenter;
      if (spec?.kind === 'segment' && spec.imageId === imageId && samePhrases(spec.phrases, keywords) && !spec.stream.failed) {
        seg = committedSegmenter(segmenter, spec.stream);
        counts.committed++;
        s.ctx.metrics.speculationsTotal.inc({ outcome: 'committed' });
        spec = undefined;
      } else discard();
      return await runSegmentTurn(s, run, seg, { imageId, image: stored, phrases: keywords, userText: text });
    }
    const kind: TurnKind = hasImage ? 'vqa' : 'chat';
    if (
      spec?.kind === 'answer' &&
      spec.modelId === entry.config.id &&
      spec.imageId === image &&
      spec.historyVersion === s.history.version &&
      normalizeTranscript(spec.text) === normalizeTranscript(text) &&
      !spec.stream.failed &&
      !s.options.plan
    ) {
      const committed: ModelEntry = { config: entry.config, backend: committedGenerator(entry.backend, spec.stream) };
      counts.committed++;
      s.ctx.metrics.speculationsTotal.inc({ outcome: 'committed' });
      spec = undefined;
      // The request was built from the same transcript, image and history: its messages are what
      // these would be; the committed backend replays its answer.
      return await runTextTurn(s, run, committed, [{ role: 'user', content: text }], params, text, kind);
    }
    discard();
    const messages = hasImage ? await vision.prepareVision(run, image as string, entry, text) : s.history.messagesFor(s.options.systemPrompt, text);
    if (!messages) return;
    const prepare = s.options.plan ? () => planInto(s, run, messages, hasImage) : undefined;
    return await runTextTurn(s, run, entry, messages, params, text, kind, prepare);
  } finally {
    discard();
  }
}

/** Chain-of-thought planning (options.plan): plan.step frames, then the plan joins the question. */
async function planInto(s: Session, run: TurnRun, messages: ChatMessage[], hasImage: boolean): Promise<void> {
  const planner = s.ctx.models.get(s.ctx.config.defaultModel);
  const last = messages[messages.length - 1];
  if (!planner || !last) return;
  const { planSteps, planStepMessage, withPlan } = await loadPlanning();
  const stream = planSteps(planner.backend, last.content, { signal: run.controller.signal, hasImage });
  for await (const step of stream) s.send(planStepMessage(run.id, step));
  const plan = await stream.result;
  last.content = withPlan(last.content, plan.text);
}
