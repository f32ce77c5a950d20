// POST /v1/chat/completions and GET /v1/models on the simulated TGI over real sockets: exact chunk
// bytes and field order, usage chunk and [DONE], non-stream response, request mapping, templates,
// in-band and HTTP errors, faults, and the v2.0 form under legacyFraming.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startTgiSim, type TgiSim } from './index.ts';
import { dataPayloads, get, post } from './test-client.ts';
import type { RequestEvent } from './types.ts';

const FAST = { ttftMs: 5, itlMs: 1, jitter: 0 } as const;
const PATH = '/v1/chat/completions';
const QUESTION = [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'What is the capital of France?' }];

let sim: TgiSim;
const seen: RequestEvent[] = [];
beforeAll(async () => {
  sim = await startTgiSim(FAST);
  sim.events.on('request', (e) => seen.push(e));
});
afterAll(async () => {
  await sim.close();
});
beforeEach(async () => {
  seen.length = 0;
  await get(sim.url, '/__sim/faults', 'DELETE');
});

interface Chunk {
  object: string;
  choices: { index: number; delta: { role: string; content: string }; logprobs: unknown; finish_reason: string | null }[];
  usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number } | null;
}

const chunks = (text: string): Chunk[] => dataPayloads(text).filter((d) => d !== '[DONE]').map((d) => JSON.parse(d) as Chunk);
const content = (cs: Chunk[]): string => cs.map((c) => c.choices[0]?.delta.content ?? '').join('');

const HEAD = '\\{"object":"chat\\.completion\\.chunk","id":"","created":\\d{10},"model":"meta-llama/Llama-2-7b-chat-hf","system_fingerprint":"3\\.3\\.7-vlp-sim"';
const choice = (finish: string): string =>
  `"choices":\\[\\{"index":0,"delta":\\{"role":"assistant","content":"[^"]*"\\},"logprobs":null,"finish_reason":${finish}\\}\\]`;

