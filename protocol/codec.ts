// Frame codecs of vlp.v1: bytes ⇄ typed messages for each subprotocol and each side. Decoding never
// throws and every decoded message has passed validation; untrusted input is bounded before parsing.
import { decodeFailure, type DecodeResult } from './decode-result.ts';
import { DEFAULT_LIMITS, type ProtocolLimits } from './limits.ts';
import { SUBPROTOCOL_MSGPACK, type ClientMessage, type ServerMessage, type Subprotocol } from './messages.ts';
import { validateClientMessage } from './validate.ts';
import { validateServerMessage } from './validate-server.ts';
import { JsonWire } from './wire-json.ts';
import { MsgpackWire, type RawResult, type WireBounds } from './wire-msgpack.ts';
import { GenTokenWire } from './gen-token-wire.ts';

export interface ServerCodec {
  readonly subprotocol: Subprotocol;
  /**
   * vlp.v1.msgpack: a Uint8Array VIEW into one of this codec's reused encode buffers, valid only
   * until the next encode() on this codec; send it (or copy it) before encoding again.
   * vlp.v1.json: a string for a text frame.
   */
  encode(msg: ServerMessage): Uint8Array | string;
  /**
   * One client frame. `data` is the frame payload (UTF-8 bytes for text frames); `isBinary` is false
   * for text frames. The result holds no reference to `data` (binary fields are copied).
   */
  decode(data: Uint8Array, isBinary: boolean): DecodeResult<ClientMessage>;
}

export interface ClientCodec {
  readonly subprotocol: Subprotocol;
  /** Same buffer contract as ServerCodec.encode. */
  encode(msg: ClientMessage): Uint8Array | string;
  /** One server frame: a Uint8Array for a binary frame, a string for a text frame. */
  decode(data: Uint8Array | string): DecodeResult<ServerMessage>;
}

// Client frames are small and flat (the deepest is hello.options.params.stop, depth 4); these bounds
// stop allocation bombs before the decoder runs. Field-level limits are enforced by validate.ts.
const CLIENT_FRAME_DEPTH = 8;
const CLIENT_FRAME_VALUES = 1024;
const CLIENT_MAX_ARRAY = 64;
const CLIENT_MAX_MAP = 32;

function clientFrameBounds(limits: ProtocolLimits): WireBounds {
  const longestChars = Math.max(
    limits.maxTextChars, limits.maxSystemPromptChars, limits.maxUrlChars, limits.maxIdChars, limits.maxStopChars,
  );
  return {
    maxStrBytes: longestChars * 4, // a code point is at most 4 UTF-8 bytes
    maxBinBytes: Math.max(limits.maxAudioChunkBytes, limits.maxImageBytes),
    maxArrayLength: Math.max(CLIENT_MAX_ARRAY, limits.maxStopSequences),
    maxMapLength: CLIENT_MAX_MAP,
    maxDepth: CLIENT_FRAME_DEPTH,
    maxValues: CLIENT_FRAME_VALUES,
  };
}

// Server frames come from a trusted gateway; the bounds only keep a broken one from exhausting memory.
function serverFrameBounds(limits: ProtocolLimits): WireBounds {
  return {
    maxStrBytes: limits.maxFrameBytes,
    maxBinBytes: limits.maxFrameBytes,
    maxArrayLength: 1 << 16,
    maxMapLength: 256,
    maxDepth: 16,
    maxValues: 1 << 20,
  };
}

function binaryRequired(sub: Subprotocol): DecodeResult<never> {
  return decodeFailure(
    'PROTO_BINARY_REQUIRED',
    sub === SUBPROTOCOL_MSGPACK ? 'vlp.v1.msgpack takes binary frames only' : 'vlp.v1.json takes text frames only',
  );
}

function frameTooLarge(bytes: number, limits: ProtocolLimits): DecodeResult<never> {
  return decodeFailure('PROTO_FRAME_TOO_LARGE', `the frame of ${bytes} bytes is over max_frame_bytes (${limits.maxFrameBytes})`);
}

/** The gateway's codec for one connection (create one per connection: it owns reusable buffers). */
export function createServerCodec(sub: Subprotocol, limits: ProtocolLimits = DEFAULT_LIMITS): ServerCodec {
  const bounds = clientFrameBounds(limits);
  const check = (raw: RawResult): DecodeResult<ClientMessage> => (raw.ok ? validateClientMessage(raw.value, limits) : raw);
  if (sub === SUBPROTOCOL_MSGPACK) {
    const wire = new MsgpackWire(bounds);
    // The per-token frame is written by hand (same bytes); every other frame by the encoder.
    const tokens = new GenTokenWire();
    return {
      subprotocol: sub,
      encode: (msg) => (msg.t === 'gen.token' ? tokens.encode(msg) : undefined) ?? wire.encode(msg),
      decode(data, isBinary) {
        if (!isBinary) return binaryRequired(sub);
        if (data.byteLength > limits.maxFrameBytes) return frameTooLarge(data.byteLength, limits);
        return check(wire.decode(data));
      },
    };
  }
  const wire = new JsonWire(bounds, { 'audio.chunk': limits.maxAudioChunkBytes, 'image.put': limits.maxImageBytes });
  return {
    subprotocol: sub,
    encode: (msg) => wire.encodeServer(msg),
    decode(data, isBinary) {
      if (isBinary) return binaryRequired(sub);
      if (data.byteLength > limits.maxFrameBytes) return frameTooLarge(data.byteLength, limits);
      return check(wire.decodeBytes(data));
    },
  };
}

/** A client's (SDK, load generator, test) codec for one connection. */
export function createClientCodec(sub: Subprotocol, limits: ProtocolLimits = DEFAULT_LIMITS): ClientCodec {
  const check = (raw: RawResult): DecodeResult<ServerMessage> => (raw.ok ? validateServerMessage(raw.value) : raw);
  if (sub === SUBPROTOCOL_MSGPACK) {
    const wire = new MsgpackWire(serverFrameBounds(limits));
    return {
      subprotocol: sub,
      encode: (msg) => wire.encode(msg),
      decode(data) {
        if (typeof data === 'string') return binaryRequired(sub);
        if (data.byteLength > limits.maxFrameBytes) return frameTooLarge(data.byteLength, limits);
        return check(wire.decode(data));
      },
    };
  }
  const wire = new JsonWire(serverFrameBounds(limits), {
    'audio.chunk': limits.maxAudioChunkBytes,
    'image.put': limits.maxImageBytes,
  });
  return {
    subprotocol: sub,
    encode: (msg) => wire.encodeClient(msg),
    decode(data) {
      if (typeof data !== 'string') return binaryRequired(sub);
      if (data.length > limits.maxFrameBytes) return frameTooLarge(data.length, limits);
      return check(wire.decodeText(data));
    },
  };
}
