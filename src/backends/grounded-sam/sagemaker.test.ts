// The SageMaker Grounded-SAM adapter with the real AWS SDK v3 client (fake static credentials):
// against the simulated SageMaker runtime fronting the simulated Grounded-SAM (awkward PayloadPart
// cuts, every fault mapped to its code, cancellation closing the request within 50 ms), and against
// a scripted runtime for exact bytes (one byte per part, cuts inside a UTF-8 character, malformed
// NDJSON, wrong content type, early ends, keep-alive reuse).
import { once } from 'node:events';
import { performance } from 'node:perf_hooks';
import sharp from 'sharp';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { VlpError } from '../../../protocol/errors.ts';
import type { ErrorCode } from '../../../protocol/errors.ts';
import { startGroundedSamSim, type GroundedSamRequestClosedEvent, type GroundedSamSim } from '../../../sim/grounded-sam/index.ts';
import { startSageMakerSim, type SageMakerRequestClosedEvent, type SageMakerRequestEvent, type SageMakerSim } from '../../../sim/sagemaker/index.ts';
import { part, startFakeRuntime, streamHead, type FakeRuntime, type RuntimeScript } from '../sagemaker/fake-runtime.testkit.ts';
import type { SegmentEvent, SegmenterBackend, SegmentImage, SegmentRequest } from '../segmenter-port.ts';
import { collectSegments, expectPortContract } from './conformance.testkit.ts';
import { createSageMakerSegmenter, type SageMakerSegmenterOptions } from './index.ts';

const CREDENTIALS = { accessKeyId: 'AKIDSIMULATED', secretAccessKey: 'not-a-secret' };
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

let gsam: GroundedSamSim;
let slowGsam: GroundedSamSim;
let sm: SageMakerSim;
let image: SegmentImage;
const backends: SegmenterBackend[] = [];

beforeAll(async () => {
  gsam = await startGroundedSamSim({ detectMs: 5, perMaskMs: 2, jitter: 0 });
  slowGsam = await startGroundedSamSim({ detectMs: 20, perMaskMs: 2000, jitter: 0 });
  sm = await startSageMakerSim({
    endpoints: {
      'gsam-sm': { groundedSam: true, groundedSamUrl: gsam.url },
      'slow-sm': { groundedSam: true, groundedSamUrl: slowGsam.url },
      'nostream-sm': { groundedSam: true, groundedSamUrl: gsam.url, streaming: false },
    },
  });
  const bytes = await sharp({ create: { width: 160, height: 120, channels: 3, background: '#777' } }).jpeg().toBuffer();
  image = { bytes: new Uint8Array(bytes), mime: 'image/jpeg', width: 160, height: 120 };
});
afterAll(async () => {
  await Promise.all(backends.map((b) => b.close()));
  await sm.close();
  await Promise.all([gsam.close(), slowGsam.close()]);
});
beforeEach(async () => {
  await fetch(`${sm.url}/__sim/faults`, { method: 'DELETE' });
});

function backend(over: Partial<SageMakerSegmenterOptions> = {}): SegmenterBackend {
  const b = createSageMakerSegmenter({
    endpointName: 'gsam-sm', region: 'us-east-1', endpointUrl: sm.url, credentials: CREDENTIALS,
    firstEventTimeoutMs: 2000, interEventTimeoutMs: 2000, ...over,
  });
  backends.push(b);
  return b;
}

function req(phrases: string[], signal: AbortSignal = new AbortController().signal, img: SegmentImage = image): SegmentRequest {
  return { image: img, phrases, boxThreshold: 0.5, textThreshold: 0.55, signal };
}

async function run(b: SegmenterBackend, r: SegmentRequest): Promise<{ events: SegmentEvent[]; error: unknown }> {
  const events: SegmentEvent[] = [];
  try {
    for await (const ev of b.segment(r)) events.push(ev);
    return { events, error: undefined };
  } catch (error) {
    return { events, error };
  }
}

function expectCode(error: unknown, code: ErrorCode): VlpError {
  expect(error).toBeInstanceOf(VlpError);
  expect((error as VlpError).code).toBe(code);
  return error as VlpError;
}

