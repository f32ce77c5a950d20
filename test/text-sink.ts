// A Writable that keeps what is written to it as text: stdout/stderr for runCli in tests.
import { Writable } from 'node:stream';

export class TextSink extends Writable {
  text = '';
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    this.text += chunk.toString('utf8');
    cb();
  }
}
