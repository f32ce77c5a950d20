// Codecs: round trips on both subprotocols and both sides, and every kind of bad input the edge
// can meet (malformed bytes, wrong frame kind, oversize, ext types, __proto__, bad base64, bombs).
import { encode } from '@msgpack/msgpack';
import { describe, expect, it } from 'vitest';
import { createClientCodec, createServerCodec } from './codec.ts';
import type { DecodeResult } from './decode-result.ts';
import { DEFAULT_LIMITS } from './limits.ts';
import type { ClientMessage, ServerMessage } from './messages.ts';

const utf8 = new TextEncoder();
const mp = createServerCodec('vlp.v1.msgpack');
const js = createServerCodec('vlp.v1.json');
const raw = (value: unknown): Uint8Array => encode(value);
const json = (text: string): Uint8Array => utf8.encode(text);

function fails(r: DecodeResult<unknown>, code: string, message?: string): void {
  expect(r.ok).toBe(false);
  if (r.ok) return;
  expect(r.code).toBe(code);
  if (message !== undefined) expect(r.message).toBe(message);
}

function ok<M>(r: DecodeResult<M>): M {
  if (!r.ok) throw new Error(`${r.code}: ${r.message}`);
  return r.msg;
}

describe('round trips', () => {
  const clientMsgs: ClientMessage[] = [
    { t: 'hello', client: 'x', options: { barge_in: 'first_words', params: { stop: ['a'] } } },
    { t: 'audio.chunk', data: Uint8Array.of(1, 2, 3) },
    { t: 'audio.chunk', data: new Uint8Array(300).fill(5) }, // bin16 header on the fast path
    { t: 'audio.chunk', data: new Uint8Array(0) },
    { t: 'image.put', id: 'i', data: Uint8Array.of(0x89, 0x50) },
    { t: 'turn.start', id: 'a', text: 'héllo 世界 🎉' },
  ];
  it.each(['vlp.v1.msgpack', 'vlp.v1.json'] as const)('client → server on %s', (sub) => {
    const c = createClientCodec(sub);
    const s = createServerCodec(sub);
    for (const msg of clientMsgs) {
      const frame = c.encode(msg);
      const r = typeof frame === 'string' ? s.decode(utf8.encode(frame), false) : s.decode(frame.slice(), true);
      expect(ok(r)).toStrictEqual(msg);
    }
  });

  const serverMsgs: ServerMessage[] = [
    { t: 'gen.token', seq: 3, turn: 't', i: 0, n: 1, text: 'héllo 世界' },
    { t: 'error', seq: 4, code: 'TURN_BUSY', message: 'busy', retryable: true, fatal: false },
  ];
  it.each(['vlp.v1.msgpack', 'vlp.v1.json'] as const)('server → client on %s', (sub) => {
    const s = createServerCodec(sub);
    const c = createClientCodec(sub);
    for (const msg of serverMsgs) {
      const frame = s.encode(msg);
      expect(ok(c.decode(typeof frame === 'string' ? frame : frame.slice()))).toStrictEqual(msg);
    }
  });

  it('msgpack encode returns bytes, json a string; undefined fields are omitted', () => {
    const c = createClientCodec('vlp.v1.msgpack');
    const withUndefined = (c.encode({ t: 'turn.start', id: 'a', text: 'b', image: undefined }) as Uint8Array).slice();
    const without = (c.encode({ t: 'turn.start', id: 'a', text: 'b' }) as Uint8Array).slice();
    expect(Buffer.from(withUndefined)).toEqual(Buffer.from(without));
    expect(Object.keys(ok(mp.decode(withUndefined, true)))).toEqual(['t', 'id', 'text']);
    expect(createClientCodec('vlp.v1.json').encode({ t: 'turn.start', id: 'a', text: 'b', image: undefined })).toBe('{"t":"turn.start","id":"a","text":"b"}');
  });

  it('decoded binaries do not alias the frame buffer (the transport may reuse it)', () => {
    const frame = raw({ t: 'audio.chunk', data: Uint8Array.of(1, 2, 3, 4) });
    const msg = ok(mp.decode(frame, true));
    frame.fill(0);
    expect(msg.t === 'audio.chunk' && Array.from(msg.data)).toEqual([1, 2, 3, 4]);
  });

  it('the fast audio.chunk path and the general decoder agree', () => {
    // Same message, keys in the other order: not the canonical prefix, so the general path decodes it.
    const data = Uint8Array.of(9, 8, 7);
    const general = ok(mp.decode(raw({ data, t: 'audio.chunk' }), true));
    const fast = ok(mp.decode(raw({ t: 'audio.chunk', data }), true));
    expect(fast).toStrictEqual(general);
    fails(mp.decode(raw({ t: 'audio.chunk', data: new Uint8Array(DEFAULT_LIMITS.maxAudioChunkBytes + 1) }), true), 'AUDIO_CHUNK_TOO_LARGE', 'audio.chunk.data is larger than 65536 bytes (max_audio_chunk_bytes)');
    const trailing = new Uint8Array([...raw({ t: 'audio.chunk', data }), 0xc0]);
    fails(mp.decode(trailing, true), 'PROTO_MALFORMED');
    fails(mp.decode(raw({ t: 'audio.chunk', data }).subarray(0, 20), true), 'PROTO_MALFORMED');
  });
});