describe('against the simulated SageMaker runtime', () => {
  it('streams boxes → masks → done through awkward cuts, inside JSON lines and inside UTF-8 characters', async () => {
    const before = sm.stats();
    const seen = once(sm.events, 'request');
    const { events, error } = await run(backend(), req(['süßer dog 🐕', 'cat → 猫']));
    expect(error).toBeUndefined();
    expectPortContract(events, [120, 160]);
    const first = events[0];
    expect(first?.kind === 'boxes' && first.boxes.some((b) => b.label === 'süßer dog 🐕')).toBe(true);
    const after = sm.stats();
    expect(after.splitInsideUtf8).toBeGreaterThan(before.splitInsideUtf8);
    expect(after.splitInsideJson).toBeGreaterThan(before.splitInsideJson);
    expect(after.payloadParts - before.payloadParts).toBeGreaterThan(2 * events.length);
    const [ev] = (await seen) as [SageMakerRequestEvent];
    expect(ev).toMatchObject({ endpoint: 'gsam-sm', route: 'invocations-response-stream', signed: true, contentType: 'application/json' });
  });

  it('sends the /detect_segment body: caption, thresholds, max_instances', async () => {
    const seen = new Promise<{ phrases: string[]; boxThreshold: number; textThreshold: number; maxInstances: number }>((r) => gsam.events.once('request', r));
    await run(backend(), req(['Red Car', 'a.b']));
    expect(await seen).toMatchObject({ phrases: ['red car', 'a b'], boxThreshold: 0.5, textThreshold: 0.55, maxInstances: 20 });
  });

  it('streaming: false calls InvokeEndpoint and gives the same events', async () => {
    const seen = once(sm.events, 'request');
    const whole = await run(backend({ streaming: false }), req(['dog', 'person']));
    expect((await seen)[0]).toMatchObject({ route: 'invocations' });
    const streamed = await run(backend(), req(['dog', 'person']));
    expect(whole.error).toBeUndefined();
    expect(whole.events).toEqual(streamed.events);
  });

  it('works on an endpoint without streaming support when streaming is off; the streaming route is refused', async () => {
    expect((await run(backend({ endpointName: 'nostream-sm', streaming: false }), req(['dog']))).error).toBeUndefined();
    expectCode((await run(backend({ endpointName: 'nostream-sm' }), req(['dog']))).error, 'UPSTREAM_REJECTED');
  });

  it('probe() is a local check that region and credentials resolve', async () => {
    expect(await backend().probe(1000)).toBe(true);
  });
});

