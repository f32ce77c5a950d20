// Tests for the fleet starter: two TGI simulators with distinct models on their own ports.
import { describe, expect, it } from 'vitest';
import { startFleetSim } from './fleet.ts';
import { events, get, post } from './tgi/test-client.ts';

describe('startFleetSim', () => {
  it('starts an llm (Llama-2) and a vlm (IDEFICS) server', async () => {
    const fleet = await startFleetSim({ ttftMs: 5, itlMs: 1, jitter: 0 });
    try {
      expect(fleet.llmUrl).not.toBe(fleet.vlmUrl);
      expect(fleet.urls).toEqual({ llm: fleet.llmUrl, vlm: fleet.vlmUrl });
      const llm = JSON.parse((await get(fleet.llmUrl, '/info')).text) as Record<string, unknown>;
      const vlm = JSON.parse((await get(fleet.vlmUrl, '/info')).text) as Record<string, unknown>;
      expect(llm).toMatchObject({ model_id: 'meta-llama/Llama-2-7b-chat-hf', max_total_tokens: 4096 });
      expect(vlm).toMatchObject({ model_id: 'HuggingFaceM4/idefics-9b-instruct', max_total_tokens: 2048, max_input_tokens: 2047 });
      const res = await post(fleet.vlmUrl, '/generate_stream', {
        inputs: 'User:![](data:image/png;base64,iVBORw0KGgo=)What is on the table?<end_of_utterance>\nAssistant:',
        parameters: { stop: ['<end_of_utterance>', '\nUser:'], details: true },
      });
      const last = events(res.text).at(-1);
      expect(last?.token).toMatchObject({ id: 32002, text: '<end_of_utterance>', special: true });
      expect(last?.details?.finish_reason).toBe('stop_sequence');
      expect(last?.generated_text).toContain('table');
    } finally {
      await fleet.close();
    }
  });

  it('applies per-server overrides', async () => {
    const fleet = await startFleetSim({ llm: { modelId: 'meta-llama/Llama-2-13b-chat-hf' }, legacyFraming: true });
    try {
      expect((JSON.parse((await get(fleet.llmUrl, '/info')).text) as { model_id: string }).model_id).toBe('meta-llama/Llama-2-13b-chat-hf');
    } finally {
      await fleet.close();
    }
  });
});
