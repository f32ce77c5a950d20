// After a speech-recognizer failure the voice stream reopens no sooner than the backoff: 1 s, or
// the wait the recognizer named (WhisperLive WAIT, HTTP Retry-After → VlpError.retryAfterS) when
// longer; and a reopen that fails for the same cause is not reported to the client again.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VlpError, type ErrorCode } from '../protocol/errors.ts';
import type { AudioStartMsg, ErrorMsg, ServerMessage } from '../protocol/messages.ts';
import type { AsrBackend, AsrEvent, AsrHandlers, AsrStream } from '../src/backends/asr/port.ts';
import { Session } from '../src/session/session.ts';
import type { SendResult } from '../src/transport/types.ts';
import { RawClient, startStack, type Stack } from './harness.ts';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const start16k = { t: 'audio.start', format: { encoding: 'pcm16', sample_rate: 16000, channels: 1 } } as const satisfies AudioStartMsg;
const SILENCE = new Uint8Array(640); // 20 ms of 16 kHz PCM16

const audioErrors = (frames: readonly ServerMessage[]): ErrorMsg[] => frames.filter((f): f is ErrorMsg => f.t === 'error' && f.ref === 'audio');

describe('through the simulated WhisperLive at its client limit (WAIT)', () => {
  let stack: Stack;
  beforeAll(async () => {
    // One client holds the server; WAIT then names the time until its connection limit (≥ 2 s).
    stack = await startStack('ws', { asr: 'whisperlive', whisperLive: { maxConnectionTimeS: 3 } });
  }, 30_000);
  afterAll(async () => {
    await stack.close();
  });

  it('waits the time WAIT names before reopening, and sends one error for the outage', async () => {
    const wl = stack.asr?.whisperLive;
    if (!wl) throw new Error('stack without WhisperLive');
    const holder = await RawClient.session(stack.url);
    holder.send(start16k);
    await expect.poll(() => wl.stats().clients, { timeout: 5000 }).toBe(1);
    wl.queueFault({ kind: 'server_full' }, 100);

    const c = await RawClient.session(stack.url);
    c.send(start16k);
    const first = await c.waitFor<ErrorMsg>((m) => m.t === 'error' && m.ref === 'audio', 5000);
    expect(first).toMatchObject({ code: 'UPSTREAM_OVERLOADED', fatal: false, retryable: true });
    const failedAt = performance.now();
    expect(wl.stats().rejectedFull).toBe(1);

    // Audio keeps coming: with a 1 s backoff it would reopen (and be refused) every second.
    let streaming = true;
    const feeder = (async () => {
      while (streaming) {
        c.send({ t: 'audio.chunk', data: SILENCE });
        await sleep(20);
      }
    })();
    try {
      while (performance.now() - failedAt < 1800) await sleep(50);
      expect(wl.stats().rejectedFull).toBe(1);
      // Past the wait it reopens: refused again (the fault queue), same cause, no second frame.
      await expect.poll(() => wl.stats().rejectedFull, { timeout: 4000, interval: 20 }).toBe(2);
      expect(performance.now() - failedAt).toBeGreaterThan(1800);
      await sleep(100);
      expect(audioErrors(c.frames)).toHaveLength(1);
      // The recognizer takes clients again: the next reopen (1 s later) gets a stream.
      wl.clearFaults();
      const connections = wl.stats().connections;
      await expect.poll(() => wl.stats().connections, { timeout: 4000, interval: 20 }).toBe(connections + 1);
      expect(wl.stats().rejectedFull).toBe(2);
      expect(audioErrors(c.frames)).toHaveLength(1);
    } finally {
      streaming = false;
      await feeder;
      wl.clearFaults();
    }
    c.send({ t: 'audio.end' });
    holder.send({ t: 'audio.end' });
    c.close();
    holder.close();
  }, 20_000);
});

/** A recognizer whose streams each do what the test scripted for them, in open order. */
class ScriptedAsr implements AsrBackend {
  readonly id = 'scripted';
  readonly capabilities = { livePartials: true, translate: false };
  readonly openedAt: number[] = [];
  private readonly handlers: AsrHandlers[] = [];

