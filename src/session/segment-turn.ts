// Runs one detection/segmentation turn: sends the image and the object phrases to Grounded-SAM,
// streams detect.boxes as soon as detection is done and one mask.frame per instance as each mask
// is ready, then ends with gen.done (a one-line summary) and turn.metrics.
import { reportTurnFailure } from './turn-failure.ts';
import type { SegmenterBackend } from '../backends/segmenter-port.ts';
import type { StoredImage } from '../images/types.ts';
import type { Session } from './session.ts';
import type { TurnRun } from './turn.ts';
import { sendTurnMetrics } from './turn-metrics.ts';

export interface SegmentJob {
  imageId: string;
  image: StoredImage;
  /** Object phrases to ground (1-3 words each). */
  phrases: string[];
  userText: string;
}

function summarize(phrases: string[], labels: string[]): string {
  if (labels.length === 0) return `I could not find ${phrases.join(' or ')} in the image.`;
  const counts = new Map<string, number>();
  for (const l of labels) counts.set(l, (counts.get(l) ?? 0) + 1);
  const parts = [...counts].map(([l, n]) => (n === 1 ? `1 ${l}` : `${n} × ${l}`));
  return `Found ${parts.join(', ')}.`;
}

const round = (ms: number): number => Math.round(ms * 100) / 100;

export async function runSegmentTurn(s: Session, run: TurnRun, seg: SegmenterBackend, job: SegmentJob): Promise<void> {
  const { config, metrics, log } = s.ctx;
  const turn = run.id;
  s.send({ t: 'turn.started', turn, kind: 'segment', model: seg.id });
  if (job.phrases.length === 0) {
    // Nothing named to look for: a clear answer instead of a blind call.
    const total = round(performance.now() - run.startedAt);
    s.send({ t: 'gen.done', turn, finish: 'eos_token', tokens: 0, ttft_ms: -1, total_ms: total, text: 'Tell me what to look for in the image, for example: segment the dog.' });
    sendTurnMetrics(s, run, { done: total }, { tokens: 0, boxes: 0, masks: 0, retries: 0 });
    metrics.turnsTotal.inc({ outcome: 'done' });
    return;
  }
  let firstBox = -1;
  let firstMask = -1;
  let masks = 0;
  let labels: string[] = [];
  let outcome: 'done' | 'cancelled' | 'error';
  let errorCode: string | undefined;
  try {
    const events = seg.segment({
      image: job.image,
      phrases: job.phrases,
      boxThreshold: config.segmenter.boxThreshold,
      textThreshold: config.segmenter.textThreshold,
      hq: config.segmenter.hq,
      signal: run.controller.signal,
    });
    for await (const ev of events) {
      switch (ev.kind) {
        case 'boxes':
          firstBox = performance.now();
          labels = ev.boxes.map((b) => b.label);
          s.send({ t: 'detect.boxes', turn, image: job.imageId, size: ev.size, boxes: ev.boxes });
          break;
        case 'mask':
          if (firstMask < 0) firstMask = performance.now();
          masks++;
          s.send({ t: 'mask.frame', turn, id: ev.id, label: ev.label, score: ev.score, rle: ev.rle });
          break;
        case 'done':
          break;
        default: {
          const never: never = ev;
          throw new Error(`unknown segment event ${String(never)}`);
        }
      }
    }
    const answer = summarize(job.phrases, labels);
    s.history.add(job.userText, answer);
    s.lastAnswer = undefined; // a detection summary streamed no tokens: nothing to truncate
    s.send({ t: 'gen.done', turn, finish: 'eos_token', tokens: 0, ttft_ms: -1, total_ms: round(performance.now() - run.startedAt), text: answer });
    outcome = 'done';
  } catch (err) {
    ({ outcome, code: errorCode } = reportTurnFailure(s, run, err));
  }
  const end = performance.now();
  sendTurnMetrics(
    s,
    run,
    {
      ...(firstBox >= 0 ? { first_box: round(firstBox - run.startedAt) } : {}),
      ...(firstMask >= 0 ? { first_mask: round(firstMask - run.startedAt) } : {}),
      done: round(end - run.startedAt),
    },
    { tokens: 0, boxes: labels.length, masks, retries: 0 },
  );
  metrics.turnsTotal.inc({ outcome });
  metrics.turnSeconds.observe((end - run.startedAt) / 1000);
  log.debug({ session: s.id, turn, outcome, code: errorCode, boxes: labels.length, masks }, 'segment turn ended');
}
