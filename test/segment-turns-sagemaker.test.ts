// Integration: segment turns through the real gateway when the segmenter is the SageMaker backend
// (segmenter.backend "sagemaker"): "segment the dog" with an image → detect.boxes and one
// mask.frame per instance, served by the simulated SageMaker runtime in front of the simulated
// Grounded-SAM (real AWS SDK, the harness's static simulated credentials), streamed and whole.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { RawClient, startStack, TRANSPORTS, type Stack } from './harness.ts';
import type { DetectBoxesMsg, GenDoneMsg, MaskFrameMsg, TurnMetricsMsg } from '../protocol/messages.ts';
import { startGroundedSamSim, type GroundedSamSim } from '../sim/grounded-sam/index.ts';
import { startSageMakerSim, type SageMakerRequestEvent, type SageMakerSim } from '../sim/sagemaker/index.ts';

const ENDPOINT = 'grounded-sam-sm';

async function segmentTheDog(stack: Stack, photo: Uint8Array, turn: string): Promise<{ boxes: DetectBoxesMsg; masks: MaskFrameMsg[]; done: GenDoneMsg; metrics: TurnMetricsMsg }> {
  const c = await RawClient.session(stack.url);
  try {
    c.send({ t: 'image.put', id: 'img', data: photo });
    c.send({ t: 'turn.start', id: turn, text: 'segment the dog in this picture', image: 'img' });
    const done = await c.waitFor<GenDoneMsg>((m) => m.t === 'gen.done' && m.turn === turn);
    const metrics = await c.waitFor<TurnMetricsMsg>((m) => m.t === 'turn.metrics' && m.turn === turn);
    const frames = c.framesOf(turn);
    const boxes = frames.find((f): f is DetectBoxesMsg => f.t === 'detect.boxes');
    if (boxes === undefined) throw new Error(`no detect.boxes; got ${frames.map((f) => f.t).join(',')}`);
    const masks = frames.filter((f): f is MaskFrameMsg => f.t === 'mask.frame');
    if (masks.length > 0) expect(frames.indexOf(boxes)).toBeLessThan(frames.indexOf(masks[0] as MaskFrameMsg));
    return { boxes, masks, done, metrics };
  } finally {
    c.close();
  }
}

describe.each(TRANSPORTS)('segment turns with the SageMaker segmenter over %s', (transport) => {
  let gsam: GroundedSamSim;
  let sm: SageMakerSim;
  let stacks: Stack[];
  let photo: Uint8Array;

  beforeAll(async () => {
    gsam = await startGroundedSamSim({ detectMs: 20, perMaskMs: 10, jitter: 0 });
    sm = await startSageMakerSim({ endpoints: { [ENDPOINT]: { groundedSam: true, groundedSamUrl: gsam.url } } });
    const segmenter = (streaming: boolean) => ({ backend: 'sagemaker' as const, sagemaker: { endpointName: ENDPOINT, endpointUrl: sm.url, region: 'us-east-1', streaming } });
    stacks = [await startStack(transport, { config: { segmenter: segmenter(true) } }), await startStack(transport, { config: { segmenter: segmenter(false) } })];
    photo = new Uint8Array(await sharp({ create: { width: 320, height: 240, channels: 3, background: 'white' } }).jpeg().toBuffer());
  });
  afterAll(async () => {
    await Promise.all(stacks.map((s) => s.close()));
    await sm.close();
    await gsam.close();
  });

  it.each([
    ['InvokeEndpointWithResponseStream', 0, 'invocations-response-stream'],
    ['InvokeEndpoint', 1, 'invocations'],
  ] as const)('segment the dog via %s: detect.boxes, then one mask.frame per box', async (_name, which, route) => {
    const stack = stacks[which] as Stack;
    const requests: SageMakerRequestEvent[] = [];
    const onRequest = (e: SageMakerRequestEvent): void => void requests.push(e);
    sm.events.on('request', onRequest);
    let directHits = 0;
    const onDirect = (): void => void directHits++;
    stack.gsam.events.on('request', onDirect); // the harness's own HTTP Grounded-SAM must stay unused
    try {
      const { boxes, masks, done, metrics } = await segmentTheDog(stack, photo, `s${which}`);
      expect(boxes.size).toEqual([240, 320]);
      expect(boxes.boxes.length).toBeGreaterThan(0);
      expect(boxes.boxes.some((b) => b.label === 'dog')).toBe(true);
      expect(masks.map((m) => m.id).sort()).toEqual(boxes.boxes.map((b) => b.id).sort());
      for (const m of masks) expect(m.rle.size).toEqual([240, 320]);
      expect(done.text).toMatch(/dog/);
      expect(metrics.counts).toMatchObject({ boxes: boxes.boxes.length, masks: masks.length });
    } finally {
      sm.events.off('request', onRequest);
      stack.gsam.events.off('request', onDirect);
    }
    expect(requests).toHaveLength(1);
    expect(requests[0]).toMatchObject({ endpoint: ENDPOINT, route, signed: true, contentType: 'application/json' });
    expect(directHits).toBe(0);
  });

  it('/readyz counts the SageMaker segmenter healthy (local probe)', async () => {
    const res = await fetch(`${(stacks[0] as Stack).httpBase}/readyz`);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { backends: Record<string, boolean> }).backends.segmenter).toBe(true);
  });
});
