// Both Segmenter adapters over the same cases: the HTTP adapter straight to the simulated
// Grounded-SAM, and the SageMaker adapter (real AWS SDK, fake static credentials) through the
// simulated SageMaker runtime fronting that same service — streamed with awkward PayloadPart cuts,
// streamed one part per line, and whole via InvokeEndpoint. Same events, same contract.
import sharp from 'sharp';
import { afterAll, beforeAll } from 'vitest';
import { startGroundedSamSim, type GroundedSamSim } from '../../../sim/grounded-sam/index.ts';
import { startSageMakerSim, type SageMakerSim } from '../../../sim/sagemaker/index.ts';
import type { SegmenterBackend, SegmentImage } from '../segmenter-port.ts';
import { describeSegmenterConformance } from './conformance.testkit.ts';
import { createGroundedSamBackend, createSageMakerSegmenter, type SageMakerSegmenterOptions } from './index.ts';

const CREDENTIALS = { accessKeyId: 'AKIDSIMULATED', secretAccessKey: 'not-a-secret' };
const ENDPOINT = 'grounded-sam-sm';

let gsam: GroundedSamSim;
let awkward: SageMakerSim;
let perLine: SageMakerSim;
let image: SegmentImage;
const backends = new Map<string, SegmenterBackend>();

beforeAll(async () => {
  gsam = await startGroundedSamSim({ detectMs: 5, perMaskMs: 2, jitter: 0 });
  awkward = await startSageMakerSim({ endpoints: { [ENDPOINT]: { groundedSam: true, groundedSamUrl: gsam.url } } });
  perLine = await startSageMakerSim({ endpoints: { [ENDPOINT]: { groundedSam: true, groundedSamUrl: gsam.url } }, chunking: 'events' });
  const bytes = await sharp({ create: { width: 320, height: 240, channels: 3, background: '#8a6' } }).jpeg().toBuffer();
  image = { bytes: new Uint8Array(bytes), mime: 'image/jpeg', width: 320, height: 240 };
  const timeouts = { firstEventTimeoutMs: 5000, interEventTimeoutMs: 5000 };
  const sm = (over: Partial<SageMakerSegmenterOptions>): SegmenterBackend =>
    createSageMakerSegmenter({ endpointName: ENDPOINT, region: 'us-east-1', endpointUrl: awkward.url, credentials: CREDENTIALS, ...timeouts, ...over });
  backends.set('reference', createGroundedSamBackend({ url: gsam.url, connectTimeoutMs: 1000, ...timeouts }));
  backends.set('http', createGroundedSamBackend({ url: gsam.url, connectTimeoutMs: 1000, ...timeouts }));
  backends.set('sagemaker-stream', sm({}));
  backends.set('sagemaker-stream-per-line', sm({ endpointUrl: perLine.url }));
  backends.set('sagemaker-invoke', sm({ streaming: false }));
});
afterAll(async () => {
  await Promise.all([...backends.values()].map((b) => b.close()));
  await Promise.all([awkward.close(), perLine.close()]);
  await gsam.close();
});

const get = (name: string) => (): SegmenterBackend => {
  const b = backends.get(name);
  if (b === undefined) throw new Error(`no backend ${name}`);
  return b;
};

describeSegmenterConformance({
  reference: get('reference'),
  image: () => image,
  subjects: [
    { name: 'HTTP service', backend: get('http') },
    { name: 'SageMaker InvokeEndpointWithResponseStream, awkward PayloadPart cuts', backend: get('sagemaker-stream') },
    { name: 'SageMaker InvokeEndpointWithResponseStream, one PayloadPart per line', backend: get('sagemaker-stream-per-line') },
    { name: 'SageMaker InvokeEndpoint (whole NDJSON body)', backend: get('sagemaker-invoke') },
  ],
});
