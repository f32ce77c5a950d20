// Integration: every bad input gets its documented error code; only the documented ones close the
// connection; the process keeps serving other sessions while one client misbehaves.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encode } from '@msgpack/msgpack';
import { RawClient, startStack, TRANSPORTS, type Stack } from './harness.ts';
import type { ErrorMsg, GenDoneMsg } from '../protocol/messages.ts';
import type { RequestEvent } from '../sim/tgi/index.ts';

const isError = (code: string) => (m: { t: string; code?: string }) => m.t === 'error' && m.code === code;

describe.each(TRANSPORTS)('bad input over %s', (transport) => {
  let stack: Stack;
  const upstream: RequestEvent[] = [];
  beforeAll(async () => {
    stack = await startStack(transport, { config: { limits: { maxFrameBytes: 64 * 1024 } } });
    stack.sim.events.on('request', (e) => upstream.push(e));
  });
  afterAll(async () => {
    await stack.close();
  });

  async function expectError(c: RawClient, code: string): Promise<ErrorMsg> {
    const e = await c.waitFor<ErrorMsg>(isError(code));
    expect(e.message.length).toBeGreaterThan(0);
    return e;
  }

  it('malformed msgpack → PROTO_MALFORMED, session goes on', async () => {
    const c = await RawClient.session(stack.url);
    c.sendRaw(new Uint8Array([0xc1, 0xff, 0x00]));
    await expectError(c, 'PROTO_MALFORMED');
    c.send({ t: 'ping', ts: 1 });
    await c.waitFor((m) => m.t === 'pong');
    c.close();
  });

  it('unknown type, missing field, mistyped field, unknown field', async () => {
    const c = await RawClient.session(stack.url);
    c.sendRaw(encode({ t: 'turn.explode' }));
    expect(await expectError(c, 'PROTO_UNKNOWN_TYPE')).toMatchObject({ fatal: false });
    c.sendRaw(encode({ t: 'turn.start', id: 'a' }));
    expect((await expectError(c, 'PROTO_INVALID_FIELD')).ref).toBe('turn.start');
    const n = c.frames.length;
    c.sendRaw(encode({ t: 'turn.start', id: 'a', text: 5 }));
    await c.waitFor(isError('PROTO_INVALID_FIELD'), 5000, n);
    const n2 = c.frames.length;
    c.sendRaw(encode({ t: 'turn.start', id: 'a', text: 'x', params: { top_k: 'many' } }));
    await c.waitFor(isError('PROTO_INVALID_FIELD'), 5000, n2);
    const n3 = c.frames.length;
    c.sendRaw(encode({ t: 'ping', ts: 1, extra: true }));
    await c.waitFor(isError('PROTO_INVALID_FIELD'), 5000, n3);
    c.close();
  });

  it('a text frame on vlp.v1.msgpack → PROTO_BINARY_REQUIRED', async () => {
    const c = await RawClient.session(stack.url);
    c.sendRaw('{"t":"ping","ts":1}');
    await expectError(c, 'PROTO_BINARY_REQUIRED');
    c.close();
  });

  it('a frame over max_frame_bytes → PROTO_FRAME_TOO_LARGE and close 1009', async () => {
    const c = await RawClient.session(stack.url);
    c.sendRaw(new Uint8Array(64 * 1024 + 10));
    const e = await expectError(c, 'PROTO_FRAME_TOO_LARGE');
    expect(e.fatal).toBe(true);
    expect(await c.waitClose()).toBe(1009);
  });

  it('messages before hello → SESSION_NOT_STARTED (seq 0), then hello still works', async () => {
    const c = await RawClient.open(stack.url);
    c.send({ t: 'turn.start', id: 'a', text: 'hi' });
    const e = await expectError(c, 'SESSION_NOT_STARTED');
    expect(e.seq).toBe(0);
    c.send({ t: 'hello' });
    expect(await c.waitFor((m) => m.t === 'ready')).toMatchObject({ seq: 1 });
    c.close();
  });

  it('a second hello → SESSION_ALREADY_STARTED', async () => {
    const c = await RawClient.session(stack.url);
    c.send({ t: 'hello' });
    await expectError(c, 'SESSION_ALREADY_STARTED');
    c.close();
  });

  it('a turn while one is running → TURN_BUSY; reused id → TURN_ID_REUSED; unknown cancel → TURN_NOT_FOUND', async () => {
    const c = await RawClient.session(stack.url);
    c.send({ t: 'turn.start', id: 'a', text: 'long one', params: { max_new_tokens: 30 } });
    c.send({ t: 'turn.start', id: 'b', text: 'second' });
    expect(await expectError(c, 'TURN_BUSY')).toMatchObject({ turn: 'b', retryable: true });
    c.send({ t: 'turn.cancel', id: 'zzz' });
    await expectError(c, 'TURN_NOT_FOUND');
    await c.waitFor((m) => m.t === 'gen.done' && m.turn === 'a');
    c.send({ t: 'turn.start', id: 'a', text: 'again' });
    await expectError(c, 'TURN_ID_REUSED');
    c.close();
  });

  it('input checks happen before any upstream call', async () => {
    const c = await RawClient.session(stack.url);
    const before = upstream.length;
    c.send({ t: 'turn.start', id: 'e1', text: '   ' });
    await expectError(c, 'INPUT_TEXT_EMPTY');
    c.send({ t: 'turn.start', id: 'e2', text: 'hi', model: 'gpt-17' });
    await expectError(c, 'INPUT_MODEL_UNKNOWN');
    const cases: [string, Record<string, unknown>][] = [
      ['temperature', { temperature: 0 }],
      ['top_p', { top_p: 1 }],
      ['top_k', { top_k: 0 }],
      ['max_new_tokens', { max_new_tokens: 100_000 }],
      ['typical_p', { typical_p: 1.5 }],
      ['repetition_penalty', { repetition_penalty: 0 }],
      ['best_of', { best_of: 2 }],
      ['decoder_input_details', { decoder_input_details: true }],
      ['truncate', { truncate: 0 }],
    ];
    for (const [field, params] of cases) {
      const n = c.frames.length;
      c.send({ t: 'turn.start', id: `p-${field}`, text: 'hi', params });
      const e = await c.waitFor<ErrorMsg>((m) => m.t === 'error', 5000, n);
      expect(e.code, field).toBe('INPUT_PARAM_OUT_OF_RANGE');
      expect(e.message).toContain(field);
      expect(e.turn).toBe(`p-${field}`);
    }
    // Over-long arrays are refused by the codec itself.
    const n = c.frames.length;
    c.send({ t: 'turn.start', id: 'p-stop', text: 'hi', params: { stop: ['a', 'b', 'c', 'd', 'e'] } });
    expect(await c.waitFor<ErrorMsg>((m) => m.t === 'error', 5000, n)).toMatchObject({ code: 'PROTO_FIELD_TOO_LARGE' });
    expect(upstream.length).toBe(before);
    c.close();
  });

  it('audio.chunk before audio.start → AUDIO_FORMAT_MISSING, session goes on', async () => {
    const c = await RawClient.session(stack.url);
    c.send({ t: 'audio.chunk', data: new Uint8Array(640) });
    expect(await expectError(c, 'AUDIO_FORMAT_MISSING')).toMatchObject({ ref: 'audio.chunk', fatal: false });
    c.send({ t: 'turn.start', id: 'ok', text: 'still here?', params: { max_new_tokens: 3 } });
    await c.waitFor((m) => m.t === 'gen.done');
    c.close();
  });

  it('invalid session options → SESSION_OPTION_INVALID', async () => {
    const c = await RawClient.session(stack.url);
    c.send({ t: 'session.update', options: { model: 'nope' } });
    await expectError(c, 'SESSION_OPTION_INVALID');
    c.send({ t: 'session.update', options: { params: { temperature: -1 } } });
    const e = await c.waitFor<ErrorMsg>((m) => m.t === 'error' && m.code === 'SESSION_OPTION_INVALID' && m.message.includes('temperature'));
    expect(e.fatal).toBe(false);
    c.close();
  });

  it('a flood of garbage from one client leaves other sessions unaffected', async () => {
    const good = await RawClient.session(stack.url);
    const bad = await RawClient.session(stack.url);
    good.send({ t: 'turn.start', id: 'g', text: 'answer me', params: { max_new_tokens: 20 } });
    for (let k = 0; k < 300; k++) bad.sendRaw(new Uint8Array([0x92, k & 0xff, 0xc1]));
    const done = await good.waitFor<GenDoneMsg>((m) => m.t === 'gen.done');
    expect(done.tokens).toBe(20);
    await bad.waitFor(isError('PROTO_MALFORMED'));
    good.close();
    bad.close();
  });

  it('exceeding the message rate → PROTO_RATE_LIMITED (once per second), session survives', async () => {
    const limited = await startStack(transport, { config: { limits: { maxMessagesPerSec: 5 } } });
    try {
      const c = await RawClient.session(limited.url);
      for (let k = 0; k < 30; k++) c.send({ t: 'ping', ts: k });
      await expectError(c, 'PROTO_RATE_LIMITED');
      // At most one PROTO_RATE_LIMITED per second, however many messages were dropped.
      await new Promise((r) => setTimeout(r, 100));
      const errors = c.frames.filter((f) => f.t === 'error').length;
      expect(errors).toBeGreaterThanOrEqual(1);
      expect(errors).toBeLessThanOrEqual(2);
      expect(c.closeCode).toBeUndefined();
      c.close();
    } finally {
      await limited.close();
    }
  });

  it('more sessions than max_sessions → SERVER_AT_CAPACITY and close 1008', async () => {
    const small = await startStack(transport, { config: { limits: { maxSessions: 1 } } });
    try {
      const a = await RawClient.session(small.url);
      const b = await RawClient.open(small.url);
      await expectError(b, 'SERVER_AT_CAPACITY');
      expect(await b.waitClose()).toBe(1008);
      a.close();
    } finally {
      await small.close();
    }
  });
});
