// A server-side Connection for tests that drive ConnectionHandlerCtx directly: it decodes and keeps
// every frame the gateway sends, and the test controls the client's unread bytes exactly (a real
// client that stops reading fills the kernel's socket buffers, megabytes on loopback, first).
import { createClientCodec } from '../protocol/codec.ts';
import type { ServerMessage } from '../protocol/messages.ts';
import type { Connection, SendResult } from '../src/transport/types.ts';

let nextId = 1_000_000;

export class FakeConnection implements Connection {
  readonly id = nextId++;
  readonly subprotocol = 'vlp.v1.msgpack' as const;
  readonly remote = '127.0.0.1:1';
  readonly sent: ServerMessage[] = [];
  closed: { code: number; reason: string } | undefined;
  /** Bytes sent and, as far as this fake knows, not yet read by the client. */
  buffered = 0;
  /** The client stopped reading: every send reports backpressure. */
  stalled = false;
  private readonly codec = createClientCodec('vlp.v1.msgpack');

  /** @param highWaterBytes sends report backpressure once `buffered` passes it. */
  constructor(private readonly highWaterBytes = Number.POSITIVE_INFINITY) {}

  send(frame: Uint8Array | string): SendResult {
    if (this.closed) return 'dropped';
    const r = this.codec.decode(frame);
    if (!r.ok) throw new Error(`undecodable server frame: ${r.message}`);
    this.sent.push(r.msg);
    this.buffered += typeof frame === 'string' ? frame.length : frame.byteLength;
    return this.stalled || this.buffered > this.highWaterBytes ? 'backpressure' : 'ok';
  }

  bufferedBytes(): number {
    return this.stalled ? 1 << 30 : this.buffered;
  }

  close(code: number, reason: string): void {
    this.closed ??= { code, reason };
  }

  terminate(): void {
    this.closed ??= { code: 1006, reason: '' };
  }
}
