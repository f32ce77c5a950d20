// The NDJSON body of a Grounded-SAM answer (protocol/GROUNDED-SAM.md) as bytes arrive, whatever
// carries them: HTTP response chunks (backend.ts) or SageMaker PayloadParts cut at arbitrary byte
// boundaries (sagemaker.ts). Lines are split on bytes before UTF-8 decoding (0x0A never occurs
// inside a multi-byte sequence), so a character split across chunks is decoded whole.
import type { SegmentEvent } from '../segmenter-port.ts';
import type { StallWatch } from '../http/stall.ts';
import { StreamState } from './events.ts';
import { LineSplitter, MAX_LINE_BYTES } from './lines.ts';

export class SegmentStreamReader {
  /** Events completed by the bytes pushed so far, in order; the caller empties it. */
  readonly pending: SegmentEvent[] = [];
  /** The done line was read; later bytes are ignored. */
  ended = false;
  private readonly lines: LineSplitter;
  private readonly state: StreamState;

  /** `size` = [height, width] of the image sent. */
  constructor(size: readonly [number, number], maxLineBytes: number = MAX_LINE_BYTES) {
    this.lines = new LineSplitter(maxLineBytes);
    this.state = new StreamState(size);
  }

  /** Feeds bytes. Throws VlpError (UPSTREAM_PROTOCOL, or the mapped code of an error line); the
   *  events of the lines before the failing one stay in `pending`. */
  push(bytes: Uint8Array): void {
    if (this.ended) return;
    const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (const line of this.lines.push(buf)) {
      const ev = this.state.parseLine(line);
      this.pending.push(ev);
      if (ev.kind === 'done') {
        this.ended = true;
        return;
      }
    }
  }
}

/** `reader.push(bytes)`, returning what it threw instead of throwing, so the events before a bad
 *  line are still delivered (then the caller throws). */
export function pushChunk(reader: SegmentStreamReader, bytes: Uint8Array): unknown {
  try {
    reader.push(bytes);
    return undefined;
  } catch (err) {
    return err;
  }
}

/** Empties `reader.pending` into the caller's iteration, in order. */
export function* takePending(reader: SegmentStreamReader): Generator<SegmentEvent, void, undefined> {
  const events = reader.pending.splice(0);
  yield* events;
}

/**
 * One upstream chunk into the caller's iteration: the events it completes (the stall watch parked
 * while the consumer holds them), then the fault of a bad line, if any. Returns true once the done
 * line is read (`reader.ended` is set before the done event is yielded, so a consumer that stops
 * there leaves a finished stream).
 */
export function* deliverChunk(reader: SegmentStreamReader, chunk: Uint8Array, watch: StallWatch): Generator<SegmentEvent, boolean, undefined> {
  const fault = pushChunk(reader, chunk);
  if (reader.pending.length === 0 && fault === undefined) return false; // partial line: no progress
  watch.park(); // the consumer's time holding events is not an upstream stall
  yield* takePending(reader);
  if (fault !== undefined) throw fault;
  if (reader.ended) return true;
  watch.resume(true);
  return false;
}
