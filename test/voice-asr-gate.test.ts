// While the speech recognizer fails to open streams, the gateway's ASR gate (src/backends/asr/gate.ts)
// holds new streams for everyone: a dozen sessions streaming audio make a handful of connection
// attempts in all (one trial at a time, backing off), not one per session per second; each client
// hears of the outage once; /metrics shows the hold; and when the recognizer answers again every
// session gets its stream back. Real gateway, simulated WhisperLive, real ws clients.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AudioStartMsg, ErrorMsg, ServerMessage } from '../protocol/messages.ts';
import { RawClient, startStack, type Stack } from './harness.ts';
import type { TransportKind } from '../src/transport/index.ts';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const start16k = { t: 'audio.start', format: { encoding: 'pcm16', sample_rate: 16000, channels: 1 } } as const satisfies AudioStartMsg;
const SILENCE = new Uint8Array(640); // 20 ms of 16 kHz PCM16
const SESSIONS = 12;
const FAILING_MS = 4000;

const audioErrors = (frames: readonly ServerMessage[]): ErrorMsg[] => frames.filter((f): f is ErrorMsg => f.t === 'error' && f.ref === 'audio');

async function metric(stack: Stack, line: RegExp): Promise<number> {
  const text = await (await fetch(`${stack.httpBase}/metrics`)).text();
  const m = text.split('\n').find((l) => line.test(l));
  return m === undefined ? 0 : Number(m.split(' ').at(-1));
}

describe.each<TransportKind>(['ws', 'uws'])('ASR gate through the simulated WhisperLive (%s)', (transport) => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack(transport, { asr: 'whisperlive', config: { asr: { holdBaseMs: 400, holdMaxMs: 1600 } } });
  }, 30_000);
  afterAll(async () => {
    await stack.close();
  });

  it('holds new streams while the recognizer fails, tells each client once, and reopens them all when it answers', async () => {
    const wl = stack.asr?.whisperLive;
    if (!wl) throw new Error('stack without WhisperLive');
    // Every connection is answered {"status":"ERROR"} (model load failure) and closed.
    wl.queueFault({ kind: 'model_load_error' }, 10_000);
    const clients = await Promise.all(Array.from({ length: SESSIONS }, () => RawClient.session(stack.url)));
    for (const c of clients) c.send(start16k);

    let streaming = true;
    const feeder = (async () => {
      while (streaming) {
        for (const c of clients) c.send({ t: 'audio.chunk', data: SILENCE });
        await sleep(20);
      }
    })();
    try {
      await sleep(FAILING_MS);
      const attempts = wl.stats().connections;
      // Without the gate every session reopens each second: ≥ SESSIONS × 4 attempts by now. With
      // it: at most the first opens plus one trial per hold (200–400, 400–800, then 800–1600 ms).
      expect(attempts).toBeGreaterThanOrEqual(2);
      expect(attempts).toBeLessThanOrEqual(SESSIONS + 6);
      expect(await metric(stack, /^vlp_asr_held /)).toBe(1);
      expect(await metric(stack, /^vlp_asr_streams_refused_total\{code="UPSTREAM_UNAVAILABLE"\}/)).toBeGreaterThan(SESSIONS);
      for (const c of clients) {
        const errs = audioErrors(c.frames);
        expect(errs).toHaveLength(1);
        expect(errs[0]).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', fatal: false, retryable: true });
      }

      // The recognizer loads its model again: every session gets a stream back.
      wl.clearFaults();
      await expect.poll(() => wl.stats().clients, { timeout: 8000, interval: 50 }).toBe(SESSIONS);
      expect(await metric(stack, /^vlp_asr_held /)).toBe(0);
      for (const c of clients) expect(audioErrors(c.frames)).toHaveLength(1);
    } finally {
      streaming = false;
      await feeder;
      wl.clearFaults();
    }
    for (const c of clients) {
      c.send({ t: 'audio.end' });
      c.close();
    }
  }, 30_000);
});