describe('faults map to stable codes (streaming)', () => {
  // [directive, code, events delivered before the failure (-1: 0 or 1)]
  const cases: [string, ErrorCode, number][] = [
    ['model_stream_error;after=1', 'UPSTREAM_RESET', 1], // ModelStreamError StreamBroken after the boxes line
    ['model_stream_error;after=2', 'UPSTREAM_RESET', 2], // … after boxes and the first mask
    ['internal_stream_failure;after=1', 'UPSTREAM_GENERATION_FAILED', 1],
    ['model_invocation_time_exceeded;after=1', 'UPSTREAM_TIMEOUT', 1],
    ['model_stream_error;after=0', 'UPSTREAM_RESET', 0], // first message: thrown by send() itself
    ['throttling', 'UPSTREAM_OVERLOADED', 0],
    ['model_not_ready', 'UPSTREAM_OVERLOADED', 0],
    ['service_unavailable', 'UPSTREAM_OVERLOADED', 0],
    ['internal_failure', 'UPSTREAM_GENERATION_FAILED', 0],
    // Grounded-SAM's own faults, through SageMaker:
    ['error_mid_stream', 'UPSTREAM_GENERATION_FAILED', 1], // in-band error line after the boxes
    ['malformed', 'UPSTREAM_PROTOCOL', 1], // a truncated JSON line
    ['reset', 'UPSTREAM_RESET', -1], // container socket destroyed right after writing the boxes (they may be lost) → ModelStreamError StreamBroken
    ['validation', 'UPSTREAM_REJECTED', 0], // container 422 → ModelError
    ['overloaded_429', 'UPSTREAM_OVERLOADED', 0], // container 429 → ModelError
    ['unavailable_503', 'UPSTREAM_OVERLOADED', 0],
  ];
  for (const [directive, code, n] of cases) {
    it(`[[sim:fault=${directive}]] → ${code} after ${n} event(s)`, async () => {
      const { events, error } = await run(backend(), req(['dog', `cat [[sim:fault=${directive}]]`]));
      expectCode(error, code);
      if (n >= 0) expect(events).toHaveLength(n);
      else expect(events.length).toBeLessThanOrEqual(1);
      if (events.length > 0) expect(events[0]?.kind).toBe('boxes');
    });
  }

  it('a fault queued on the runtime (admin route) fires on the next request', async () => {
    await fetch(`${sm.url}/__sim/faults`, { method: 'POST', body: JSON.stringify({ kind: 'internal_stream_failure', afterEvents: 1 }) });
    const { events, error } = await run(backend(), req(['dog']));
    expectCode(error, 'UPSTREAM_GENERATION_FAILED');
    expect(events.map((e) => e.kind)).toEqual(['boxes']);
  });

  it('a stall after the boxes → UPSTREAM_TIMEOUT (inter-event), and the request is closed', async () => {
    const closed = once(sm.events, 'request-closed');
    const started = performance.now();
    const { events, error } = await run(backend({ interEventTimeoutMs: 150 }), req(['dog [[sim:fault=stall]]']));
    expect(expectCode(error, 'UPSTREAM_TIMEOUT').message).toContain('inter-event');
    expect(events.map((e) => e.kind)).toEqual(['boxes']);
    expect(performance.now() - started).toBeLessThan(1500);
    expect(((await closed)[0] as SageMakerRequestClosedEvent).completed).toBe(false);
  });

  it('unknown endpoint → ValidationError → UPSTREAM_REJECTED (account id masked)', async () => {
    const e = expectCode((await run(backend({ endpointName: 'no-such-endpoint' }), req(['dog']))).error, 'UPSTREAM_REJECTED');
    expect(e.message).toMatch(/^SageMaker ValidationError: Endpoint no-such-endpoint of account <account> not found\. \(HTTP 400, request id [\w-]+\)$/);
    expect(e.cause).toBeUndefined();
  });

  it('nothing listening → UPSTREAM_UNAVAILABLE', async () => {
    expectCode((await run(backend({ endpointUrl: 'http://127.0.0.1:1' }), req(['dog']))).error, 'UPSTREAM_UNAVAILABLE');
  });
});

describe('faults map to stable codes (InvokeEndpoint)', () => {
  const cases: [string, ErrorCode, number][] = [
    ['error_mid_stream', 'UPSTREAM_GENERATION_FAILED', 1], // the boxes before the error line are delivered
    ['malformed', 'UPSTREAM_PROTOCOL', 1],
    ['reset', 'UPSTREAM_GENERATION_FAILED', 0], // container broke off → ModelError (no answer)
    ['validation', 'UPSTREAM_REJECTED', 0],
    ['overloaded_429', 'UPSTREAM_OVERLOADED', 0],
    ['throttling', 'UPSTREAM_OVERLOADED', 0],
  ];
  for (const [directive, code, n] of cases) {
    it(`[[sim:fault=${directive}]] → ${code}`, async () => {
      const { events, error } = await run(backend({ streaming: false }), req([`dog [[sim:fault=${directive}]]`]));
      expectCode(error, code);
      expect(events).toHaveLength(n);
    });
  }

  it('a container that never finishes → UPSTREAM_TIMEOUT (the first-event deadline bounds the call)', async () => {
    const closed = once(gsam.events, 'request-closed');
    const { error } = await run(backend({ streaming: false, firstEventTimeoutMs: 150 }), req(['dog [[sim:fault=stall]]']));
    expect(expectCode(error, 'UPSTREAM_TIMEOUT').message).toContain('first-event');
    expect(((await closed)[0] as GroundedSamRequestClosedEvent).completed).toBe(false);
  });
});