describe('POST /v1/chat/completions, streaming', () => {
  it('writes TGI 3.3.7 chunks with serde field order, the usage chunk, then `data: [DONE]`', async () => {
    const res = await post(sim.url, PATH, { model: 'tgi', messages: QUESTION, stream: true, max_tokens: 3, seed: 1, stream_options: { include_usage: true } });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('text/event-stream');
    expect(res.headers['x-compute-characters']).toBe(String(seen[0]?.templatedText?.length));
    const frames = res.text.split('\n\n');
    expect(frames.pop()).toBe('');
    expect(frames).toHaveLength(5);
    frames.slice(0, 2).forEach((f) => expect(f).toMatch(new RegExp(`^data: ${HEAD},${choice('null')},"usage":null\\}$`)));
    expect(frames[2]).toMatch(new RegExp(`^data: ${HEAD},${choice('"length"')},"usage":null\\}$`));
    expect(frames[3]).toMatch(new RegExp(`^data: ${HEAD},"choices":\\[\\],"usage":\\{"prompt_tokens":\\d+,"completion_tokens":3,"total_tokens":\\d+\\}\\}$`));
    expect(frames[4]).toBe('data: [DONE]');
    const usage = chunks(res.text)[3]?.usage;
    expect(usage?.total_tokens).toBe((usage?.prompt_tokens ?? 0) + 3);
  });

  it('ends on EOS with content "" and finish_reason "stop"; no usage chunk unless asked', async () => {
    const res = await post(sim.url, PATH, { messages: QUESTION, stream: true, temperature: 0 });
    const cs = chunks(res.text);
    expect(res.text.endsWith('\n\ndata: [DONE]\n\n')).toBe(true);
    expect(cs.every((c) => c.usage === null && c.choices.length === 1)).toBe(true);
    expect(cs.at(-1)?.choices[0]).toEqual({ index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: 'stop' });
    expect(content(cs)).toContain('France');
  });

  it('reports stop sequences as "stop_sequence", keeping the stop text in the content', async () => {
    const full = chunks((await post(sim.url, PATH, { messages: QUESTION, stream: true, temperature: 0 })).text);
    const stop = full[2]?.choices[0]?.delta.content ?? '';
    const cs = chunks((await post(sim.url, PATH, { messages: QUESTION, stream: true, temperature: 0, stop: [stop] })).text);
    expect(cs).toHaveLength(3);
    expect(cs[2]?.choices[0]?.finish_reason).toBe('stop_sequence');
    expect(content(cs).endsWith(stop)).toBe(true);
  });

  it('adds logprobs when asked (top_logprobs → top_n_tokens)', async () => {
    const cs = chunks((await post(sim.url, PATH, { messages: QUESTION, stream: true, max_tokens: 1, logprobs: true, top_logprobs: 2 })).text);
    expect(cs[0]?.choices[0]?.logprobs).toEqual({
      content: [{ token: expect.any(String) as string, logprob: expect.any(Number) as number, top_logprobs: [expect.anything(), expect.anything()] }],
    });
  });

  it('maps the request as try_into_generate does', async () => {
    await post(sim.url, PATH, {
      model: 'my-lora', messages: QUESTION, stream: true, max_tokens: 4, temperature: 0.5, top_p: 0.9,
      presence_penalty: 0.5, frequency_penalty: 0.1, seed: 42, stop: ['\n'], top_k: 7,
    });
    expect(seen[0]).toMatchObject({ route: PATH, stream: true, seed: 42 });
    expect(seen[0]?.params).toMatchObject({
      max_new_tokens: 4, temperature: 0.5, top_p: 0.9, repetition_penalty: 2.5, frequency_penalty: 0.1,
      stop: ['\n'], do_sample: true, top_k: null, details: true, decoder_input_details: false, adapter_id: 'my-lora',
    });
    await post(sim.url, PATH, { messages: QUESTION, stream: true, temperature: 0, max_completion_tokens: 2 });
    expect(seen[1]?.params).toMatchObject({ temperature: null, do_sample: false, max_new_tokens: 2, adapter_id: null, stop: [] });
  });

  it('uses the request model (other than "tgi") in chunks', async () => {
    const cs = chunks((await post(sim.url, PATH, { model: 'gpt-x', messages: QUESTION, stream: true, max_tokens: 1 })).text);
    expect(cs[0]).toMatchObject({ model: 'gpt-x' });
  });

  it('sends validation errors and overload in-band (HTTP 200), then [DONE]', async () => {
    const res = await post(sim.url, PATH, { messages: QUESTION, stream: true, top_p: 1.0 });
    expect(res.status).toBe(200);
    expect(res.text).toBe(
      'data: {"error":{"message":"Input validation error: `top_p` must be > 0.0 and < 1.0","http_status_code":422}}\n\ndata: [DONE]\n\n',
    );
    const full = await startTgiSim({ ...FAST, maxConcurrent: 0 });
    try {
      const busy = await post(full.url, PATH, { messages: QUESTION, stream: true });
      expect(busy.text).toBe('data: {"error":{"message":"Model is overloaded","http_status_code":422}}\n\ndata: [DONE]\n\n');
    } finally {
      await full.close();
    }
  });
});

