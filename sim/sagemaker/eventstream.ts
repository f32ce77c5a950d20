// AWS event-stream messages of InvokeEndpointWithResponseStream as the SageMaker runtime sends them,
// encoded with Smithy's EventStreamCodec (prelude, CRC32s, typed headers): PayloadPart events carrying
// raw container bytes, and the modeled exception events ModelStreamError / InternalStreamFailure.
import { EventStreamCodec } from '@smithy/eventstream-codec';
import type { MessageHeaders } from '@smithy/eventstream-codec';
import { fromUtf8, toUtf8 } from '@smithy/util-utf8';

const codec = new EventStreamCodec(toUtf8, fromUtf8);

/** Content-Type of the HTTP response body (generic AWS event-stream media type). */
export const EVENT_STREAM_CONTENT_TYPE = 'application/vnd.amazon.eventstream';

const PAYLOAD_PART_HEADERS: MessageHeaders = {
  ':event-type': { type: 'string', value: 'PayloadPart' },
  ':content-type': { type: 'string', value: 'application/octet-stream' },
  ':message-type': { type: 'string', value: 'event' },
};

/** One `PayloadPart` event; the SDK yields `{PayloadPart: {Bytes: bytes}}` (Bytes is the event payload). */
export function payloadPartMessage(bytes: Uint8Array): Uint8Array {
  return codec.encode({ headers: PAYLOAD_PART_HEADERS, body: bytes });
}

export type StreamExceptionType = 'ModelStreamError' | 'InternalStreamFailure';

/** One exception event; the SDK throws it from the `Body` iterator as the modeled error class,
 *  with the JSON payload's members (`Message`, `ErrorCode`) copied onto it. */
export function exceptionMessage(type: StreamExceptionType, payload: { Message: string; ErrorCode?: string }): Uint8Array {
  return codec.encode({
    headers: {
      ':exception-type': { type: 'string', value: type },
      ':content-type': { type: 'string', value: 'application/json' },
      ':message-type': { type: 'string', value: 'exception' },
    },
    body: fromUtf8(JSON.stringify(payload)),
  });
}

/** Decodes one whole message (for tests and tools). */
export function decodeMessage(bytes: Uint8Array): { headers: Record<string, string>; body: Uint8Array } {
  const m = codec.decode(bytes);
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(m.headers)) headers[k] = String(v.value);
  return { headers, body: m.body };
}
