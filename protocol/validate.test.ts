// validateClientMessage / validateServerMessage: shapes, types, limits, unknown fields, and that the
// result is a fresh object holding only known fields.
import { describe, expect, it } from 'vitest';
import type { DecodeResult } from './decode-result.ts';
import { DEFAULT_LIMITS } from './limits.ts';
import type { ClientMessage } from './messages.ts';
import { validateClientMessage, validateServerMessage } from './validate.ts';

const L = DEFAULT_LIMITS;
const v = (value: unknown): DecodeResult<ClientMessage> => validateClientMessage(value, L);

function fails(r: DecodeResult<unknown>, code: string, message?: string | RegExp): void {
  expect(r.ok).toBe(false);
  if (r.ok) return;
  expect(r.code).toBe(code);
  if (typeof message === 'string') expect(r.message).toBe(message);
  else if (message !== undefined) expect(r.message).toMatch(message);
}

describe('validateClientMessage: envelope', () => {
  it.each([
    ['null', null],
    ['a number', 3],
    ['a string', 'hello'],
    ['an array', [{ t: 'ping', ts: 1 }]],
    ['a Uint8Array', new Uint8Array(2)],
    ['a class instance', new (class X { t = 'ping'; ts = 1; })()],
    ['a Date', new Date()],
  ])('rejects %s as PROTO_MALFORMED', (_label, value) => {
    fails(v(value), 'PROTO_MALFORMED', 'the frame is not a map');
  });

  it('requires a string t', () => {
    fails(v({}), 'PROTO_MALFORMED', 'the frame has no string field t');
    fails(v({ t: 7 }), 'PROTO_MALFORMED');
  });

  it('rejects unknown types without echoing them and without ref', () => {
    const r = v({ t: 'gen.token' });
    fails(r, 'PROTO_UNKNOWN_TYPE');
    expect(!r.ok && r.ref).toBeUndefined();
    const secret = v({ t: 'my secret text' });
    expect(!secret.ok && secret.message).not.toContain('secret');
  });

  it('accepts null-prototype maps', () => {
    const o = Object.create(null) as Record<string, unknown>;
    o.t = 'ping';
    o.ts = 5;
    expect(v(o)).toEqual({ ok: true, msg: { t: 'ping', ts: 5 } });
  });
});

describe('validateClientMessage: every type', () => {
  it.each<[string, Record<string, unknown>]>([
    ['hello', { t: 'hello' }],
    ['session.update', { t: 'session.update', options: {} }],
    ['audio.start', { t: 'audio.start', format: { encoding: 'opus', sample_rate: 48000, channels: 1 } }],
    ['audio.end', { t: 'audio.end' }],
    ['image.put', { t: 'image.put', id: 'i', url: 'https://x.test/a.png' }],
    ['turn.start', { t: 'turn.start', id: 'a', text: '' }],
    ['turn.cancel', { t: 'turn.cancel' }],
    ['ack', { t: 'ack', seq: 0 }],
    ['ping', { t: 'ping', ts: 1.5 }],
  ])('%s: returns a fresh equal object', (_t, value) => {
    const r = v(value);
    expect(r).toEqual({ ok: true, msg: value });
    expect(r.ok && r.msg).not.toBe(value);
  });

  it('audio.chunk copies its bytes', () => {
    const data = Uint8Array.of(1, 2, 3);
    const r = v({ t: 'audio.chunk', data });
    expect(r.ok).toBe(true);
    if (!r.ok || r.msg.t !== 'audio.chunk') return;
    data[0] = 9;
    expect(Array.from(r.msg.data)).toEqual([1, 2, 3]);
    expect(r.msg.data.constructor).toBe(Uint8Array);
  });

  it('treats undefined optional fields as absent and never adds keys', () => {
    const r = v({ t: 'turn.start', id: 'a', text: 'x', image: undefined, params: { top_k: undefined } });
    expect(r.ok && Object.keys(r.msg)).toEqual(['t', 'id', 'text', 'params']);
    expect(r.ok && r.msg.t === 'turn.start' && Object.keys(r.msg.params ?? {})).toEqual([]);
  });

  it('builds keys in the interface order whatever the input order', () => {
    const r = v({ params: { seed: 1, top_k: 2 }, text: 'x', id: 'a', t: 'turn.start' });
    expect(r.ok && Object.keys(r.msg)).toEqual(['t', 'id', 'text', 'params']);
    expect(r.ok && r.msg.t === 'turn.start' && Object.keys(r.msg.params ?? {})).toEqual(['top_k', 'seed']);
  });
});

