// A fatal error frame (and goaway) concerns the connection it is sent on: it is written at once,
// ahead of frames waiting behind backpressure, before the close; and it is not kept for replay, so
// a resuming client never gets a stale `fatal: true` error. Server-side FakeConnections let the
// test stall a client's socket exactly (its send reports backpressure).
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { encode } from '@msgpack/msgpack';
import { startStack, type Stack } from './harness.ts';
import type { ClientMessage, ErrorMsg, ReadyMsg, ServerMessage } from '../protocol/messages.ts';
import { ConnectionHandlerCtx } from '../src/session/connection.ts';
import { FakeConnection } from './fake-connection.ts';



/** A connection with a started session (hello → ready) on `stack`'s gateway. */
function connect(stack: Stack): { conn: FakeConnection; ctx: ConnectionHandlerCtx; ready: ReadyMsg; send(m: ClientMessage): void } {
  const conn = new FakeConnection();
  const ctx = new ConnectionHandlerCtx(conn, stack.gw.ctx, stack.gw);
  const send = (m: ClientMessage): void => ctx.onMessage(encode(m), true);
  send({ t: 'hello' });
  const ready = conn.sent.find((m): m is ReadyMsg => m.t === 'ready');
  if (!ready) throw new Error('no ready');
  return { conn, ctx, ready, send };
}

const errorsOf = (frames: readonly ServerMessage[]): ErrorMsg[] => frames.filter((f): f is ErrorMsg => f.t === 'error');
const pongTs = (frames: readonly ServerMessage[]): number[] => frames.flatMap((f) => (f.t === 'pong' ? [f.ts] : []));

describe('slow consumer', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack('ws', { config: { limits: { outboxMaxFrames: 8 } } });
  });
  afterAll(async () => {
    await stack.close();
  });

  /** Stalls the client and overflows its outbox: pong 1 is written (the send that reports
   *  backpressure), pongs 2..10 wait; the 9th waiting frame is one too many. */
  function overflow(a: ReturnType<typeof connect>): void {
    a.conn.stalled = true;
    for (let ts = 1; ts <= 10; ts++) a.send({ t: 'ping', ts });
  }

  it('gets the SESSION_SLOW_CONSUMER frame before the close 4008, though its socket is backpressured', () => {
    const a = connect(stack);
    const warn = vi.spyOn(stack.gw.ctx.log, 'warn');
    overflow(a);
    // The log says which bound tripped (counts only): 9 frames waiting, over outboxMaxFrames 8.
    const call = warn.mock.calls.find((c) => c[1] === 'slow consumer: outbox overflowed, closing connection');
    warn.mockRestore();
    expect(call?.[0]).toMatchObject({ pendingFrames: 9, pendingBytes: expect.any(Number) as number });
    expect((call?.[0] as { pendingBytes: number }).pendingBytes).toBeGreaterThan(0);
    expect(a.conn.closed).toEqual({ code: 4008, reason: 'SESSION_SLOW_CONSUMER' });
    expect(pongTs(a.conn.sent)).toEqual([1]);
    const last = a.conn.sent.at(-1);
    expect(last).toMatchObject({ t: 'error', code: 'SESSION_SLOW_CONSUMER', fatal: true, retryable: true });
    // Numbered right after the last frame written: the waiting frames are numbered after it.
    expect(last?.seq).toBe((a.conn.sent.at(-2)?.seq ?? 0) + 1);
    a.ctx.onClose(4008, 'SESSION_SLOW_CONSUMER');
  });

  it.each([
    ['got the error frame', true],
    ['missed the error frame', false],
  ])('a resume by a client that %s replays every waiting frame and no fatal error', (_name, gotError) => {
    const a = connect(stack);
    overflow(a);
    expect(a.conn.closed?.code).toBe(4008);
    a.ctx.onClose(4008, 'SESSION_SLOW_CONSUMER');
    const seen = gotError ? a.conn.sent : a.conn.sent.filter((m) => m.t !== 'error');
    const lastSeq = Math.max(...seen.map((m) => m.seq));

    const b = new FakeConnection();
    const ctxB = new ConnectionHandlerCtx(b, stack.gw.ctx, stack.gw);
    ctxB.onMessage(encode({ t: 'hello', resume: { session_id: a.ready.session_id, token: a.ready.resume_token, last_seq: lastSeq } }), true);
    expect(b.closed).toBeUndefined();
    expect(b.sent[0]).toMatchObject({ t: 'ready', resumed: true });
    expect(errorsOf(b.sent)).toEqual([]);
    expect(pongTs(b.sent)).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10]);
    // The replay continues the numbering the client has, with the error's seq skipped.
    const replayed = b.sent.slice(1).map((m) => m.seq);
    const errorSeq = errorsOf(a.conn.sent)[0]?.seq ?? -1;
    expect(replayed[0]).toBe(errorSeq + 1);
    ctxB.onClose(1000, '');
  });
});

