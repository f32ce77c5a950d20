// Decoding and validation of a POST /detect_segment body (protocol/GROUNDED-SAM.md): base64 image
// read with sharp's header parser only, text_prompt split into phrases, thresholds in (0, 1).
import sharp from 'sharp';
import type { Metadata } from 'sharp';
import { parseFaultDirective, stripDirectives, type FaultKind } from '../faults.ts';

export interface DetectSegmentRequest {
  image: Buffer;
  /** [height, width] from the image header. */
  size: [number, number];
  phrases: string[];
  boxThreshold: number;
  textThreshold: number;
  hq: boolean;
  maxInstances: number;
  fault: FaultKind | undefined;
}

/** A 4xx answer: status and the `{"error","error_type":"validation"}` message. */
export class RequestError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const DATA_URI = /^data:image\/[a-z+.-]+;base64,/i;
const FORMATS = new Set(['jpeg', 'png', 'webp']);
/** Grounding DINO defaults (grounded_sam_demo.py CLI). */
const DEFAULT_BOX_THRESHOLD = 0.3;
const DEFAULT_TEXT_THRESHOLD = 0.25;
const DEFAULT_MAX_INSTANCES = 20;
const MAX_INSTANCES_LIMIT = 100;

function decodeBase64(value: unknown): Buffer {
  if (typeof value !== 'string' || value.length === 0) throw new RequestError(422, 'missing field `image` (base64 JPEG, PNG or WebP)');
  const b64 = value.replace(DATA_URI, '').replace(/\s+/g, '');
  if (!BASE64.test(b64) || b64.length % 4 === 1) throw new RequestError(422, '`image` is not valid base64');
  return Buffer.from(b64, 'base64');
}

function threshold(value: unknown, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !(value > 0 && value < 1)) throw new RequestError(422, `\`${name}\` must be a number in (0, 1)`);
  return value;
}

/** GroundingDINO caption → phrases: lower-case, split on ".", trimmed, empty ones dropped. */
export function phrasesOf(textPrompt: string): string[] {
  return stripDirectives(textPrompt)
    .toLowerCase()
    .split('.')
    .map((p) => p.trim().replace(/\s+/g, ' '))
    .filter((p) => p.length > 0);
}

export async function parseDetectSegment(body: Buffer): Promise<DetectSegmentRequest> {
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch {
    throw new RequestError(400, 'body is not JSON');
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new RequestError(422, 'body is not a JSON object');
  const o = json as Record<string, unknown>;
  const image = decodeBase64(o.image);
  if (typeof o.text_prompt !== 'string') throw new RequestError(422, 'missing field `text_prompt`');
  const phrases = phrasesOf(o.text_prompt);
  if (phrases.length === 0) throw new RequestError(422, '`text_prompt` has no phrase');
  const boxThreshold = threshold(o.box_threshold, 'box_threshold', DEFAULT_BOX_THRESHOLD);
  const textThreshold = threshold(o.text_threshold, 'text_threshold', DEFAULT_TEXT_THRESHOLD);
  if (o.hq !== undefined && typeof o.hq !== 'boolean') throw new RequestError(422, '`hq` must be a boolean');
  const maxInstances = o.max_instances ?? DEFAULT_MAX_INSTANCES;
  if (typeof maxInstances !== 'number' || !Number.isInteger(maxInstances) || maxInstances < 1 || maxInstances > MAX_INSTANCES_LIMIT) {
    throw new RequestError(422, `\`max_instances\` must be an integer in 1..${MAX_INSTANCES_LIMIT}`);
  }
  let meta: Metadata;
  try {
    meta = await sharp(image).metadata();
  } catch {
    throw new RequestError(422, '`image` is not a decodable image');
  }
  if (!FORMATS.has(meta.format) || !(meta.width > 0) || !(meta.height > 0)) {
    throw new RequestError(422, '`image` must be JPEG, PNG or WebP');
  }
  return {
    image,
    size: [meta.height, meta.width],
    phrases,
    boxThreshold,
    textThreshold,
    hq: o.hq === true,
    maxInstances,
    fault: parseFaultDirective(o.text_prompt)?.kind,
  };
}
