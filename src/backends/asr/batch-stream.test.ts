// The batch utterance/partial logic over a scripted transcribe function (no network): pre-roll,
// partial ticks with local agreement and one request in flight, finals in order, the
// maxUtteranceMs cut, failures and timeouts, close.
import { afterEach, describe, expect, it } from 'vitest';
import { VlpError } from '../../../protocol/errors.ts';
import type { AsrEvent, AsrOptions } from './port.ts';
import { BatchAsrStream } from './batch-stream.ts';
import type { BatchStreamSettings, Transcribe, TranscribeOptions, Transcript } from './batch-stream.ts';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Call {
  samples: Int16Array;
  signal: AbortSignal;
  opts: TranscribeOptions;
  resolve(t: Transcript): void;
  reject(e: unknown): void;
}

/** A transcribe function whose calls the test answers. */
function scripted(): { transcribe: Transcribe; calls: Call[]; maxInFlight: () => number } {
  const calls: Call[] = [];
  let inFlight = 0;
  let max = 0;
  const transcribe: Transcribe = (samples, signal, opts) =>
    new Promise<Transcript>((resolve, reject) => {
      inFlight++;
      max = Math.max(max, inFlight);
      const done = (): void => {
        inFlight--;
      };
      signal.addEventListener('abort', () => {
        done();
        reject(new Error('aborted'));
      }, { once: true });
      calls.push({
        samples: samples.slice(), signal, opts,
        resolve: (t) => { if (!signal.aborted) { done(); resolve(t); } },
        reject: (e) => { if (!signal.aborted) { done(); reject(e); } },
      });
    });
  return { transcribe, calls, maxInFlight: () => max };
}

const streams: BatchAsrStream[] = [];
afterEach(() => {
  for (const s of streams.splice(0)) s.close();
});

function open(transcribe: Transcribe, over: Partial<BatchStreamSettings> = {}, opts: AsrOptions = { task: 'transcribe' }): { s: BatchAsrStream; events: AsrEvent[] } {
  const events: AsrEvent[] = [];
  const s = new BatchAsrStream(transcribe, opts, { onEvent: (ev) => events.push(ev) }, {
    service: 'test', partialIntervalMs: 1_000_000, requestTimeoutMs: 5_000, maxUtteranceMs: 30_000, preRollMs: 300, ...over,
  });
  streams.push(s);
  return { s, events };
}

const fill = (n: number, v: number): Int16Array => new Int16Array(n).fill(v);
/** Writes `n` samples of value `v` in 20 ms chunks. */
function feed(s: BatchAsrStream, n: number, v: number): void {
  for (let left = n; left > 0; left -= 320) expect(s.write(fill(Math.min(320, left), v))).toBe(true);
}

async function until(cond: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await sleep(2);
  }
}