describe('slow consumer at the default limits', () => {
  let stack: Stack;
  beforeAll(async () => {
    // Only the message rate is raised (to send 1100 pings at once); outbox and replay bounds are
    // the defaults.
    stack = await startStack('ws', { config: { limits: { maxMessagesPerSec: 100_000 } } });
  });
  afterAll(async () => {
    await stack.close();
  });

  it('a session closed as a slow consumer can be resumed: every waiting frame is replayed (the replay buffer holds more than the outbox)', () => {
    const a = connect(stack);
    a.conn.stalled = true;
    for (let ts = 1; ts <= 1100; ts++) a.send({ t: 'ping', ts });
    expect(a.conn.closed).toEqual({ code: 4008, reason: 'SESSION_SLOW_CONSUMER' });
    a.ctx.onClose(4008, 'SESSION_SLOW_CONSUMER');
    const lastSeq = Math.max(...a.conn.sent.map((m) => m.seq));
    const b = new FakeConnection();
    const ctxB = new ConnectionHandlerCtx(b, stack.gw.ctx, stack.gw);
    ctxB.onMessage(encode({ t: 'hello', resume: { session_id: a.ready.session_id, token: a.ready.resume_token, last_seq: lastSeq } }), true);
    // Before (512 frames / 256 KiB of replay under 1024 frames / 4 MiB of outbox), this resume
    // was refused with SESSION_RESUME_FAILED / 4001.
    expect(b.closed).toBeUndefined();
    expect(b.sent[0]).toMatchObject({ t: 'ready', resumed: true });
    const pongs = pongTs(b.sent);
    expect(pongs.length).toBeGreaterThan(1024);
    expect(pongs).toEqual(Array.from({ length: pongs.length }, (_, k) => k + 2));
    ctxB.onClose(1000, '');
  });
});

describe('idle timeout', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack('ws', { config: { limits: { idleTimeoutMs: 1000 } } });
  });
  afterAll(async () => {
    await stack.close();
  });

  it('SESSION_IDLE_TIMEOUT reaches a backpressured client ahead of its waiting frames, and is not replayed', async () => {
    const a = connect(stack);
    a.conn.stalled = true;
    a.send({ t: 'ping', ts: 1 }); // written: the send that reports backpressure
    a.send({ t: 'ping', ts: 2 }); // waits for a drain that never comes
    await expect.poll(() => a.conn.closed, { timeout: 4000, interval: 50 }).toEqual({ code: 4002, reason: 'SESSION_IDLE_TIMEOUT' });
    expect(a.conn.sent.map((m) => m.t)).toEqual(['ready', 'pong', 'error']);
    expect(a.conn.sent.at(-1)).toMatchObject({ code: 'SESSION_IDLE_TIMEOUT', fatal: true });
    a.ctx.onClose(4002, 'SESSION_IDLE_TIMEOUT');

    const last = a.conn.sent.at(-1) as ErrorMsg;
    const b = new FakeConnection();
    const ctxB = new ConnectionHandlerCtx(b, stack.gw.ctx, stack.gw);
    ctxB.onMessage(encode({ t: 'hello', resume: { session_id: a.ready.session_id, token: a.ready.resume_token, last_seq: last.seq } }), true);
    expect(b.sent.map((m) => m.t)).toEqual(['ready', 'pong']);
    expect(pongTs(b.sent)).toEqual([2]);
    ctxB.onClose(1000, '');
  });
});

describe('shutdown', () => {
  it('goaway and SERVER_SHUTTING_DOWN reach a backpressured client before the close 1001', async () => {
    const stack = await startStack('ws');
    try {
      const a = connect(stack);
      a.conn.stalled = true;
      a.send({ t: 'ping', ts: 1 }); // written: the send that reports backpressure
      a.send({ t: 'ping', ts: 2 }); // waits
      await stack.gw.shutdown(0);
      expect(a.conn.sent.map((m) => m.t)).toEqual(['ready', 'pong', 'goaway', 'error']);
      expect(a.conn.sent[2]).toMatchObject({ t: 'goaway', reason: 'shutdown', seq: 3 });
      expect(a.conn.sent[3]).toMatchObject({ t: 'error', code: 'SERVER_SHUTTING_DOWN', fatal: true, seq: 4 });
      expect(a.conn.closed).toEqual({ code: 1001, reason: 'SERVER_SHUTTING_DOWN' });
    } finally {
      await stack.close();
    }
  });
});