describe('cancellation closes the request at once', () => {
  async function cancelAfterBoxes(stop: (ac: AbortController) => 'abort' | 'break', streaming = true): Promise<void> {
    const ac = new AbortController();
    const smClosed = once(sm.events, 'request-closed');
    const gsamClosed = once(slowGsam.events, 'request-closed');
    let stoppedAt = 0;
    const b = backend({ endpointName: 'slow-sm', interEventTimeoutMs: 10_000, streaming });
    try {
      for await (const ev of b.segment(req(['dog', 'cat'], ac.signal))) {
        expect(ev.kind).toBe('boxes'); // the first mask is 2 s away
        await sleep(20);
        stoppedAt = performance.now();
        if (stop(ac) === 'break') break;
      }
    } catch (err) {
      expect((err as Error).name).toBe('AbortError');
    }
    const [smEv] = (await smClosed) as [SageMakerRequestClosedEvent];
    expect(smEv.completed).toBe(false);
    expect(smEv.atMs - stoppedAt).toBeLessThan(50);
    const [gsamEv] = (await gsamClosed) as [GroundedSamRequestClosedEvent];
    expect(gsamEv.completed).toBe(false);
    expect(gsamEv.atMs - stoppedAt).toBeLessThan(100);
  }

  it('aborting the signal while waiting for a mask', async () => {
    await cancelAfterBoxes((ac) => {
      setTimeout(() => ac.abort(new Error('barge-in')), 0); // while the adapter waits on the next part
      return 'abort';
    });
  });

  it('breaking out of the loop', async () => {
    await cancelAfterBoxes(() => 'break');
  });

  it('aborting an InvokeEndpoint in flight', async () => {
    const ac = new AbortController();
    const smClosed = once(sm.events, 'request-closed');
    const gsamClosed = once(slowGsam.events, 'request-closed');
    const pending = run(backend({ endpointName: 'slow-sm', streaming: false, firstEventTimeoutMs: 10_000 }), req(['dog'], ac.signal));
    await once(slowGsam.events, 'request');
    await sleep(30);
    const t0 = performance.now();
    ac.abort();
    expect(((await pending).error as Error).name).toBe('AbortError');
    const [smEv] = (await smClosed) as [SageMakerRequestClosedEvent];
    expect(smEv.completed).toBe(false);
    expect(smEv.atMs - t0).toBeLessThan(50);
    expect(((await gsamClosed)[0] as GroundedSamRequestClosedEvent).atMs - t0).toBeLessThan(100);
  });

  it('an already-aborted signal never calls SageMaker', async () => {
    const ac = new AbortController();
    ac.abort();
    let called = false;
    const on = (): void => {
      called = true;
    };
    sm.events.once('request', on);
    expect(((await run(backend(), req(['dog'], ac.signal))).error as Error).name).toBe('AbortError');
    sm.events.off('request', on);
    expect(called).toBe(false);
  });
});

