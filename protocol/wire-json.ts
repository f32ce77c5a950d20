// The vlp.v1.json mirror wire: UTF-8 JSON text frames whose binary fields (audio.chunk.data,
// image.put.data) travel as base64 strings. Untyped: codec.ts validates what this returns.
import { base64Length, decodeBase64, encodeBase64 } from './base64.ts';
import { decodeFailure } from './decode-result.ts';
import { isPlainMap } from './fields.ts';
import { scanJsonShape } from './json-shape.ts';
import type { ClientMessage } from './messages.ts';
import type { RawResult, WireBounds } from './wire-msgpack.ts';

/** Byte limits of the binary fields, by message type. */
export interface BinaryBounds {
  'audio.chunk': number;
  'image.put': number;
}

export class JsonWire {
  private readonly utf8 = new TextDecoder('utf-8', { fatal: true });

  constructor(
    private readonly bounds: Pick<WireBounds, 'maxDepth' | 'maxValues'>,
    private readonly binary: BinaryBounds,
  ) {}

  /** JSON text of a server message (they carry no binary fields). */
  encodeServer(msg: object): string {
    return JSON.stringify(msg);
  }

  /** JSON text of a client message, binary fields as base64, keys in the interface's order. */
  encodeClient(msg: ClientMessage): string {
    if (msg.t === 'audio.chunk') return JSON.stringify({ t: msg.t, data: encodeBase64(msg.data) });
    if (msg.t === 'image.put' && msg.data !== undefined) {
      return JSON.stringify({ t: msg.t, id: msg.id, data: encodeBase64(msg.data), url: msg.url });
    }
    return JSON.stringify(msg);
  }

  /** Parses the UTF-8 bytes of a text frame (client → server). Never throws. */
  decodeBytes(bytes: Uint8Array): RawResult {
    const shape = scanJsonShape(bytes, this.bounds.maxDepth, this.bounds.maxValues);
    if (shape === 'too_deep') return decodeFailure('PROTO_MALFORMED', 'the frame nests objects or arrays too deeply');
    if (shape === 'too_many_values') return decodeFailure('PROTO_FIELD_TOO_LARGE', 'the frame holds too many values');
    let text: string;
    try {
      text = this.utf8.decode(bytes);
    } catch {
      return decodeFailure('PROTO_MALFORMED', 'the frame is not valid UTF-8');
    }
    return this.decodeText(text);
  }

  /** Parses JSON text; base64 binary fields of client messages become Uint8Arrays. Never throws. */
  decodeText(text: string): RawResult {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      return decodeFailure('PROTO_MALFORMED', 'the frame is not valid JSON');
    }
    if (isPlainMap(value) && (value.t === 'audio.chunk' || value.t === 'image.put') && value.data !== undefined) {
      const t = value.t;
      const data = value.data;
      if (typeof data !== 'string') return decodeFailure('PROTO_INVALID_FIELD', `${t}.data must be a base64 string`, t);
      const max = this.binary[t];
      if (data.length > base64Length(max)) {
        return decodeFailure('PROTO_FIELD_TOO_LARGE', `${t}.data is larger than ${max} bytes`, t);
      }
      const bytes = decodeBase64(data);
      if (bytes === undefined) {
        return decodeFailure('PROTO_INVALID_FIELD', `${t}.data must be standard padded base64 (RFC 4648)`, t);
      }
      value.data = bytes;
    }
    return { ok: true, value };
  }
}
