// Socket-level helpers for the SDK: turn a ws message into codec input, and send one encoded frame
// with backpressure reported the same way the gateway's transport reports it.
import WebSocket from 'ws';
import type { ClientCodec } from '../../protocol/codec.ts';
import type { DecodeResult } from '../../protocol/validate.ts';
import type { ClientMessage, ServerMessage } from '../../protocol/messages.ts';

/** 'ok' = written or queued under the high-water mark; 'backpressure' = queued above it (await
 *  drain() before sending more bulk data); 'dropped' = not sent, the socket is not open. */
export type SendResult = 'ok' | 'backpressure' | 'dropped';

/** Default send-buffer high-water mark, bytes. */
export const DEFAULT_HIGH_WATER_BYTES = 1 << 20;

export function decodeFrame(codec: ClientCodec, data: WebSocket.RawData, isBinary: boolean): DecodeResult<ServerMessage> {
  const bytes: Uint8Array = Array.isArray(data)
    ? Buffer.concat(data)
    : data instanceof ArrayBuffer
      ? new Uint8Array(data)
      : data;
  if (isBinary) return codec.decode(bytes);
  return codec.decode(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
}

/** Encode and send at once: a msgpack encode may return a view into a buffer the next encode
 *  reuses. perMessageDeflate is off, so ws copies the bytes while masking, synchronously. */
export function sendFrame(ws: WebSocket, codec: ClientCodec, msg: ClientMessage, highWaterBytes: number): SendResult {
  if (ws.readyState !== WebSocket.OPEN) return 'dropped';
  ws.send(codec.encode(msg));
  return ws.bufferedAmount > highWaterBytes ? 'backpressure' : 'ok';
}