  constructor(private readonly script: (n: number, emit: (ev: AsrEvent) => void) => void) {}

  open(_opts: unknown, handlers: AsrHandlers): AsrStream {
    const n = this.openedAt.length;
    this.openedAt.push(performance.now());
    this.handlers.push(handlers);
    let closed = false;
    // Events come later, from the adapter's socket callbacks.
    setImmediate(() =>
      this.script(n, (ev) => {
        if (!closed) handlers.onEvent(ev);
      }),
    );
    return {
      write: () => true,
      onDrain: () => undefined,
      speechStart: () => undefined,
      speechEnd: () => undefined,
      close: () => {
        closed = true;
      },
    };
  }

  probe(): Promise<boolean> {
    return Promise.resolve(true);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

class ArraySink {
  readonly frames: ServerMessage[] = [];
  send(msg: ServerMessage): SendResult {
    this.frames.push(structuredClone(msg));
    return 'ok';
  }
}

describe('backoff and error frames of a failing recognizer', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack('ws');
  });
  afterAll(async () => {
    await stack.close();
  });

  /** A session on `asr` with audio open; feeds 20 ms of silence every 20 ms for `ms`. */
  async function run(asr: ScriptedAsr, ms: number): Promise<{ frames: ServerMessage[]; session: Session }> {
    const session = new Session({ ...stack.gw.ctx, asr }, { onSlowConsumer: () => undefined, onClosed: () => undefined });
    const sink = new ArraySink();
    session.attach(sink);
    session.startAudio(start16k);
    const t0 = performance.now();
    while (performance.now() - t0 < ms) {
      session.audioChunk(SILENCE, performance.now());
      await sleep(20);
    }
    session.close('disconnect');
    return { frames: sink.frames, session };
  }

  const fail = (code: ErrorCode, retryAfterS?: number): AsrEvent => ({
    kind: 'error',
    error: new VlpError(code, `scripted ${code}`, retryAfterS === undefined ? {} : { retryAfterS }),
  });

  it("reopens after the error's retryAfterS, not after 1 s", async () => {
    const asr = new ScriptedAsr((_n, emit) => emit(fail('UPSTREAM_OVERLOADED', 2)));
    const { frames } = await run(asr, 3300);
    const [first, second, third] = asr.openedAt;
    expect(asr.openedAt).toHaveLength(2);
    expect((second ?? 0) - (first ?? 0)).toBeGreaterThanOrEqual(1990);
    expect(third).toBeUndefined();
    expect(audioErrors(frames).map((e) => e.code)).toEqual(['UPSTREAM_OVERLOADED']);
  }, 10_000);

  it('reopens every second without a retryAfterS, and reports the failing cause once', async () => {
    const asr = new ScriptedAsr((_n, emit) => emit(fail('UPSTREAM_UNAVAILABLE')));
    const { frames } = await run(asr, 2600);
    expect(asr.openedAt.length).toBe(3); // at 0, ~1 s and ~2 s
    expect(audioErrors(frames).map((e) => e.code)).toEqual(['UPSTREAM_UNAVAILABLE']);
  }, 10_000);

  it('reports a new cause, and the same cause again once a stream has worked in between', async () => {
    const asr = new ScriptedAsr((n, emit) => {
      if (n === 0) emit(fail('UPSTREAM_UNAVAILABLE'));
      else if (n === 1) emit(fail('UPSTREAM_OVERLOADED'));
      else if (n === 2) {
        emit({ kind: 'partial', stable: '', unstable: 'hello' });
        emit(fail('UPSTREAM_OVERLOADED'));
      } else emit(fail('UPSTREAM_OVERLOADED'));
    });
    const { frames } = await run(asr, 3600);
    expect(asr.openedAt.length).toBe(4);
    expect(audioErrors(frames).map((e) => e.code)).toEqual(['UPSTREAM_UNAVAILABLE', 'UPSTREAM_OVERLOADED', 'UPSTREAM_OVERLOADED']);
  }, 10_000);
});
