// Serves one /detect_segment NDJSON stream: the boxes line after detectMs, one mask line every
// perMaskMs, then done; mid-stream faults fire right after the boxes line.
import type { ServerResponse } from 'node:http';
import { mix32, mulberry32 } from '../random.ts';
import { detect, imageHash, type SimBox } from './detect.ts';
import type { DetectSegmentRequest } from './request.ts';
import { ellipseCounts, rleString } from './rle.ts';

export interface StreamTiming {
  detectMs: number;
  perMaskMs: number;
  jitter: number;
}

/** Cancels the pending timer of a stream (server shutdown). */
export type StreamJob = { cancel(): void };

function line(res: ServerResponse, value: unknown): void {
  res.write(`${JSON.stringify(value)}\n`);
}

/** Starts the stream; `onEnd(true)` when it reached its natural end. Returns its job. */
export function serveStream(res: ServerResponse, req: DetectSegmentRequest, timing: StreamTiming, onEnd: (completed: boolean) => void): StreamJob {
  const [h, w] = req.size;
  const rand = mulberry32(mix32(imageHash(req.image), req.phrases.length));
  const delay = (ms: number): number => ms * (1 + timing.jitter * (2 * rand() - 1));
  const boxes = detect(req.image, req.phrases, req.size, req.boxThreshold, req.maxInstances);
  let timer: NodeJS.Timeout | undefined;
  let ended = false;
  const end = (completed: boolean): void => {
    if (ended) return;
    ended = true;
    clearTimeout(timer);
    onEnd(completed);
  };
  res.once('close', () => end(false));

  res.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-cache' });
  res.flushHeaders();

  const sendMask = (i: number): void => {
    const b = boxes[i] as SimBox;
    const counts = ellipseCounts(b.box, h, w);
    line(res, { type: 'mask', id: b.id, label: b.label, score: b.score, rle: { size: [h, w], counts: rleString(counts) } });
  };
  const next = (i: number): void => {
    if (i < boxes.length) {
      sendMask(i);
      timer = setTimeout(() => next(i + 1), delay(timing.perMaskMs));
      return;
    }
    line(res, { type: 'done', boxes: boxes.length, masks: boxes.length });
    end(true);
    res.end();
  };
  const afterBoxes = (): void => {
    switch (req.fault) {
      case 'error_mid_stream':
        line(res, { type: 'error', error: 'CUDA out of memory while decoding masks', error_type: 'segmentation' });
        end(true);
        res.end();
        return;
      case 'reset':
        res.socket?.destroy();
        return;
      case 'stall':
        return; // keep the connection open and silent until the client goes away
      case 'malformed':
        res.write('{"type":"mask","id":0,"rle":\n');
        end(true);
        res.end();
        return;
      default:
        timer = setTimeout(() => next(0), delay(timing.perMaskMs));
    }
  };
  timer = setTimeout(() => {
    line(res, { type: 'boxes', size: [h, w], boxes });
    afterBoxes();
  }, delay(timing.detectMs));

  return {
    cancel: () => {
      clearTimeout(timer);
      res.destroy();
    },
  };
}