describe('bad input on vlp.v1.msgpack', () => {
  it.each<[string, number[]]>([
    ['empty', []],
    ['never-used byte 0xc1', [0xc1]],
    ['truncated map', [0x82, 0xa1, 0x74]],
    ['truncated str32 header', [0xdb, 0x00]],
    ['map32 claiming 4 billion entries', [0xdf, 0xff, 0xff, 0xff, 0xff]],
    ['trailing bytes', [0x80, 0x80]],
  ])('malformed bytes: %s', (_label, bytes) => {
    fails(mp.decode(Uint8Array.from(bytes), true), 'PROTO_MALFORMED');
  });

  it('rejects a non-map top level', () => {
    fails(mp.decode(raw([1, 2]), true), 'PROTO_MALFORMED', 'the frame is not a map');
    fails(mp.decode(raw('hello'), true), 'PROTO_MALFORMED', 'the frame is not a map');
    fails(mp.decode(raw(Uint8Array.of(1)), true), 'PROTO_MALFORMED', 'the frame is not a map');
  });

  it('rejects unknown types, missing fields, wrong types and unknown fields', () => {
    fails(mp.decode(raw({ t: 'nope' }), true), 'PROTO_UNKNOWN_TYPE');
    fails(mp.decode(raw({ t: 'turn.start', id: 'a' }), true), 'PROTO_INVALID_FIELD', 'turn.start.text is required');
    fails(mp.decode(raw({ t: 'turn.start', id: 'a', text: 'b', params: { top_k: 2.5 } }), true), 'PROTO_INVALID_FIELD', 'turn.start.params.top_k must be an integer');
    fails(mp.decode(raw({ t: 'ping', ts: 1, extra: true }), true), 'PROTO_INVALID_FIELD', 'ping.extra is not a field of vlp.v1 (unknown field)');
    fails(mp.decode(raw({ t: 'ping', ts: 1, 7: true }), true), 'PROTO_INVALID_FIELD'); // integer map key
  });

  it('rejects too-long text and too-long bins', () => {
    fails(mp.decode(raw({ t: 'turn.start', id: 'a', text: 'x'.repeat(16385) }), true), 'PROTO_FIELD_TOO_LARGE', 'turn.start.text is longer than 16384 characters');
    // Beyond the decoder's own bound (4 bytes per char of the longest string field): no field path.
    const overDecoderBound = raw({ t: 'turn.start', id: 'a', text: 'x'.repeat(16384 * 4 + 1) });
    fails(mp.decode(overDecoderBound, true), 'PROTO_FIELD_TOO_LARGE', 'a string, binary, array or map in the frame is over its limit (see ready.limits)');
    fails(mp.decode(raw({ t: 'image.put', id: 'i', data: new Uint8Array(DEFAULT_LIMITS.maxImageBytes + 1) }), true), 'PROTO_FIELD_TOO_LARGE');
    fails(mp.decode(raw({ t: 'ping', ts: 1, x: new Array(65).fill(0) }), true), 'PROTO_FIELD_TOO_LARGE');
  });

  it('rejects a __proto__ key without polluting prototypes', () => {
    const top = raw(JSON.parse('{"t":"ping","ts":1,"__proto__":{"polluted":true}}'));
    const nested = raw(JSON.parse('{"t":"hello","options":{"__proto__":{"polluted":true}}}'));
    for (const frame of [top, nested]) {
      // @msgpack/msgpack refuses the key itself; this pins the error text the codec maps.
      fails(mp.decode(frame, true), 'PROTO_INVALID_FIELD', 'a map in the frame has the key __proto__, which is not a field of vlp.v1');
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      expect((Object.prototype as Record<string, unknown>).polluted).toBeUndefined();
    }
  });

  it('rejects a text frame', () => {
    fails(mp.decode(json('{"t":"ping","ts":1}'), false), 'PROTO_BINARY_REQUIRED');
    fails(createClientCodec('vlp.v1.msgpack').decode('{"t":"pong","seq":1,"ts":1}'), 'PROTO_BINARY_REQUIRED');
  });

  it('rejects frames over max_frame_bytes', () => {
    const small = createServerCodec('vlp.v1.msgpack', { ...DEFAULT_LIMITS, maxFrameBytes: 16 });
    fails(small.decode(raw({ t: 'turn.start', id: 'a', text: 'long enough text' }), true), 'PROTO_FRAME_TOO_LARGE');
  });

  it('rejects ext types', () => {
    fails(mp.decode(raw({ t: 'ping', ts: new Date(0) }), true), 'PROTO_MALFORMED'); // timestamp ext -1
    fails(mp.decode(Uint8Array.of(0x81, 0xa1, 0x74, 0xd4, 0x05, 0x00), true), 'PROTO_MALFORMED'); // fixext1 type 5
  });

  it('stops nesting and width bombs quickly', () => {
    const deep = new Uint8Array(DEFAULT_LIMITS.maxFrameBytes).fill(0x91);
    const start = performance.now();
    fails(mp.decode(deep, true), 'PROTO_MALFORMED', 'the frame nests maps or arrays too deeply');
    const wide = new Uint8Array(5 + 3000).fill(0xc0);
    wide.set([0xdd, 0x00, 0x00, 0x0b, 0xb8]); // array32 of 3000 nils
    fails(mp.decode(wide, true), 'PROTO_FIELD_TOO_LARGE', 'the frame holds too many values');
    expect(performance.now() - start).toBeLessThan(200);
  });

  it('never throws on random or mutated bytes', () => {
    let seed = 12345;
    const rand = (n: number): number => {
      seed = (seed * 1103515245 + 12345) >>> 0;
      return seed % n;
    };
    const base = raw({ t: 'turn.start', id: 'a', text: 'hello', params: { top_k: 3, stop: ['x'] } });
    for (let i = 0; i < 5000; i++) {
      const bytes = i % 2 === 0 ? Uint8Array.from({ length: rand(40) }, () => rand(256)) : base.slice();
      if (i % 2 === 1) for (let k = 0; k < 3; k++) bytes[rand(bytes.length)] = rand(256);
      const r = mp.decode(bytes, true);
      expect(typeof r.ok).toBe('boolean');
    }
  });
});

