// Cuts the container's byte stream into PayloadPart payloads. SageMaker does not align parts with
// SSE events (backend-protocols §4.2), so 'awkward' mode cuts deterministically where a careless
// client breaks: inside `data:`, inside the JSON, and between the bytes of a multi-byte UTF-8
// character. Also tracks SSE event boundaries so a fault can fire after exactly k events.
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

export class SseScanner {
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
  ) {
    this.rand = mulberry32(mix32(seed, 0x5a6e));
  }

  /** `scan` must describe this chunk (from SseScanner.scan, called in stream order). */
  split(chunk: Uint8Array, scan: ChunkScan): Uint8Array[] {
    if (chunk.length === 0) return [];
    if (this.mode === 'events' || chunk.length < 2) return [chunk];
    const cuts = new Set<number>();
    for (const s of scan.starts) {
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

  private classify(chunk: Uint8Array, scan: ChunkScan, cut: number): void {
    if (isContinuation(chunk[cut])) {
      this.stats.splitInsideUtf8++;
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
