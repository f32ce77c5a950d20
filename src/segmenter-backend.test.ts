// The `segmenter` config block: backend choice, validation of the keys that go with each backend,
// and the adapter each one builds.
import { describe, expect, it } from 'vitest';
import { ConfigSchema, type ConfigInput } from './config/schema.ts';
import { createConfiguredSegmenter } from './segmenter-backend.ts';

const parse = (segmenter: ConfigInput['segmenter']) => ConfigSchema.parse({ segmenter });

describe('segmenter config', () => {
  it('defaults to the HTTP backend; without a url there is no segmenter', () => {
    const config = parse({});
    expect(config.segmenter.backend).toBe('http');
    expect(createConfiguredSegmenter(config)).toBeUndefined();
  });

  it('http + url → the HTTP adapter', async () => {
    const b = createConfiguredSegmenter(parse({ url: 'http://gsam:7860' }));
    expect(b?.id).toBe('grounded-sam:http://gsam:7860');
    await b?.close();
  });

  it('sagemaker + endpoint → the SageMaker adapter (streaming by default)', async () => {
    const config = parse({ backend: 'sagemaker', sagemaker: { endpointName: 'gsam-ep', region: 'eu-west-1' } });
    expect(config.segmenter.sagemaker?.streaming).toBe(true);
    const b = createConfiguredSegmenter(config, { accessKeyId: 'a', secretAccessKey: 'b' });
    expect(b?.id).toBe('sagemaker-grounded-sam:eu-west-1/gsam-ep');
    expect(b?.capabilities).toEqual({ masks: true, hq: false });
    expect(await b?.probe(1000)).toBe(true);
    await b?.close();
    const viaUrl = createConfiguredSegmenter(parse({ backend: 'sagemaker', sagemaker: { endpointName: 'e', endpointUrl: 'http://127.0.0.1:3002', streaming: false } }));
    expect(viaUrl?.id).toBe('sagemaker-grounded-sam:http://127.0.0.1:3002/e');
    await viaUrl?.close();
  });

  it('sagemaker without the block → no segmenter (the simulated fleet fills it in)', () => {
    expect(createConfiguredSegmenter(parse({ backend: 'sagemaker' }))).toBeUndefined();
  });

  it('rejects keys of the other backend and unknown keys', () => {
    expect(() => parse({ sagemaker: { endpointName: 'e' } })).toThrow(/`segmenter.sagemaker` is only for segmenter backend/);
    expect(() => parse({ backend: 'sagemaker', url: 'http://gsam:7860', sagemaker: { endpointName: 'e' } })).toThrow(/`segmenter.url` is only for segmenter backend/);
    expect(() => parse({ backend: 'sagemaker', sagemaker: { endpointName: 'e', targetVariant: 'x' } as never })).toThrow();
    expect(() => parse({ backend: 'grpc' as never })).toThrow();
  });
});
