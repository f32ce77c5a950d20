// Cuts the container's byte stream into PayloadPart payloads. SageMaker does not align parts with
// SSE events (backend-protocols §4.2), so 'awkward' mode cuts deterministically where a careless
// client breaks: inside `data:`, inside the JSON, and between the bytes of a multi-byte UTF-8
// character. Also tracks event boundaries (SSE events of a TGI container, NDJSON lines of a
// Grounded-SAM container) so a fault can fire after exactly k events.
import { mix32, mulberry32 } from '../random.ts';
import type { SageMakerSimStats } from './types.ts';

const LF = 0x0a;
const DATA = Buffer.from('data:');

/** Where SSE events start and (data events) end inside one chunk, with state across chunks. */
export interface ChunkScan {
  /** Offsets where an event's first line starts (0 when the chunk starts at an event start). */
  starts: number[];
  /** Offsets just past the blank line that completes a `data` event (keep-alives `:\n\n` excluded). */
  dataEnds: number[];
}

/** How a container frames its events: TGI's SSE, or Grounded-SAM's one JSON object per line. */
export type Framing = 'sse' | 'ndjson';

export interface EventScanner {
  scan(chunk: Uint8Array): ChunkScan;
}

export class SseScanner implements EventScanner {
  private prevLf = true; // the stream starts at an event start
  private atEventStart = true;
  private eventIsData = false;

  scan(chunk: Uint8Array): ChunkScan {
    const starts: number[] = [];
    const dataEnds: number[] = [];
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i] as number;
      if (this.atEventStart && b !== LF) {
        starts.push(i);
        this.atEventStart = false;
        this.eventIsData = b === 0x64; // 'd' of `data:`
      }
      if (b === LF) {
        if (this.prevLf && !this.atEventStart) {
          if (this.eventIsData) dataEnds.push(i + 1);
          this.atEventStart = true;
        }
        this.prevLf = true;
      } else {
        this.prevLf = false;
      }
    }
    return { starts, dataEnds };
  }
}

/** NDJSON: every line is an event; `dataEnds` are the offsets just past the "\n" of a non-empty line. */
export class NdjsonScanner implements EventScanner {
  private atLineStart = true;

  scan(chunk: Uint8Array): ChunkScan {
    const starts: number[] = [];
    const dataEnds: number[] = [];
    for (let i = 0; i < chunk.length; i++) {
      if (chunk[i] === LF) {
        if (!this.atLineStart) dataEnds.push(i + 1);
        this.atLineStart = true;
      } else if (this.atLineStart) {
        starts.push(i);
        this.atLineStart = false;
      }
    }
    return { starts, dataEnds };
  }
}

export function eventScanner(framing: Framing): EventScanner {
  return framing === 'ndjson' ? new NdjsonScanner() : new SseScanner();
}

function isContinuation(b: number | undefined): boolean {
  return b !== undefined && b >= 0x80 && b <= 0xbf;
}

/** Splits chunks into parts and counts what each cut fell inside. */
export class PartSplitter {
  private readonly rand: () => number;

  constructor(
    private readonly mode: 'awkward' | 'events',
    private readonly stats: SageMakerSimStats,
    seed = 1,
    private readonly framing: Framing = 'sse',
  ) {
    this.rand = mulberry32(mix32(seed, 0x5a6e));
  }

  /** `scan` must describe this chunk (from the framing's EventScanner, called in stream order). */
  split(chunk: Uint8Array, scan: ChunkScan): Uint8Array[] {
    if (chunk.length === 0) return [];
    if (this.mode === 'events' || chunk.length < 2) return [chunk];
    const cuts = new Set<number>();
    for (const s of scan.starts) {
      if (this.framing === 'ndjson') {
        // Right after the line's opening "{", and in the middle of its JSON.
        cuts.add(s + 1);
        cuts.add(s + Math.max(1, Math.floor((this.lineEnd(chunk, s) - s) / 2)));
        continue;
      }
      if (!this.startsWithData(chunk, s)) continue;
      cuts.add(s + 2); // "da" | "ta: {..."
      const end = this.eventEnd(chunk, s);
      const json = chunk.indexOf(0x7b, s); // '{'
      if (json >= 0 && json < end) cuts.add(json + Math.max(1, Math.floor((end - json) / 2)));
    }
    let multi = 0;
    for (let i = 0; i < chunk.length - 1 && multi < 4; i++) {
      const b = chunk[i] as number;
      if (b >= 0xc2 && b <= 0xf4 && isContinuation(chunk[i + 1])) {
        cuts.add(i + 1);
        multi++;
      }
    }
    cuts.add(1 + Math.floor(this.rand() * (chunk.length - 1)));
    const sorted = [...cuts].filter((c) => c > 0 && c < chunk.length).sort((a, b) => a - b);
    const parts: Uint8Array[] = [];
    let from = 0;
    for (const c of sorted) {
      this.classify(chunk, scan, c);
      parts.push(chunk.subarray(from, c));
      from = c;
    }
    parts.push(chunk.subarray(from));
    return parts;
  }

  private startsWithData(chunk: Uint8Array, s: number): boolean {
    if (s + DATA.length > chunk.length) return false;
    for (let k = 0; k < DATA.length; k++) if (chunk[s + k] !== DATA[k]) return false;
    return true;
  }

  /** Offset of the `\n\n` ending the event that starts at `s`, or the chunk end. */
  private eventEnd(chunk: Uint8Array, s: number): number {
    for (let i = s; i < chunk.length - 1; i++) if (chunk[i] === LF && chunk[i + 1] === LF) return i;
    return chunk.length;
  }

  /** Offset of the "\n" ending the line that starts at `s`, or the chunk end. */
  private lineEnd(chunk: Uint8Array, s: number): number {
    const nl = chunk.indexOf(LF, s);
    return nl < 0 ? chunk.length : nl;
  }

  private classify(chunk: Uint8Array, scan: ChunkScan, cut: number): void {
    if (isContinuation(chunk[cut])) {
      this.stats.splitInsideUtf8++;
      return;
    }
    if (this.framing === 'ndjson') {
      // Every line is one JSON object: a cut not right after a "\n" is inside one.
      if (chunk[cut - 1] !== LF) this.stats.splitInsideJson++;
      else this.stats.splitOther++;
      return;
    }
    for (const s of scan.starts) {
      if (cut > s && cut < s + DATA.length && this.startsWithData(chunk, s)) {
        this.stats.splitInsideDataPrefix++;
        return;
      }
      const json = chunk.indexOf(0x7b, s);
      if (json >= 0 && json < cut && cut < this.eventEnd(chunk, s)) {
        this.stats.splitInsideJson++;
        return;
      }
    }
    this.stats.splitOther++;
  }
}
