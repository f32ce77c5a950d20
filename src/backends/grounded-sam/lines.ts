// NDJSON framing: splits response chunks into lines on bytes (a line may span many chunks, a
// chunk many lines), with a bound on line length so a broken upstream cannot grow memory.
import { gsamProtocolError } from './errors.ts';

/** Longest line accepted, bytes: a 4K image's worst-case mask RLE is a few MB. */
export const MAX_LINE_BYTES = 8 * 1024 * 1024;

export class LineSplitter {
  private parts: Buffer[] = [];
  private size = 0;

  constructor(private readonly maxBytes: number = MAX_LINE_BYTES) {}

  /** Complete lines in `chunk` (without "\n" or a trailing "\r"; blank lines skipped). */
  push(chunk: Buffer): string[] {
    const out: string[] = [];
    let start = 0;
    for (let nl = chunk.indexOf(0x0a); nl >= 0; nl = chunk.indexOf(0x0a, start)) {
      this.add(chunk.subarray(start, nl));
      this.emit(out);
      start = nl + 1;
    }
    if (start < chunk.length) this.add(chunk.subarray(start));
    return out;
  }

  /** Bytes of an unfinished line still buffered. */
  get pending(): number {
    return this.size;
  }

  private add(part: Buffer): void {
    if (part.length === 0) return;
    this.size += part.length;
    if (this.size > this.maxBytes) throw gsamProtocolError(`line longer than ${this.maxBytes} bytes`);
    this.parts.push(part);
  }

  private emit(out: string[]): void {
    const buf = this.parts.length === 1 ? (this.parts[0] as Buffer) : Buffer.concat(this.parts, this.size);
    this.parts = [];
    this.size = 0;
    let text = buf.toString('utf8');
    if (text.endsWith('\r')) text = text.slice(0, -1);
    if (text.trim().length > 0) out.push(text);
  }
}