describe('POST /v1/chat/completions, faults', () => {
  it('error_mid_stream: k chunks, the OpenAI error event, then [DONE]', async () => {
    const messages = [{ role: 'user', content: 'Tell me about Paris [[sim:fault=error_mid_stream;after=2]]' }];
    const res = await post(sim.url, PATH, { messages, stream: true });
    const payloads = dataPayloads(res.text);
    expect(payloads).toHaveLength(4);
    expect(payloads.slice(2)).toEqual([
      '{"error":{"message":"Request failed during generation: Server error: CUDA out of memory","http_status_code":422}}',
      '[DONE]',
    ]);
  });

  it('reads directives from the last user message only', async () => {
    const messages = [
      { role: 'user', content: 'x [[sim:fault=reset]]' }, { role: 'assistant', content: 'ok' }, { role: 'user', content: 'Tell me about Paris' },
    ];
    const res = await post(sim.url, PATH, { messages, stream: true, max_tokens: 2 });
    expect(dataPayloads(res.text).at(-1)).toBe('[DONE]');
  });

  it('overloaded_429 from the admin queue: HTTP 429 with Retry-After, also without streaming', async () => {
    await post(sim.url, '/__sim/faults', { kind: 'overloaded_429', count: 2 });
    for (const stream of [true, false]) {
      const res = await post(sim.url, PATH, { messages: QUESTION, stream });
      expect(res.status).toBe(429);
      expect(res.headers['retry-after']).toBe('1');
      expect(JSON.parse(res.text)).toEqual({ error: 'Model is overloaded', error_type: 'overloaded' });
    }
  });

  it('malformed: k chunks then `data: {not json`', async () => {
    const res = await post(sim.url, PATH, { messages: [{ role: 'user', content: 'Paris [[sim:fault=malformed;after=1]]' }], stream: true });
    expect(res.text).toMatch(/^data: \{"object":"chat\.completion\.chunk",[^\n]*\}\n\ndata: \{not json\n\n$/);
  });
});

describe('POST /v1/chat/completions, templates and rejections', () => {
  it('applies the Llama-2 chat template (BOS per turn, system merged, answers closed with EOS)', async () => {
    const messages = [
      { role: 'system', content: 'Sys.' }, { role: 'user', content: ' Hi ' }, { role: 'assistant', content: 'Hello!' },
      { role: 'user', content: [{ type: 'text', text: 'Look: ' }, { type: 'image_url', image_url: { url: 'https://a/b.png' } }] },
    ];
    const res = await post(sim.url, PATH, { messages, max_tokens: 2 });
    expect(res.status).toBe(200);
    // strip() applies to the merged `<<SYS>>…` + content, so the user's leading space stays.
    expect(seen[0]?.templatedText).toBe('<s>[INST] <<SYS>>\nSys.\n<</SYS>>\n\n Hi [/INST] Hello! </s><s>[INST] Look: ![](https://a/b.png) [/INST]');
    // add_special_tokens=false: the template's own <s> are the only BOS tokens counted, where the
    // native route adds one more for the same text.
    const { usage } = JSON.parse(res.text) as { usage: { prompt_tokens: number } };
    expect(res.headers['x-prompt-tokens']).toBe(String(usage.prompt_tokens));
    const native = await post(sim.url, '/generate', { inputs: seen[0]?.templatedText, parameters: { max_new_tokens: 1 } });
    expect(Number(native.headers['x-prompt-tokens'])).toBe(usage.prompt_tokens + 1);
  });

  it('applies the IDEFICS-style template on the vlm server', async () => {
    const vlm = await startTgiSim({ ...FAST, kind: 'vlm' });
    try {
      const events: RequestEvent[] = [];
      vlm.events.on('request', (e) => events.push(e));
      const messages = [
        { role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://a/cat.png' } }, { type: 'text', text: 'What is this?' }] },
        { role: 'assistant', content: 'A cat.' },
        { role: 'user', content: 'And its color?' },
      ];
      const res = await post(vlm.url, PATH, { messages, stream: true, max_tokens: 2 });
      expect(res.status).toBe(200);
      expect(events[0]?.templatedText).toBe(
        'User:![](https://a/cat.png)What is this?<end_of_utterance>\nAssistant: A cat.<end_of_utterance>\nUser: And its color?<end_of_utterance>\nAssistant:',
      );
    } finally {
      await vlm.close();
    }
  });

  it('rejects a template error with HTTP 422 before streaming', async () => {
    const res = await post(sim.url, PATH, { messages: [{ role: 'assistant', content: 'x' }], stream: true });
    expect(res.status).toBe(422);
    expect(JSON.parse(res.text)).toEqual({
      error: 'Template error: syntax error: Conversation roles must alternate user/assistant/user/assistant/... (in <string>:1)',
      error_type: 'template_error',
    });
  });

  it('rejects bodies as axum does: 400 bad JSON, 422 wrong shape, 415 content type, 405 method', async () => {
    expect((await post(sim.url, PATH, '{"messages":')).status).toBe(400);
    const missing = await post(sim.url, PATH, { stream: true });
    expect(missing.status).toBe(422);
    expect(missing.text).toBe('Failed to deserialize the JSON body into the target type: missing field `messages` at line 1 column 15');
    const part = await post(sim.url, PATH, { messages: [{ role: 'user', content: [{ type: 'image', image: 'x' }] }] });
    expect(part.text).toBe('Failed to deserialize the JSON body into the target type: messages[0]: data did not match any variant of untagged enum MessageBody');
    expect((await post(sim.url, PATH, { messages: QUESTION }, { 'content-type': 'text/plain' })).status).toBe(415);
    expect((await get(sim.url, PATH)).status).toBe(405);
  });
});

describe('POST /v1/chat/completions, non-streaming', () => {
  it('answers one chat.completion with message, finish_reason and usage', async () => {
    const res = await post(sim.url, PATH, { messages: QUESTION, max_tokens: 4, seed: 3 });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/json');
    expect(res.text).toMatch(
      /^\{"object":"chat\.completion","id":"","created":\d{10},"model":"meta-llama\/Llama-2-7b-chat-hf","system_fingerprint":"3\.3\.7-vlp-sim","choices":\[\{"index":0,"message":\{"role":"assistant","content":"[^"]+"\},"logprobs":null,"finish_reason":"length"\}\],"usage":\{"prompt_tokens":\d+,"completion_tokens":4,"total_tokens":\d+\}\}$/,
    );
    const streamed = await post(sim.url, PATH, { messages: QUESTION, max_tokens: 4, seed: 3, stream: true });
    const body = JSON.parse(res.text) as { choices: { message: { content: string } }[] };
    expect(body.choices[0]?.message.content).toBe(content(chunks(streamed.text)));
  });

  it('maps errors to TGI statuses (422 validation)', async () => {
    const res = await post(sim.url, PATH, { messages: QUESTION, temperature: -1 });
    expect(res.status).toBe(422);
    expect(JSON.parse(res.text)).toEqual({ error: 'Input validation error: `temperature` must be strictly positive', error_type: 'validation' });
  });
});

describe('GET /v1/models and legacyFraming', () => {
  it('lists the served model', async () => {
    const res = await get(sim.url, '/v1/models');
    expect(res.status).toBe(200);
    expect(res.text).toBe(
      '{"object":"list","data":[{"id":"meta-llama/Llama-2-7b-chat-hf","object":"model","created":0,"owned_by":"meta-llama/Llama-2-7b-chat-hf"}]}',
    );
  });

  it('emulates TGI 2.0 under legacyFraming: `data:`, text_completion, EOS text, raw finish reason, no [DONE]', async () => {
    const legacy = await startTgiSim({ ...FAST, legacyFraming: true });
    try {
      const res = await post(legacy.url, PATH, { messages: QUESTION, stream: true, temperature: 0, stream_options: { include_usage: true } });
      const frames = res.text.split('\n\n');
      expect(frames.pop()).toBe('');
      expect(frames.every((f) => f.startsWith('data:{"id":"","object":"text_completion","created":'))).toBe(true);
      expect(frames.at(-1)).toMatch(/"choices":\[\{"index":0,"delta":\{"role":"assistant","content":"<\/s>"\},"logprobs":null,"finish_reason":"eos_token"\}\]\}$/);
      const err = await post(legacy.url, PATH, { messages: QUESTION, stream: true, top_p: 1.0 });
      expect(err.text).toBe('data:{"error":"Input validation error: `top_p` must be > 0.0 and < 1.0","error_type":"validation"}\n\n');
    } finally {
      await legacy.close();
    }
  });
});
