// The fleet starts a SageMaker runtime with one endpoint per model kind, in front of its TGI servers
// and its Grounded-SAM service.
import { InvokeEndpointCommand, InvokeEndpointWithResponseStreamCommand, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { startFleetSim } from '../fleet.ts';

describe('startFleetSim + SageMaker', () => {
  it('serves llama-2-7b-chat-sm from the llm server and idefics-9b-instruct-sm from the vlm server', async () => {
    const fleet = await startFleetSim({ ttftMs: 2, itlMs: 1, jitter: 0, sagemaker: { chunking: 'events' } });
    const client = new SageMakerRuntimeClient({ region: 'us-west-2', endpoint: fleet.sagemakerUrl, credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
    try {
      expect(fleet.sagemakerEndpoints).toEqual({ llm: 'llama-2-7b-chat-sm', vlm: 'idefics-9b-instruct-sm', asr: 'whisper-large-v3-sm', segmenter: 'grounded-sam-sm' });
      expect(fleet.sagemaker.endpointNames).toEqual(['llama-2-7b-chat-sm', 'idefics-9b-instruct-sm', 'whisper-large-v3-sm', 'grounded-sam-sm']);
      const texts: string[] = [];
      for (const [name, inputs] of [
        [fleet.sagemakerEndpoints.llm, '[INST] Tell me about Lisbon [/INST]'],
        [fleet.sagemakerEndpoints.vlm, 'User:What is on the table?<end_of_utterance>\nAssistant:'],
      ] as const) {
        const out = await client.send(
          new InvokeEndpointWithResponseStreamCommand({
            EndpointName: name,
            ContentType: 'application/json',
            Body: new TextEncoder().encode(JSON.stringify({ inputs, parameters: { max_new_tokens: 60 }, stream: true })),
          }),
        );
        let text = '';
        for await (const ev of out.Body ?? []) text += new TextDecoder().decode(ev.PayloadPart?.Bytes);
        texts.push(text);
      }
      expect(texts[0]).toMatch(/Lisbon/);
      expect(texts[1]).toContain('<end_of_utterance>'); // IDEFICS-style answer: the vlm server
    } finally {
      client.destroy();
      await fleet.close();
    }
  });

  it('serves grounded-sam-sm from the Grounded-SAM service (NDJSON boxes → masks → done)', async () => {
    const fleet = await startFleetSim({ ttftMs: 2, itlMs: 1, jitter: 0, groundedSam: { detectMs: 1, perMaskMs: 1 } });
    const client = new SageMakerRuntimeClient({ region: 'us-west-2', endpoint: fleet.sagemakerUrl, credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
    try {
      const image = (await sharp({ create: { width: 32, height: 24, channels: 3, background: '#fff' } }).png().toBuffer()).toString('base64');
      const out = await client.send(
        new InvokeEndpointCommand({
          EndpointName: fleet.sagemakerEndpoints.segmenter,
          ContentType: 'application/json',
          Body: new TextEncoder().encode(JSON.stringify({ image, text_prompt: 'dog .' })),
        }),
      );
      expect(out.ContentType).toBe('application/x-ndjson');
      const lines = new TextDecoder().decode(out.Body).trimEnd().split('\n').map((l) => JSON.parse(l) as { type: string });
      const types = lines.map((l) => l.type);
      expect(types[0]).toBe('boxes');
      expect(types.at(-1)).toBe('done');
      expect(types.slice(1, -1).length).toBeGreaterThan(0);
      expect(types.slice(1, -1).every((t) => t === 'mask')).toBe(true);
    } finally {
      client.destroy();
      await fleet.close();
    }
  });
});
