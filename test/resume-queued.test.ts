// A resume that takes a session over from a connection still attached (a phone that moved
// networks: the old TCP connection is dead but not yet closed, frames queued on it behind
// backpressure) replays those queued frames too: nothing the old connection never sent is lost.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encode } from '@msgpack/msgpack';
import { startStack, type Stack } from './harness.ts';
import type { ReadyMsg, ServerMessage } from '../protocol/messages.ts';
import { ConnectionHandlerCtx } from '../src/session/connection.ts';
import { FakeConnection } from './fake-connection.ts';


describe('resume over a connection still attached', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack('ws', {});
  });
  afterAll(async () => {
    await stack.close();
  });

  it('replays the frames that were queued on the old connection', async () => {
    const a = new FakeConnection();
    const ctxA = new ConnectionHandlerCtx(a, stack.gw.ctx, stack.gw);
    ctxA.onMessage(encode({ t: 'hello' }), true);
    await expect.poll(() => a.sent.some((m) => m.t === 'ready')).toBe(true);
    const ready = a.sent.find((m): m is ReadyMsg => m.t === 'ready') as ReadyMsg;
    // One pong reaches the client; then its socket stops draining and two more pongs queue.
    ctxA.onMessage(encode({ t: 'ping', ts: 1 }), true);
    await expect.poll(() => a.sent.filter((m) => m.t === 'pong').length).toBe(1);
    a.stalled = true;
    ctxA.onMessage(encode({ t: 'ping', ts: 2 }), true); // written: the send that reports backpressure
    ctxA.onMessage(encode({ t: 'ping', ts: 3 }), true); // queued in the outbox
    ctxA.onMessage(encode({ t: 'ping', ts: 4 }), true); // queued in the outbox
    await new Promise((r) => setTimeout(r, 50));
    const seen = a.sent.at(-1) as ServerMessage & { seq: number };
    expect(seen.t).toBe('pong');

    const b = new FakeConnection();
    const ctxB = new ConnectionHandlerCtx(b, stack.gw.ctx, stack.gw);
    ctxB.onMessage(encode({ t: 'hello', resume: { session_id: ready.session_id, token: ready.resume_token, last_seq: seen.seq } }), true);
    await expect.poll(() => b.sent.some((m) => m.t === 'ready')).toBe(true);
    // Every pong A did not get arrives on B, in order, after ready.
    await expect.poll(() => b.sent.filter((m) => m.t === 'pong').map((m) => (m as { ts: number }).ts), { timeout: 2000 }).toEqual([3, 4]);
    expect(a.closed).toBeDefined();
  });
});
