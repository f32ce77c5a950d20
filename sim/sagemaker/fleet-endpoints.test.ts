// The fleet starts a SageMaker runtime with one endpoint per model kind, in front of its TGI servers.
import { InvokeEndpointWithResponseStreamCommand, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { describe, expect, it } from 'vitest';
import { startFleetSim } from '../fleet.ts';

describe('startFleetSim + SageMaker', () => {
  it('serves llama-2-7b-chat-sm from the llm server and idefics-9b-instruct-sm from the vlm server', async () => {
    const fleet = await startFleetSim({ ttftMs: 2, itlMs: 1, jitter: 0, sagemaker: { chunking: 'events' } });
    const client = new SageMakerRuntimeClient({ region: 'us-west-2', endpoint: fleet.sagemakerUrl, credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
    try {
      expect(fleet.sagemakerEndpoints).toEqual({ llm: 'llama-2-7b-chat-sm', vlm: 'idefics-9b-instruct-sm', asr: 'whisper-large-v3-sm' });
      expect(fleet.sagemaker.endpointNames).toEqual(['llama-2-7b-chat-sm', 'idefics-9b-instruct-sm', 'whisper-large-v3-sm']);
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
});
