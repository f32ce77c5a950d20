// Tests: a backend whose streams are EventChannels the test drives (push-capable, like the SSE
// adapters); `returned` tells whether the consumer closed a stream early.
import { EventChannel } from './http/event-channel.ts';
import type { GenEvent, TextGenBackend } from './ports.ts';

export class ChannelBackend implements TextGenBackend {
  readonly id = 'chan';
  readonly capabilities = { vision: false, streaming: true };
  readonly streams: { ch: EventChannel<GenEvent>; returned: () => boolean }[] = [];
  generate(): AsyncIterable<GenEvent> {
    let returned = false;
    const ch = new EventChannel<GenEvent>({ onFull: () => undefined, onDrain: () => undefined, onReturn: () => (returned = true) });
    this.streams.push({ ch, returned: () => returned });
    return ch;
  }
  probe(): Promise<boolean> {
    return Promise.resolve(true);
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}
