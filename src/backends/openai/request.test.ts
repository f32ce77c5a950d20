// The chat request body: GenParams → OpenAI field mapping, message shapes, endpoint paths.
import { describe, expect, it } from 'vitest';
import type { GenParams } from '../../../protocol/messages.ts';
import { endpoints } from './endpoints.ts';
import { openAiMessages, openAiParams, openAiRequest } from './request.ts';

describe('OpenAI request: parameters', () => {
  it.each<[string, GenParams, Record<string, unknown>]>([
    ['no parameters: greedy, as TGI native would decode', {}, { temperature: 0 }],
    ['do_sample:false alone: greedy', { do_sample: false, seed: 3 }, { temperature: 0, seed: 3 }],
    ['do_sample:true: server default temperature', { do_sample: true }, {}],
    ['a warper implies sampling (TGI native rule)', { top_k: 50 }, { top_k: 50 }],
    ['typical_p implies sampling but is not sent', { typical_p: 0.9 }, {}],
    ['temperature with do_sample:false still samples', { do_sample: false, temperature: 0.7 }, { temperature: 0.7 }],
    [
      'all mapped fields',
      { max_new_tokens: 64, temperature: 0.5, top_p: 0.9, top_k: 10, stop: ['a', 'b'], seed: 42 },
      { max_tokens: 64, temperature: 0.5, top_p: 0.9, top_k: 10, stop: ['a', 'b'], seed: 42 },
    ],
    [
      'fields without an OpenAI equivalent are not sent',
      { repetition_penalty: 1.3, truncate: 100, watermark: true, best_of: 1, return_full_text: true, details: true, decoder_input_details: false, stop: [] },
      { temperature: 0 },
    ],
  ])('%s', (_name, params, expected) => {
    expect(openAiParams(params)).toEqual(expected);
  });

  it('orders the body: model, messages, parameters, stream, stream_options', () => {
    const { body, stop } = openAiRequest('tgi', [{ role: 'user', content: 'hi' }], { max_new_tokens: 5, stop: ['\n'] }, false);
    expect(body).toBe('{"model":"tgi","messages":[{"role":"user","content":"hi"}],"max_tokens":5,"temperature":0,"stop":["\\n"],"stream":true,"stream_options":{"include_usage":true}}');
    expect(stop).toEqual(['\n']);
  });
});

describe('OpenAI request: messages', () => {
  it('keeps roles and text; images become parts, images first; history images too', () => {
    expect(openAiMessages([
      { role: 'system', content: 'sys' },
      { role: 'user', content: 'first', images: ['https://a/1.png'] },
      { role: 'assistant', content: 'answer' },
      { role: 'user', content: 'second', images: [] },
    ], true)).toEqual([
      { role: 'system', content: 'sys' },
      { role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://a/1.png' } }, { type: 'text', text: 'first' }] },
      { role: 'assistant', content: 'answer' },
      { role: 'user', content: 'second' },
    ]);
  });

  it('defangs `![` only for vision backends', () => {
    const m = [{ role: 'user' as const, content: 'see ![](http://10.0.0.1/x)' }];
    expect(openAiMessages(m, true)[0]?.content).toBe('see ! [](http://10.0.0.1/x)');
    expect(openAiMessages(m, false)[0]?.content).toBe('see ![](http://10.0.0.1/x)');
  });

  it('refuses images on a non-user message and unsafe image URLs', () => {
    expect(() => openAiMessages([{ role: 'assistant', content: 'x', images: ['https://a/1.png'] }], true)).toThrow(/assistant/);
    for (const url of ['ftp://a/b.png', 'https://a/b c.png', 'https://a/(b).png', 'https://a/b.png\n']) {
      expect(() => openAiMessages([{ role: 'user', content: 'x', images: [url] }], true)).toThrow(expect.objectContaining({ code: 'INPUT_IMAGE_URL_FORBIDDEN' }) as Error);
    }
  });
});

describe('OpenAI endpoints', () => {
  it.each([
    ['http://tgi:8080', '', '/v1/chat/completions', '/health'],
    ['http://tgi:8080/', '', '/v1/chat/completions', '/health'],
    ['http://vllm:8000/v1', '', '/v1/chat/completions', '/health'],
    ['http://vllm:8000/v1/', '', '/v1/chat/completions', '/health'],
    ['https://gw.test/llama', '/llama', '/llama/v1/chat/completions', '/llama/health'],
    ['https://user:pw@gw.test/openai/v1', '/openai', '/openai/v1/chat/completions', '/openai/health'],
  ])('%s', (url, root, chat, health) => {
    const ep = endpoints(url);
    expect(ep).toMatchObject({ root, chat, health, models: `${root}/v1/models` });
    expect(ep.origin).not.toContain('pw');
  });
});
