// Tests: the JSON lines a logger writes, kept in memory (a destination for createLogger).
import { Writable } from 'node:stream';

export class LineSink extends Writable {
  private text = '';

  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    this.text += chunk.toString('utf8');
    done();
  }

  raw(): string {
    return this.text;
  }

  lines(): Record<string, unknown>[] {
    return this.text
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  }
}