describe('BatchAsrStream', () => {
  it('transcribes the utterance from speechStart minus the pre-roll to speechEnd (+ a short tail)', async () => {
    const { transcribe, calls } = scripted();
    const { s, events } = open(transcribe, {}, { task: 'translate', language: 'zh' });
    feed(s, 16000, 1); // 1 s before speech
    s.speechStart(16000);
    feed(s, 8000, 2); // 0.5 s speech
    feed(s, 16000, 3); // 1 s trailing silence before the VAD decides
    s.speechEnd(16000 + 8000);
    expect(calls).toHaveLength(1);
    const c = calls[0] as Call;
    expect(c.opts).toEqual({ task: 'translate', language: 'zh', final: true });
    // 300 ms pre-roll + 500 ms speech + 200 ms post-roll.
    expect(c.samples.length).toBe(4800 + 8000 + 3200);
    expect(c.samples[0]).toBe(1);
    expect(c.samples[4799]).toBe(1);
    expect(c.samples[4800]).toBe(2);
    expect(c.samples[4800 + 8000]).toBe(3);
    c.resolve({ text: 'What is in this picture?' });
    await until(() => events.length === 1);
    expect(events).toEqual([{ kind: 'final', text: 'What is in this picture?', language: 'zh' }]);
  });

  it('takes a speechStart that points back (VAD delay) from the ring, and one ahead by skipping', async () => {
    const { transcribe, calls } = scripted();
    const { s } = open(transcribe);
    feed(s, 8000, 1);
    feed(s, 4000, 2);
    s.speechStart(8000); // 250 ms ago
    feed(s, 4000, 2);
    s.speechEnd(16000);
    expect(calls[0]?.samples.length).toBe(4800 + 8000);
    expect(calls[0]?.samples[4800]).toBe(2);

    s.speechStart(20000 + 4800); // ahead of the audio (pre-roll reaches back to 20000)
    feed(s, 8000, 5); // samples 16000..24000: only 20000.. kept
    s.speechEnd(24000);
    expect(calls[1]?.samples.length).toBe(4000);
  });

  it('re-transcribes while speech goes on: partials with local agreement, one request in flight, busy ticks skipped', async () => {
    const { transcribe, calls, maxInFlight } = scripted();
    const { s, events } = open(transcribe, { partialIntervalMs: 20 });
    s.speechStart(0);
    feed(s, 8000, 1);
    await until(() => calls.length === 1);
    expect(calls[0]?.opts.final).toBe(false);
    await sleep(70); // several ticks while busy: skipped
    expect(calls).toHaveLength(1);
    calls[0]?.resolve({ text: 'Hello' });
    feed(s, 1600, 1);
    await until(() => calls.length === 2);
    calls[1]?.resolve({ text: 'Hello, how' });
    feed(s, 1600, 1);
    await until(() => calls.length === 3);
    calls[2]?.resolve({ text: 'Hello how are' });
    await sleep(50); // no new audio: no request
    expect(calls).toHaveLength(3);
    feed(s, 1600, 1);
    await until(() => calls.length === 4);
    s.speechEnd(12800); // aborts the partial in flight
    expect(calls[3]?.signal.aborted).toBe(true);
    expect(calls[4]?.opts.final).toBe(true);
    calls[4]?.resolve({ text: 'Hello, how are you?' });
    await until(() => events.some((e) => e.kind === 'final'));
    expect(events).toEqual([
      { kind: 'partial', stable: '', unstable: 'Hello' },
      { kind: 'partial', stable: 'Hello,', unstable: ' how' },
      { kind: 'partial', stable: 'Hello, how', unstable: ' are' },
      { kind: 'final', text: 'Hello, how are you?' },
    ]);
    expect(maxInFlight()).toBe(1);
  });

  it('emits finals in utterance order and holds the next partials until the previous final', async () => {
    const { transcribe, calls } = scripted();
    const { s, events } = open(transcribe, { partialIntervalMs: 10 });
    s.speechStart(0);
    feed(s, 8000, 1);
    s.speechEnd(8000);
    const first = calls.length - 1;
    s.speechStart(8000);
    feed(s, 8000, 1);
    await sleep(40); // partial ticks wait for the pending final
    s.speechEnd(16000);
    expect(calls.filter((c) => !c.opts.final && !c.signal.aborted)).toHaveLength(0);
    const second = calls.length - 1;
    calls[second]?.resolve({ text: 'two' });
    await sleep(10);
    expect(events).toEqual([]);
    calls[first]?.resolve({ text: 'one' });
    await until(() => events.length === 2);
    expect(events).toEqual([{ kind: 'final', text: 'one' }, { kind: 'final', text: 'two' }]);
  });

  it('emits an empty final for a speechEnd without speechStart, without a request', async () => {
    const { transcribe, calls } = scripted();
    const { s, events } = open(transcribe);
    feed(s, 3200, 1);
    s.speechEnd(3200);
    await until(() => events.length === 1);
    expect(events).toEqual([{ kind: 'final', text: '' }]);
    expect(calls).toHaveLength(0);
  });

  it('cuts an utterance at maxUtteranceMs, finalizes it and goes on with the rest', async () => {
    const { transcribe, calls } = scripted();
    const { s, events } = open(transcribe, { maxUtteranceMs: 1000 });
    s.speechStart(0);
    feed(s, 16000 * 2 + 8000, 1);
    expect(calls.map((c) => c.samples.length)).toEqual([16000, 16000]);
    s.speechEnd(40000);
    expect(calls.map((c) => c.samples.length)).toEqual([16000, 16000, 8000]);
    calls.forEach((c, i) => c.resolve({ text: `part ${i}` }));
    await until(() => events.length === 3);
    expect(events.map((e) => (e.kind === 'final' ? e.text : e.kind))).toEqual(['part 0', 'part 1', 'part 2']);
  });

  it('skips a failed partial request; a failed final is the error event, and nothing follows', async () => {
    const { transcribe, calls } = scripted();
    const { s, events } = open(transcribe, { partialIntervalMs: 10 });
    s.speechStart(0);
    feed(s, 8000, 1);
    await until(() => calls.length === 1);
    calls[0]?.reject(new VlpError('UPSTREAM_OVERLOADED', 'busy'));
    feed(s, 320, 1);
    await until(() => calls.length === 2);
    calls[1]?.resolve({ text: 'ok' });
    await until(() => events.length === 1);
    s.speechEnd(8320);
    calls[calls.length - 1]?.reject(new VlpError('UPSTREAM_GENERATION_FAILED', 'boom'));
    await until(() => events.length === 2);
    expect(events[0]).toEqual({ kind: 'partial', stable: '', unstable: 'ok' });
    const err = events[1];
    expect(err?.kind === 'error' && err.error.code).toBe('UPSTREAM_GENERATION_FAILED');
    s.speechStart(9000);
    feed(s, 16000, 1);
    s.speechEnd(25000);
    await sleep(30);
    expect(events).toHaveLength(2);
  });

  it('maps a request over requestTimeoutMs to UPSTREAM_TIMEOUT (and aborts it)', async () => {
    const { transcribe, calls } = scripted();
    const { s, events } = open(transcribe, { requestTimeoutMs: 50 });
    s.speechStart(0);
    feed(s, 8000, 1);
    s.speechEnd(8000);
    await until(() => events.length === 1);
    expect(calls[0]?.signal.aborted).toBe(true);
    const ev = events[0];
    expect(ev?.kind === 'error' && ev.error.code).toBe('UPSTREAM_TIMEOUT');
  });

  it('close() aborts requests in flight and reports nothing afterwards', async () => {
    const { transcribe, calls } = scripted();
    const { s, events } = open(transcribe, { partialIntervalMs: 10 });
    s.speechStart(0);
    feed(s, 8000, 1);
    s.speechEnd(8000);
    s.speechStart(8000);
    feed(s, 8000, 1);
    s.close();
    s.close();
    expect(calls.every((c) => c.signal.aborted)).toBe(true);
    await sleep(30);
    expect(events).toEqual([]);
    expect(s.write(fill(320, 1))).toBe(true);
  });
});
