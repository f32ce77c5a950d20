// Integration: a client that loses its connection mid-turn resumes its session and receives every
// frame it missed, in order, with no gap in seq; bad resumes are refused with 4001.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawClient, startStack, TRANSPORTS, type Stack } from './harness.ts';
import type { GenDoneMsg, GenTokenMsg, ReadyMsg } from '../protocol/messages.ts';

describe.each(TRANSPORTS)('resume over %s', (transport) => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack(transport, { sim: { ttftMs: 10, itlMs: 10, jitter: 0 } });
  });
  afterAll(async () => {
    await stack.close();
  });

  it('replays the frames missed during a disconnect and the turn completes', async () => {
    const a = await RawClient.session(stack.url);
    const ready = a.frames[0] as ReadyMsg;
    a.send({ t: 'turn.start', id: 'r', text: 'a long answer please', params: { max_new_tokens: 40, seed: 3 } });
    await a.waitFor((m) => m.t === 'gen.token');
    a.ws.terminate();
    await a.waitClose();
    const lastSeq = Math.max(...a.frames.map((f) => f.seq));
    const before = a.frames.slice();
    await new Promise((r) => setTimeout(r, 100)); // the turn keeps running while detached
    const b = await RawClient.open(stack.url);
    b.send({ t: 'hello', resume: { session_id: ready.session_id, token: ready.resume_token, last_seq: lastSeq } });
    const r2 = await b.waitFor<ReadyMsg>((m) => m.t === 'ready');
    expect(r2.resumed).toBe(true);
    expect(r2.session_id).toBe(ready.session_id);
    const done = await b.waitFor<GenDoneMsg>((m) => m.t === 'gen.done');
    const all = [...before, ...b.frames.filter((f) => f.t !== 'ready')];
    const seqs = all.map((f) => f.seq).sort((x, y) => x - y);
    // Every seq from 1 up to the last frame, except the resumed ready's own, exactly once.
    const expected = Array.from({ length: Math.max(...seqs) }, (_, k) => k + 1).filter((s) => s !== r2.seq);
    expect(seqs).toEqual(expected);
    const text = all
      .filter((f): f is GenTokenMsg => f.t === 'gen.token')
      .sort((x, y) => x.i - y.i)
      .map((f) => f.text)
      .join('');
    expect(text.trim()).toBe(done.text);
    b.close();
  });

  it('refuses a wrong token or an unknown session with SESSION_RESUME_FAILED and 4001', async () => {
    const a = await RawClient.session(stack.url);
    const ready = a.frames[0] as ReadyMsg;
    const b = await RawClient.open(stack.url);
    b.send({ t: 'hello', resume: { session_id: ready.session_id, token: 'x'.repeat(32), last_seq: 1 } });
    expect(await b.waitFor((m) => m.t === 'error')).toMatchObject({ code: 'SESSION_RESUME_FAILED', fatal: true });
    expect(await b.waitClose()).toBe(4001);
    const c = await RawClient.open(stack.url);
    c.send({ t: 'hello', resume: { session_id: 's_nope', token: ready.resume_token, last_seq: 1 } });
    expect(await c.waitClose()).toBe(4001);
    a.close();
  });

  it('a resume from another connection takes the session over (old one closed with 4009)', async () => {
    const a = await RawClient.session(stack.url);
    const ready = a.frames[0] as ReadyMsg;
    const b = await RawClient.open(stack.url);
    b.send({ t: 'hello', resume: { session_id: ready.session_id, token: ready.resume_token, last_seq: 1 } });
    await b.waitFor((m) => m.t === 'ready');
    expect(await a.waitClose()).toBe(4009);
    b.send({ t: 'turn.start', id: 'after', text: 'hi', params: { max_new_tokens: 3 } });
    await b.waitFor((m) => m.t === 'gen.done');
    b.close();
  });
});
