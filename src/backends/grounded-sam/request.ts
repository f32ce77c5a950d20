// The JSON body of POST /detect_segment: base64 image and a GroundingDINO caption built from the
// phrases (lower-cased, "." removed inside phrases, joined by " . ", trailing " .").
import type { SegmentRequest } from '../segmenter-port.ts';

/** Cap on instances per request; the gateway sends at most this many masks per image. */
export const MAX_INSTANCES = 20;

/** "dog . red car ." — what GroundingDINO's preprocess_caption would produce. Empty if no phrase. */
export function textPrompt(phrases: readonly string[]): string {
  const clean = phrases.map((p) => p.toLowerCase().replace(/\./g, ' ').replace(/\s+/g, ' ').trim()).filter((p) => p.length > 0);
  return clean.length === 0 ? '' : `${clean.join(' . ')} .`;
}

function checkThreshold(v: number, name: string): void {
  if (!(v > 0 && v < 1)) throw new RangeError(`segment: ${name} must be in (0, 1), got ${v}`);
}

/** Serialized body. Throws RangeError for a request the session should never build (no phrase,
 *  thresholds outside (0, 1)). */
export function detectSegmentBody(req: SegmentRequest, hq: boolean): string {
  const prompt = textPrompt(req.phrases);
  if (prompt === '') throw new RangeError('segment: no phrase to look for');
  checkThreshold(req.boxThreshold, 'boxThreshold');
  checkThreshold(req.textThreshold, 'textThreshold');
  const { bytes } = req.image;
  return JSON.stringify({
    image: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64'),
    text_prompt: prompt,
    box_threshold: req.boxThreshold,
    text_threshold: req.textThreshold,
    hq,
    max_instances: MAX_INSTANCES,
  });
}