describe('validateClientMessage: fields', () => {
  it('names missing fields', () => {
    fails(v({ t: 'turn.start', id: 'a' }), 'PROTO_INVALID_FIELD', 'turn.start.text is required');
    fails(v({ t: 'audio.chunk' }), 'PROTO_INVALID_FIELD', 'audio.chunk.data is required');
    fails(v({ t: 'ack' }), 'PROTO_INVALID_FIELD', 'ack.seq is required');
    fails(v({ t: 'hello', resume: { session_id: 's', token: 'k' } }), 'PROTO_INVALID_FIELD', 'hello.resume.last_seq is required');
    const r = v({ t: 'session.update' });
    fails(r, 'PROTO_INVALID_FIELD', 'session.update.options is required');
    expect(!r.ok && r.ref).toBe('session.update');
  });

  it('names wrong types without echoing values', () => {
    fails(v({ t: 'turn.start', id: 'a', text: 'x', params: { top_k: 1.5 } }), 'PROTO_INVALID_FIELD', 'turn.start.params.top_k must be an integer');
    fails(v({ t: 'turn.start', id: 'a', text: 42 }), 'PROTO_INVALID_FIELD', 'turn.start.text must be a string');
    fails(v({ t: 'turn.start', id: 'a', text: null }), 'PROTO_INVALID_FIELD', 'turn.start.text must be a string');
    fails(v({ t: 'audio.chunk', data: 'AAAA' }), 'PROTO_INVALID_FIELD', 'audio.chunk.data must be binary');
    fails(v({ t: 'ping', ts: Number.NaN }), 'PROTO_INVALID_FIELD', 'ping.ts must be a finite number');
    fails(v({ t: 'ack', seq: -1 }), 'PROTO_INVALID_FIELD', 'ack.seq must be a non-negative integer');
    fails(v({ t: 'playback.truncate', turn: 'v1', heard_chars: -1 }), 'PROTO_INVALID_FIELD', 'playback.truncate.heard_chars must be a non-negative integer');
    fails(v({ t: 'playback.truncate', turn: 'v1', heard_chars: 2.5 }), 'PROTO_INVALID_FIELD', 'playback.truncate.heard_chars must be a non-negative integer');
    fails(v({ t: 'playback.truncate', heard_chars: 3 }), 'PROTO_INVALID_FIELD', 'playback.truncate.turn is required');
    fails(v({ t: 'playback.truncate', turn: 'v1', heard_chars: 3, ms: 200 }), 'PROTO_INVALID_FIELD', /playback\.truncate.*ms/);
    fails(v({ t: 'hello', options: [] }), 'PROTO_INVALID_FIELD', 'hello.options must be a map');
  });

  it('checks every GenParams type but no ranges', () => {
    const where = 'session.update.options.params';
    const bad: [string, unknown, string][] = [
      ['max_new_tokens', 1.5, 'must be an integer'],
      ['temperature', '0.7', 'must be a finite number'],
      ['temperature', Number.POSITIVE_INFINITY, 'must be a finite number'],
      ['top_k', true, 'must be an integer'],
      ['top_p', null, 'must be a finite number'],
      ['typical_p', [], 'must be a finite number'],
      ['repetition_penalty', {}, 'must be a finite number'],
      ['stop', 'END', 'must be an array'],
      ['seed', 2.5, 'must be an integer'],
      ['do_sample', 1, 'must be a boolean'],
      ['truncate', '10', 'must be an integer'],
      ['watermark', 'no', 'must be a boolean'],
      ['best_of', 1.1, 'must be an integer'],
      ['return_full_text', 0, 'must be a boolean'],
      ['decoder_input_details', 'false', 'must be a boolean'],
      ['details', null, 'must be a boolean'],
    ];
    for (const [key, value, what] of bad) {
      fails(v({ t: 'session.update', options: { params: { [key]: value } } }), 'PROTO_INVALID_FIELD', `${where}.${key} ${what}`);
    }
    fails(v({ t: 'session.update', options: { params: { stop: ['a', 3] } } }), 'PROTO_INVALID_FIELD', `${where}.stop[1] must be a string`);
    // Out-of-range but well-typed values pass: the session answers INPUT_PARAM_OUT_OF_RANGE.
    const r = v({ t: 'session.update', options: { params: { temperature: -5, top_k: 0, top_p: 7, max_new_tokens: 1e9, best_of: 4, seed: -1 } } });
    expect(r.ok).toBe(true);
  });

  it('checks SessionOptions and AudioFormat by type', () => {
    fails(v({ t: 'hello', options: { barge_in: 'always' } }), 'PROTO_INVALID_FIELD', 'hello.options.barge_in must be one of off, speech_start, first_words');
    fails(v({ t: 'hello', options: { plan: 'yes' } }), 'PROTO_INVALID_FIELD', 'hello.options.plan must be a boolean');
    fails(v({ t: 'hello', options: { model: '' } }), 'PROTO_INVALID_FIELD', 'hello.options.model must not be empty');
    const fmt = (format: unknown): DecodeResult<ClientMessage> => v({ t: 'audio.start', format });
    fails(fmt({ encoding: 'mp3', sample_rate: 16000, channels: 1 }), 'PROTO_INVALID_FIELD', /^audio\.start\.format\.encoding must be one of pcm16, f32/);
    fails(fmt({ encoding: 'pcm16', sample_rate: 0, channels: 1 }), 'PROTO_INVALID_FIELD', 'audio.start.format.sample_rate must be a positive integer');
    fails(fmt({ encoding: 'pcm16', sample_rate: 16000.5, channels: 1 }), 'PROTO_INVALID_FIELD', 'audio.start.format.sample_rate must be a positive integer');
    fails(fmt({ encoding: 'pcm16', sample_rate: 16000 }), 'PROTO_INVALID_FIELD', 'audio.start.format.channels is required');
    // Range (e.g. 2 channels, 11025 Hz) is the audio module's job.
    expect(fmt({ encoding: 'pcm16', sample_rate: 11025, channels: 2 }).ok).toBe(true);
  });

  it('requires exactly one of image.put data and url', () => {
    fails(v({ t: 'image.put', id: 'i' }), 'PROTO_INVALID_FIELD', 'image.put must have exactly one of data and url');
    fails(v({ t: 'image.put', id: 'i', url: 'https://x.test/a', data: new Uint8Array(1) }), 'PROTO_INVALID_FIELD', 'image.put must have exactly one of data and url');
    expect(v({ t: 'image.put', id: 'i', data: new Uint8Array(1) }).ok).toBe(true);
  });

  it('rejects empty ids', () => {
    fails(v({ t: 'turn.start', id: '', text: 'x' }), 'PROTO_INVALID_FIELD', 'turn.start.id must not be empty');
    fails(v({ t: 'turn.cancel', id: '' }), 'PROTO_INVALID_FIELD', 'turn.cancel.id must not be empty');
  });
});

