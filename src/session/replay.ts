// Bounded ring of the frames already sequenced for one session, kept so a client that reconnects
// can resume from its last seen seq. Oldest frames fall off; `ack` frees them early.
import type { ServerMessage } from '../../protocol/messages.ts';

export class ReplayRing {
  private readonly buf: (ServerMessage | undefined)[];
  private head = 0; // index of the oldest frame
  private size = 0;

  constructor(readonly capacity: number) {
    this.buf = new Array<ServerMessage | undefined>(capacity);
  }

  get length(): number {
    return this.size;
  }

  add(msg: ServerMessage): void {
    if (this.capacity === 0) return;
    if (this.size === this.capacity) {
      this.buf[this.head] = msg;
      this.head = (this.head + 1) % this.capacity;
    } else {
      this.buf[(this.head + this.size) % this.capacity] = msg;
      this.size++;
    }
  }

  /** Drop every frame with seq <= `seq` (the client has processed them). */
  ack(seq: number): void {
    while (this.size > 0) {
      const oldest = this.buf[this.head];
      if (!oldest || oldest.seq > seq) break;
      this.buf[this.head] = undefined;
      this.head = (this.head + 1) % this.capacity;
      this.size--;
    }
  }

  /** Frames with seq > lastSeq, or undefined when some of them are no longer held. */
  since(lastSeq: number, currentSeq: number): ServerMessage[] | undefined {
    if (lastSeq >= currentSeq) return lastSeq === currentSeq ? [] : undefined;
    const out: ServerMessage[] = [];
    for (let k = 0; k < this.size; k++) {
      const m = this.buf[(this.head + k) % this.capacity];
      if (m && m.seq > lastSeq) out.push(m);
    }
    const first = out[0];
    if (!first || first.seq !== lastSeq + 1) return undefined;
    return out;
  }
}
