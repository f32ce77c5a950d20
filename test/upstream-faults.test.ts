// Integration: upstream faults injected by the simulator reach the client as typed error frames
// with a retryable flag, and the session goes on to serve the next turn.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawClient, startStack, TRANSPORTS, type Stack } from './harness.ts';
import type { ErrorMsg } from '../protocol/messages.ts';

const CASES: [fault: string, code: string, retryable: boolean][] = [
  ['error_mid_stream', 'UPSTREAM_GENERATION_FAILED', true],
  ['reset', 'UPSTREAM_RESET', true],
  ['stall', 'UPSTREAM_TIMEOUT', true],
  ['overloaded_429', 'UPSTREAM_OVERLOADED', true],
  ['unavailable_503', 'UPSTREAM_OVERLOADED', true],
  ['validation', 'UPSTREAM_REJECTED', false],
  ['malformed', 'UPSTREAM_PROTOCOL', false],
  ['incomplete', 'UPSTREAM_GENERATION_FAILED', true],
];

describe.each(TRANSPORTS)('upstream faults over %s', (transport) => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack(transport, { config: { upstream: { interTokenTimeoutMs: 300, firstTokenTimeoutMs: 2000 } } });
  });
  afterAll(async () => {
    await stack.close();
  });

  it.each(CASES)('%s → %s', async (fault, code, retryable) => {
    const c = await RawClient.session(stack.url);
    c.send({ t: 'turn.start', id: 'f', text: `tell me something [[sim:fault=${fault}]]`, params: { max_new_tokens: 20 } });
    const e = await c.waitFor<ErrorMsg>((m) => m.t === 'error');
    expect(e).toMatchObject({ code, retryable, fatal: false, turn: 'f' });
    await c.waitFor((m) => m.t === 'turn.metrics' && m.turn === 'f');
    // The session goes on.
    c.send({ t: 'turn.start', id: 'next', text: 'and now a normal one', params: { max_new_tokens: 3 } });
    await c.waitFor((m) => m.t === 'gen.done' && m.turn === 'next');
    expect(c.closeCode).toBeUndefined();
    c.close();
  });

  it('a backend that is down → UPSTREAM_UNAVAILABLE', async () => {
    const down = await startStack(transport, { simUrl: 'http://127.0.0.1:1' });
    try {
      const c = await RawClient.session(down.url);
      c.send({ t: 'turn.start', id: 'd', text: 'anyone there?' });
      expect(await c.waitFor<ErrorMsg>((m) => m.t === 'error')).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', retryable: true, turn: 'd' });
      c.close();
    } finally {
      await down.close();
    }
  });
});