describe('bad input on vlp.v1.json', () => {
  it('decodes base64 binaries and rejects bad base64', () => {
    expect(ok(js.decode(json('{"t":"audio.chunk","data":"AAD/fwCAAQA="}'), false))).toStrictEqual({ t: 'audio.chunk', data: Uint8Array.of(0, 0, 0xff, 0x7f, 0, 0x80, 1, 0) });
    for (const bad of ['AAD/fwCAAQA', 'AA=A', '@@@@', 'AAAA====', 'AA D', 'AAD_fwCAAQA=', 'Zg==Zg==']) {
      fails(js.decode(json(`{"t":"audio.chunk","data":"${bad}"}`), false), 'PROTO_INVALID_FIELD', 'audio.chunk.data must be standard padded base64 (RFC 4648)');
    }
    fails(js.decode(json('{"t":"image.put","id":"i","data":[1,2]}'), false), 'PROTO_INVALID_FIELD', 'image.put.data must be a base64 string');
    const big = 'A'.repeat(Math.ceil(65537 / 3) * 4);
    fails(js.decode(json(`{"t":"audio.chunk","data":"${big}"}`), false), 'AUDIO_CHUNK_TOO_LARGE', 'audio.chunk.data is larger than 65536 bytes (max_audio_chunk_bytes)');
  });

  it('rejects malformed JSON, bad UTF-8 and non-objects', () => {
    fails(js.decode(json('{"t":"ping",'), false), 'PROTO_MALFORMED', 'the frame is not valid JSON');
    fails(js.decode(Uint8Array.of(0x7b, 0xff, 0x7d), false), 'PROTO_MALFORMED', 'the frame is not valid UTF-8');
    fails(js.decode(json('[1]'), false), 'PROTO_MALFORMED', 'the frame is not a map');
    fails(js.decode(json('{"t":"ping","ts":1e999}'), false), 'PROTO_INVALID_FIELD', 'ping.ts must be a finite number');
  });

  it('rejects binary frames', () => {
    fails(js.decode(json('{"t":"ping","ts":1}'), true), 'PROTO_BINARY_REQUIRED');
    fails(createClientCodec('vlp.v1.json').decode(json('{"t":"pong","seq":1,"ts":1}')), 'PROTO_BINARY_REQUIRED');
  });

  it('rejects __proto__ and constructor keys without polluting prototypes', () => {
    fails(js.decode(json('{"t":"ping","ts":1,"__proto__":{"polluted":true}}'), false), 'PROTO_INVALID_FIELD');
    fails(js.decode(json('{"t":"hello","options":{"constructor":{"prototype":{"polluted":true}}}}'), false), 'PROTO_INVALID_FIELD');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('stops nesting bombs before JSON.parse', () => {
    const n = 4 * 1024 * 1024;
    const start = performance.now();
    fails(js.decode(json('['.repeat(n) + ']'.repeat(n)), false), 'PROTO_MALFORMED', 'the frame nests objects or arrays too deeply');
    fails(js.decode(json(`{"t":"ping","ts":1,"x":[${'0,'.repeat(2000)}0]}`), false), 'PROTO_FIELD_TOO_LARGE');
    expect(performance.now() - start).toBeLessThan(500);
    // Brackets inside strings do not count.
    expect(js.decode(json(`{"t":"turn.start","id":"a","text":"${'[{'.repeat(100)}\\"]"}`), false).ok).toBe(true);
  });
});
