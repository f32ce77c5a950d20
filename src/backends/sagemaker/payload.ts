// Reassembles the container's SSE stream from PayloadPart bytes cut at arbitrary boundaries (inside
// `data:`, inside JSON, inside a multi-byte UTF-8 character): one streaming TextDecoder carries
// partial characters across parts, one eventsource-parser carries partial lines and events.
import { createParser } from 'eventsource-parser';
import type { EventSourceMessage, EventSourceParser, ParseError } from 'eventsource-parser';
import { sageMakerProtocolError } from './errors.ts';

/** Largest SSE event buffered, characters (a final event with details is a few KB). */
const MAX_EVENT_CHARS = 1 << 20;
const STREAM_DECODE = { stream: true } as const;

export class PayloadSseDecoder {
  /** `data` payloads completed by the parts pushed so far, in order; the caller empties it. */
  readonly pending: string[] = [];
  private readonly decoder = new TextDecoder();
  private readonly parser: EventSourceParser;
  private fault: ParseError | undefined;

  constructor(maxEventChars = MAX_EVENT_CHARS) {
    this.parser = createParser({
      onEvent: (ev: EventSourceMessage) => {
        this.pending.push(ev.data);
      },
      // Comments (`:` keep-alives) are ignored; unknown fields and bad `retry:` are ignorable per
      // the SSE spec; an oversized event is not.
      onError: (err: ParseError) => {
        if (err.type === 'max-buffer-size-exceeded') this.fault = err;
      },
      maxBufferSize: maxEventChars,
    });
  }

  /** Feeds one PayloadPart's bytes. Throws UPSTREAM_PROTOCOL for an oversized event. */
  push(bytes: Uint8Array): void {
    if (this.fault !== undefined) throw sageMakerProtocolError('SSE event too large');
    this.parser.feed(this.decoder.decode(bytes, STREAM_DECODE));
    if (this.fault !== undefined) throw sageMakerProtocolError('SSE event too large');
  }
}