describe('validateClientMessage: unknown fields', () => {
  it.each<[string, Record<string, unknown>, string]>([
    ['top level', { t: 'ping', ts: 1, extra: 1 }, 'ping.extra is not a field of vlp.v1 (unknown field)'],
    ['hot path', { t: 'audio.chunk', data: new Uint8Array(1), seq: 1 }, 'audio.chunk.seq is not a field of vlp.v1 (unknown field)'],
    ['nested options', { t: 'hello', options: { voice: 'x' } }, 'hello.options.voice is not a field of vlp.v1 (unknown field)'],
    ['nested params', { t: 'turn.start', id: 'a', text: 'b', params: { n: 2 } }, 'turn.start.params.n is not a field of vlp.v1 (unknown field)'],
    ['resume', { t: 'hello', resume: { session_id: 's', token: 'k', last_seq: 1, x: 1 } }, 'hello.resume.x is not a field of vlp.v1 (unknown field)'],
    ['format', { t: 'audio.start', format: { encoding: 'pcm16', sample_rate: 1, channels: 1, bits: 16 } }, 'audio.start.format.bits is not a field of vlp.v1 (unknown field)'],
    ['constructor', { t: 'audio.end', constructor: 1 }, 'audio.end.constructor is not a field of vlp.v1 (unknown field)'],
  ])('%s', (_label, value, message) => {
    fails(v(value), 'PROTO_INVALID_FIELD', message);
  });

  it('rejects an own __proto__ key (as JSON.parse creates it)', () => {
    const value: unknown = JSON.parse('{"t":"ping","ts":1,"__proto__":{"polluted":true}}');
    fails(v(value), 'PROTO_INVALID_FIELD', 'ping.__proto__ is not a field of vlp.v1 (unknown field)');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('does not echo keys that do not look like field names', () => {
    const r = v({ t: 'ping', ts: 1, 'my password is hunter2': 1 });
    fails(r, 'PROTO_INVALID_FIELD', 'ping has an unknown field');
  });
});

describe('validateClientMessage: limits', () => {
  it('bounds strings by characters', () => {
    fails(v({ t: 'turn.start', id: 'a', text: 'x'.repeat(L.maxTextChars + 1) }), 'PROTO_FIELD_TOO_LARGE', 'turn.start.text is longer than 16384 characters');
    expect(v({ t: 'turn.start', id: 'a', text: 'é'.repeat(L.maxTextChars) }).ok).toBe(true);
    // Characters are code points: 16384 emoji (32768 UTF-16 units) fit, one more does not.
    expect(v({ t: 'turn.start', id: 'a', text: '😀'.repeat(L.maxTextChars) }).ok).toBe(true);
    fails(v({ t: 'turn.start', id: 'a', text: '😀'.repeat(L.maxTextChars + 1) }), 'PROTO_FIELD_TOO_LARGE');
    fails(v({ t: 'turn.start', id: 'a'.repeat(65), text: 'x' }), 'PROTO_FIELD_TOO_LARGE', 'turn.start.id is longer than 64 characters');
    fails(v({ t: 'hello', options: { system_prompt: 's'.repeat(8193) } }), 'PROTO_FIELD_TOO_LARGE', 'hello.options.system_prompt is longer than 8192 characters');
    fails(v({ t: 'image.put', id: 'i', url: 'u'.repeat(2049) }), 'PROTO_FIELD_TOO_LARGE', 'image.put.url is longer than 2048 characters');
  });

  it('bounds binaries by bytes', () => {
    fails(v({ t: 'audio.chunk', data: new Uint8Array(L.maxAudioChunkBytes + 1) }), 'AUDIO_CHUNK_TOO_LARGE', 'audio.chunk.data is larger than 65536 bytes (max_audio_chunk_bytes)');
    expect(v({ t: 'audio.chunk', data: new Uint8Array(L.maxAudioChunkBytes) }).ok).toBe(true);
    fails(v({ t: 'image.put', id: 'i', data: new Uint8Array(L.maxImageBytes + 1) }), 'PROTO_FIELD_TOO_LARGE', 'image.put.data is larger than 6291456 bytes');
  });

  it('bounds stop lists', () => {
    const p = (stop: unknown): DecodeResult<ClientMessage> => v({ t: 'turn.start', id: 'a', text: 'b', params: { stop } });
    fails(p(['1', '2', '3', '4', '5']), 'PROTO_FIELD_TOO_LARGE', 'turn.start.params.stop has more than 4 entries');
    fails(p(['ok', 's'.repeat(65)]), 'PROTO_FIELD_TOO_LARGE', 'turn.start.params.stop[1] is longer than 64 characters');
    expect(p(['1', '2', '3', 's'.repeat(64)]).ok).toBe(true);
    expect(p(['🛑'.repeat(64)]).ok).toBe(true);
  });

  it('uses the limits it is given', () => {
    const tight = { ...L, maxTextChars: 3 };
    expect(validateClientMessage({ t: 'turn.start', id: 'a', text: 'abcd' }, tight).ok).toBe(false);
  });
});

describe('validateServerMessage', () => {
  it('checks t and seq', () => {
    fails(validateServerMessage([]), 'PROTO_MALFORMED');
    fails(validateServerMessage({ t: 'hello' }), 'PROTO_UNKNOWN_TYPE');
    fails(validateServerMessage({ t: 'pong', ts: 1 }), 'PROTO_INVALID_FIELD', 'pong.seq is required');
    fails(validateServerMessage({ t: 'pong', seq: 1.5, ts: 1 }), 'PROTO_INVALID_FIELD', 'pong.seq must be a non-negative integer');
    fails(validateServerMessage({ t: 'pong', seq: -1, ts: 1 }), 'PROTO_INVALID_FIELD');
    expect(validateServerMessage({ t: 'pong', seq: 0, ts: 1 }).ok).toBe(true); // outside a session
  });

  it('checks required fields, enums and nested shapes', () => {
    fails(validateServerMessage({ t: 'gen.token', seq: 1, turn: 't', i: 0, text: 'x' }), 'PROTO_INVALID_FIELD', 'gen.token.n is required');
    fails(validateServerMessage({ t: 'gen.done', seq: 1, turn: 't', finish: 'done', tokens: 1, ttft_ms: 1, total_ms: 1, text: '' }), 'PROTO_INVALID_FIELD', /^gen\.done\.finish must be one of/);
    fails(validateServerMessage({ t: 'error', seq: 1, code: 'NOPE', message: '', retryable: false, fatal: false }), 'PROTO_INVALID_FIELD', 'error.code must be an error code of protocol/errors.ts');
    fails(
      validateServerMessage({ t: 'detect.boxes', seq: 1, turn: 't', image: 'i', size: [1, 2], boxes: [{ id: 0, label: 'a', score: 1, box: [1, 2, 3] }] }),
      'PROTO_INVALID_FIELD',
      'detect.boxes.boxes[0].box must be [x0, y0, x1, y1]',
    );
    fails(validateServerMessage({ t: 'mask.frame', seq: 1, turn: 't', id: 0, label: 'a', score: 1, rle: { size: [3], counts: '' } }), 'PROTO_INVALID_FIELD', 'mask.frame.rle.size must be [height, width]');
  });

  it('drops unknown fields (forward compatible) and returns a fresh object', () => {
    const input = { t: 'goaway', seq: 9, reason: 'idle', time_left_ms: 0, future: true };
    const r = validateServerMessage(input);
    expect(r).toEqual({ ok: true, msg: { t: 'goaway', seq: 9, reason: 'idle', time_left_ms: 0 } });
    expect(r.ok && r.msg).not.toBe(input);
  });
});