describe('scripted runtime (exact PayloadPart bytes)', () => {
  const tiny: SegmentImage = { bytes: new Uint8Array([1, 2, 3]), mime: 'image/png', width: 4, height: 3 };
  const LABEL = 'chien → 犬 🐕';
  const BOXES = `{"type":"boxes","size":[3,4],"boxes":[{"id":0,"label":"${LABEL}","score":0.52,"box":[0,0,3,3]}]}\n`;
  const MASK = `{"type":"mask","id":0,"label":"${LABEL}","score":0.52,"rle":{"size":[3,4],"counts":"264"}}\n`;
  const DONE = '{"type":"done","boxes":1,"masks":1}\n';
  const BODY = new TextEncoder().encode(BOXES + MASK + DONE);
  const EXPECTED: SegmentEvent[] = [
    { kind: 'boxes', size: [3, 4], boxes: [{ id: 0, label: LABEL, score: 0.52, box: [0, 0, 3, 3] }] },
    { kind: 'mask', id: 0, label: LABEL, score: 0.52, rle: { size: [3, 4], counts: '264' } },
    { kind: 'done', boxes: 1, masks: 1 },
  ];
  const NDJSON = 'application/x-ndjson';
  let rt: FakeRuntime;
  let script: RuntimeScript = () => undefined;

  beforeAll(async () => {
    rt = await startFakeRuntime((r, res) => script(r, res));
  });
  afterAll(async () => {
    await rt.close();
  });

  const scripted = (over: Partial<SageMakerSegmenterOptions> = {}): SegmenterBackend => backend({ endpointName: 'ep', endpointUrl: rt.url, ...over });
  const streamParts = (parts: (string | Uint8Array)[], containerType = NDJSON): RuntimeScript => (_r, res) => {
    streamHead(res, containerType);
    res.end(Buffer.concat(parts.map((p) => part(p))));
  };

  it('one byte per PayloadPart', async () => {
    script = streamParts(Array.from(BODY, (_, i) => BODY.subarray(i, i + 1)));
    const { events, error } = await run(scripted(), req(['dog'], undefined, tiny));
    expect(error).toBeUndefined();
    expect(events).toEqual(EXPECTED);
    expect(rt.requests.at(-1)?.path).toBe('/endpoints/ep/invocations-response-stream');
  });

  it('parts cut inside a multi-byte character and inside the JSON of a line', async () => {
    const inChar = BODY.indexOf(0xe2) + 1; // between the bytes of "→"
    const inEmoji = BODY.indexOf(0xf0) + 2; // inside "🐕"
    const inJson = BOXES.length + 20;
    script = streamParts([BODY.subarray(0, inChar), BODY.subarray(inChar, inEmoji), BODY.subarray(inEmoji, inJson), BODY.subarray(inJson)]);
    expect(await collectSegments(scripted().segment(req(['dog'], undefined, tiny)))).toEqual(EXPECTED);
  });

  it('malformed NDJSON → UPSTREAM_PROTOCOL after the events before it', async () => {
    script = streamParts([BOXES, '{"type":"mask","id":0,"rle":\n']);
    const { events, error } = await run(scripted(), req(['dog'], undefined, tiny));
    expectCode(error, 'UPSTREAM_PROTOCOL');
    expect(events).toEqual(EXPECTED.slice(0, 1));
  });

  it('a line of an unknown type, or a mask before the boxes → UPSTREAM_PROTOCOL', async () => {
    script = streamParts(['{"type":"progress"}\n']);
    expectCode((await run(scripted(), req(['dog'], undefined, tiny))).error, 'UPSTREAM_PROTOCOL');
    script = streamParts([MASK]);
    expectCode((await run(scripted(), req(['dog'], undefined, tiny))).error, 'UPSTREAM_PROTOCOL');
  });

  it('a container that answers another content type → UPSTREAM_PROTOCOL', async () => {
    script = streamParts([BOXES + MASK + DONE], 'text/event-stream');
    expectCode((await run(scripted(), req(['dog'], undefined, tiny))).error, 'UPSTREAM_PROTOCOL');
  });

  it('a stream that ends without the done line → UPSTREAM_RESET', async () => {
    script = streamParts([BOXES, MASK]);
    const { events, error } = await run(scripted(), req(['dog'], undefined, tiny));
    expectCode(error, 'UPSTREAM_RESET');
    expect(events).toHaveLength(2);
  });

  it('a finished stream is read to its end so the keep-alive socket is reused', async () => {
    script = streamParts([BOXES, MASK, DONE]);
    const before = rt.requests.length;
    for (let i = 0; i < 3; i++) {
      expect((await run(scripted(), req(['dog'], undefined, tiny))).error).toBeUndefined();
      await sleep(20); // the drain runs in the background, after the done event
    }
    const b = scripted();
    for (let i = 0; i < 3; i++) {
      expect((await run(b, req(['dog'], undefined, tiny))).error).toBeUndefined();
      await sleep(20);
    }
    expect(new Set(rt.requests.slice(before + 3).map((r) => r.remotePort)).size).toBe(1);
  });

  it('InvokeEndpoint: the whole NDJSON body (a last line without "\\n" is accepted)', async () => {
    script = (_r, res) => {
      res.writeHead(200, { 'content-type': NDJSON });
      res.end(BOXES + MASK + DONE.trimEnd());
    };
    expect(await collectSegments(scripted({ streaming: false }).segment(req(['dog'], undefined, tiny)))).toEqual(EXPECTED);
    expect(rt.requests.at(-1)?.path).toBe('/endpoints/ep/invocations');
    const body = JSON.parse(rt.requests.at(-1)?.body ?? '{}') as Record<string, unknown>;
    expect(body).toMatchObject({ image: 'AQID', text_prompt: 'dog .', box_threshold: 0.5, text_threshold: 0.55, hq: false, max_instances: 20 });
  });

  it('InvokeEndpoint: a JSON document instead of NDJSON events, or a body without done → mapped', async () => {
    script = (_r, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"boxes":[],"masks":[]}');
    };
    expectCode((await run(scripted({ streaming: false }), req(['dog'], undefined, tiny))).error, 'UPSTREAM_PROTOCOL');
    script = (_r, res) => {
      res.writeHead(200, { 'content-type': NDJSON });
      res.end(BOXES + MASK);
    };
    const { events, error } = await run(scripted({ streaming: false }), req(['dog'], undefined, tiny));
    expectCode(error, 'UPSTREAM_RESET');
    expect(events).toHaveLength(2);
  });
});
