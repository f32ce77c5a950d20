// Integration: what bounds a connection before its hello. Sockets awaiting hello count against
// max_sessions (at connect time, and again when hello starts a session); a socket that never
// sends hello is closed after limits.helloTimeoutMs; error replies before hello are throttled, and
// a client that does not read them is closed as a slow consumer.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encode } from '@msgpack/msgpack';
import { RawClient, startStack, TRANSPORTS, type Stack } from './harness.ts';
import type { ErrorMsg, ReadyMsg, ServerMessage } from '../protocol/messages.ts';
import { ConnectionHandlerCtx } from '../src/session/connection.ts';
import { FakeConnection } from './fake-connection.ts';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const isError = (code: string) => (m: ServerMessage) => m.t === 'error' && m.code === code;
const errorsOf = (c: RawClient): ErrorMsg[] => c.frames.filter((f): f is ErrorMsg => f.t === 'error');

describe.each(TRANSPORTS)('limits before hello over %s', (transport) => {
  describe('max_sessions', () => {
    let stack: Stack;
    beforeAll(async () => {
      stack = await startStack(transport, { config: { limits: { maxSessions: 2 } } });
    });
    afterAll(async () => {
      await stack.close();
    });

    it('connections awaiting hello count: the one past the cap is refused at connect time', async () => {
      const a = await RawClient.open(stack.url);
      const b = await RawClient.open(stack.url);
      const c = await RawClient.open(stack.url);
      const refused = await c.waitFor<ErrorMsg>(isError('SERVER_AT_CAPACITY'));
      expect(refused).toMatchObject({ seq: 0, fatal: true, retryable: true });
      expect(await c.waitClose()).toBe(1008);
      // The two that were let in still get their sessions, and no more than two exist.
      a.send({ t: 'hello' });
      b.send({ t: 'hello' });
      await a.waitFor((m) => m.t === 'ready');
      await b.waitFor((m) => m.t === 'ready');
      expect(stack.gw.sessions.size).toBe(2);
      const d = await RawClient.open(stack.url);
      await d.waitFor(isError('SERVER_AT_CAPACITY'));
      expect(await d.waitClose()).toBe(1008);
      a.close();
      b.close();
      await a.waitClose();
      await b.waitClose();
      // Closing their connections detaches the sessions (resume window): they still count.
      const e = await RawClient.open(stack.url);
      expect(await e.waitClose()).toBe(1008);
      for (const s of [...stack.gw.sessions.values()]) s.close('disconnect');
    });

    it('a connection awaiting hello frees its slot when it closes', async () => {
      const a = await RawClient.open(stack.url);
      const b = await RawClient.open(stack.url);
      a.close();
      await a.waitClose();
      await sleep(50); // the server sees the close
      const c = await RawClient.open(stack.url);
      c.send({ t: 'hello' });
      await c.waitFor((m) => m.t === 'ready');
      b.send({ t: 'hello' });
      await b.waitFor((m) => m.t === 'ready');
      expect(stack.gw.sessions.size).toBe(2);
      b.close();
      c.close();
      await b.waitClose();
      await c.waitClose();
      for (const s of [...stack.gw.sessions.values()]) s.close('disconnect');
    });

    it('a hello that would start a session past the cap → SERVER_AT_CAPACITY and close 1008', async () => {
      const a = await RawClient.open(stack.url);
      // Sessions started some other way than this connection's hello fill the table meanwhile.
      const one = stack.gw.create();
      const two = stack.gw.create();
      expect(one.ok && two.ok).toBe(true);
      a.send({ t: 'hello' });
      const e = await a.waitFor<ErrorMsg>(isError('SERVER_AT_CAPACITY'));
      expect(e).toMatchObject({ seq: 0, fatal: true });
      expect(await a.waitClose()).toBe(1008);
      expect(a.frames.some((f) => f.t === 'ready')).toBe(false);
      expect(stack.gw.sessions.size).toBe(2);
      expect(stack.gw.create().ok).toBe(false);
      for (const s of [...stack.gw.sessions.values()]) s.close('disconnect');
    });
  });

  it('a new-session hello while the gateway shuts down → SERVER_SHUTTING_DOWN and close 1001', async () => {
    const stack = await startStack(transport, { sim: { ttftMs: 5_000 } });
    try {
      const a = await RawClient.session(stack.url);
      a.send({ t: 'turn.start', id: 'slow', text: 'take your time' });
      await a.waitFor((m) => m.t === 'turn.started');
      const b = await RawClient.open(stack.url);
      const down = stack.gw.shutdown(10_000); // waits for a's turn: b's socket stays open
      b.send({ t: 'hello' });
      await b.waitFor(isError('SERVER_SHUTTING_DOWN'));
      expect(await b.waitClose()).toBe(1001);
      expect(b.frames.some((f) => f.t === 'ready')).toBe(false);
      a.send({ t: 'turn.cancel', id: 'slow' });
      await down;
    } finally {
      await stack.close();
    }
  });

  describe('hello timeout', () => {
    let stack: Stack;
    beforeAll(async () => {
      stack = await startStack(transport, { config: { limits: { helloTimeoutMs: 1000 } } });
    });
    afterAll(async () => {
      await stack.close();
    });

    it('a connection without hello is closed with SESSION_IDLE_TIMEOUT / 4002; sessions are not', async () => {
      const opened = Date.now();
      const silent = await RawClient.open(stack.url);
      const chatty = await RawClient.open(stack.url);
      const started = await RawClient.session(stack.url);
      // Messages other than hello do not extend the deadline.
      chatty.send({ t: 'ping', ts: 1 });
      await chatty.waitFor(isError('SESSION_NOT_STARTED'));
      await sleep(500);
      chatty.send({ t: 'ping', ts: 2 });
      const e = await silent.waitFor<ErrorMsg>(isError('SESSION_IDLE_TIMEOUT'), 4000);
      expect(e).toMatchObject({ seq: 0, fatal: true, retryable: true, message: 'no hello within 1000 ms' });
      expect(await silent.waitClose()).toBe(4002);
      expect(Date.now() - opened).toBeGreaterThanOrEqual(1000);
      await chatty.waitFor(isError('SESSION_IDLE_TIMEOUT'), 4000);
      expect(await chatty.waitClose()).toBe(4002);
      // The connection that sent hello in time lives on.
      expect(started.closeCode).toBeUndefined();
      started.send({ t: 'ping', ts: 3 });
      await started.waitFor((m) => m.t === 'pong');
      expect(started.frames.some((f) => f.t === 'error')).toBe(false);
      started.close();
    });

    it('a resuming hello in time also stops the clock', async () => {
      const a = await RawClient.session(stack.url);
      const ready = a.frames[0] as ReadyMsg;
      const b = await RawClient.open(stack.url);
      b.send({ t: 'hello', resume: { session_id: ready.session_id, token: ready.resume_token, last_seq: 1 } });
      await b.waitFor((m) => m.t === 'ready');
      expect(await a.waitClose()).toBe(4009);
      await sleep(2200);
      expect(b.closeCode).toBeUndefined();
      b.close();
    });
  });

  describe('error replies before hello', () => {
    let stack: Stack;
    beforeAll(async () => {
      stack = await startStack(transport);
    });
    afterAll(async () => {
      await stack.close();
    });

    it('are sent at most once per second; hello still works', async () => {
      const c = await RawClient.open(stack.url);
      for (let k = 0; k < 30; k++) c.send({ t: 'ping', ts: k });
      for (let k = 0; k < 20; k++) c.sendRaw(new Uint8Array([0xc1, k]));
      for (let k = 0; k < 20; k++) c.sendRaw(encode({ t: 'turn.explode', k }));
      await c.waitFor(isError('SESSION_NOT_STARTED'));
      await sleep(300);
      expect(errorsOf(c)).toHaveLength(1);
      expect(errorsOf(c)[0]).toMatchObject({ seq: 0, fatal: false });
      await sleep(900); // over a second after the first reply
      c.sendRaw(new Uint8Array([0xc1, 0xff]));
      const second = await c.waitFor<ErrorMsg>(isError('PROTO_MALFORMED'));
      expect(second.seq).toBe(0);
      expect(errorsOf(c)).toHaveLength(2);
      expect(c.closeCode).toBeUndefined();
      c.send({ t: 'hello' });
      await c.waitFor((m) => m.t === 'ready');
      // Inside a session errors go through the outbox as before: every one is answered.
      for (let k = 0; k < 5; k++) c.sendRaw(new Uint8Array([0xc1, k]));
      await c.waitFor(() => errorsOf(c).length === 7);
      c.close();
    });
  });
});


