// Tests: an outbox sink that records a copy of every frame written and answers `next`.
import type { ServerMessage } from '../../protocol/messages.ts';
import type { SendResult } from '../transport/types.ts';
import type { OutboxSink } from './outbox.ts';

export class FakeSink implements OutboxSink {
  frames: ServerMessage[] = [];
  next: SendResult = 'ok';
  send(msg: ServerMessage): SendResult {
    this.frames.push(structuredClone(msg));
    return this.next;
  }
}