describe('a client that does not read before hello', () => {
  const highWaterBytes = 1024;
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack('ws', { config: { limits: { highWaterBytes } } });
  });
  afterAll(async () => {
    await stack.close();
  });

  const bad = encode({ t: 'ping', ts: 1 }); // before hello: SESSION_NOT_STARTED

  it('is closed with SESSION_SLOW_CONSUMER / 4008 once its unread bytes pass the high-water mark', () => {
    const conn = new FakeConnection(highWaterBytes);
    const ctx = new ConnectionHandlerCtx(conn, stack.gw.ctx, stack.gw);
    ctx.onMessage(bad, true);
    expect(conn.sent.map((m) => m.t === 'error' && m.code)).toEqual(['SESSION_NOT_STARTED']);
    expect(conn.closed).toBeUndefined();
    conn.buffered = highWaterBytes + 1; // the client stopped reading
    ctx.onMessage(bad, true);
    expect(conn.closed).toEqual({ code: 4008, reason: 'SESSION_SLOW_CONSUMER' });
    expect(conn.sent.at(-1)).toMatchObject({ t: 'error', seq: 0, code: 'SESSION_SLOW_CONSUMER', fatal: true });
    const n = conn.sent.length;
    for (let k = 0; k < 10; k++) ctx.onMessage(bad, true);
    expect(conn.sent).toHaveLength(n);
  });

  it('is closed as soon as an error reply pushes it over the mark', () => {
    const conn = new FakeConnection(highWaterBytes);
    const ctx = new ConnectionHandlerCtx(conn, stack.gw.ctx, stack.gw);
    conn.buffered = highWaterBytes - 8;
    ctx.onMessage(bad, true);
    expect(conn.sent.map((m) => m.t === 'error' && m.code)).toEqual(['SESSION_NOT_STARTED', 'SESSION_SLOW_CONSUMER']);
    expect(conn.closed).toEqual({ code: 4008, reason: 'SESSION_SLOW_CONSUMER' });
  });

  it('throttles the replies that would fill that buffer', () => {
    const conn = new FakeConnection(highWaterBytes);
    const ctx = new ConnectionHandlerCtx(conn, stack.gw.ctx, stack.gw);
    for (let k = 0; k < 100; k++) ctx.onMessage(bad, true);
    expect(conn.sent).toHaveLength(1);
    expect(conn.closed).toBeUndefined();
  });
});
