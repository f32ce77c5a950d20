// Unit tests of the LangChain chat model over the generation port: message mapping, streaming,
// parameters and cancellation (LangChain's signal and an early break both close the request).
import { describe, expect, it } from 'vitest';
import { AIMessage, ChatMessage as LcChatMessage, HumanMessage, SystemMessage, ToolMessage } from '@langchain/core/messages';
import type { AIMessageChunk } from '@langchain/core/messages';
import { withTokenCap } from '../backends/token-cap.ts';
import { ScriptedBackend } from './fake-backend.testkit.ts';
import { TextGenChatModel, toPortMessages } from './langchain-llm.ts';

describe('toPortMessages', () => {
  it('maps roles, merges runs of one role and keeps images of user messages', () => {
    const out = toPortMessages([
      new SystemMessage('be brief'),
      new SystemMessage('be kind'),
      new HumanMessage('hi'),
      new AIMessage('hello'),
      new HumanMessage({
        content: [
          { type: 'text', text: 'what is ' },
          { type: 'text', text: 'this?' },
          { type: 'image_url', image_url: { url: 'http://img/1.png' } },
        ],
      }),
      new LcChatMessage({ content: 'and that?', role: 'user' }),
      new HumanMessage({ content: [{ type: 'image', mimeType: 'image/png', data: 'AAAA' }] }),
    ]);
    expect(out).toEqual([
      { role: 'system', content: 'be brief\n\nbe kind' },
      { role: 'user', content: 'hi' },
      { role: 'assistant', content: 'hello' },
      { role: 'user', content: 'what is this?\n\nand that?', images: ['http://img/1.png', 'data:image/png;base64,AAAA'] },
    ]);
  });

  it('rejects what the port cannot carry', () => {
    expect(() => toPortMessages([new HumanMessage('a'), new ToolMessage({ content: 'x', tool_call_id: 't' })])).toThrow(TypeError);
    expect(() => toPortMessages([new HumanMessage('a'), new AIMessage('b')])).toThrow(/end with a user/);
    expect(() => toPortMessages([new AIMessage('b'), new HumanMessage('a')])).toThrow(/start with a user/);
    expect(() => toPortMessages([new HumanMessage('a'), new AIMessage('b'), new SystemMessage('s'), new HumanMessage('c')])).toThrow(/system/);
    expect(() => toPortMessages([new SystemMessage('s')])).toThrow(TypeError);
  });
});

describe('TextGenChatModel', () => {
  it('streams one chunk per visible token and ends with the finish reason', async () => {
    const backend = new ScriptedBackend({ tokens: ['Hel', 'lo', '</s>'], special: [2] });
    const model = new TextGenChatModel({ backend });
    const chunks: AIMessageChunk[] = [];
    for await (const c of await model.stream('hi')) chunks.push(c);
    expect(chunks.map((c) => c.text)).toEqual(['Hel', 'lo', '']);
    expect(chunks.at(-1)?.response_metadata).toMatchObject({ finish_reason: 'eos_token', generated_tokens: 3, backend: 'fake:planning' });
    expect(backend.calls[0]?.request.messages).toEqual([{ role: 'user', content: 'hi' }]);
    expect(backend.calls[0]?.ended).toBe('done');
    expect(backend.calls[0]?.request.signal.aborted).toBe(false);
  });

  it('invoke() returns the whole text', async () => {
    const model = new TextGenChatModel({ backend: new ScriptedBackend({ tokens: ['a', 'b', 'c'] }) });
    const msg = await model.invoke([new SystemMessage('s'), new HumanMessage('q')]);
    expect(msg.text).toBe('abc');
  });

  it('maps the TGI-style fields and lets call options override them', async () => {
    const backend = new ScriptedBackend({ tokens: ['x'] });
    const model = new TextGenChatModel({
      backend,
      params: { max_new_tokens: 10, seed: 1 },
      maxNewTokens: 1024,
      topK: 5,
      topP: 0.96,
      typicalP: 0.95,
      temperature: 0.001,
      repetitionPenalty: 1.08,
      stopSequences: ['\n\n'],
    });
    await model.invoke('q');
    expect(backend.calls[0]?.request.params).toEqual({
      max_new_tokens: 1024,
      temperature: 0.001,
      top_k: 5,
      top_p: 0.96,
      typical_p: 0.95,
      repetition_penalty: 1.08,
      stop: ['\n\n'],
      seed: 1,
    });
    await model.invoke('q', { params: { temperature: 0.5, seed: 9 }, stop: ['END'] });
    expect(backend.calls[1]?.request.params).toMatchObject({ temperature: 0.5, seed: 9, stop: ['END'], top_k: 5 });
  });

  it("aborts the upstream request when LangChain's signal aborts", async () => {
    const backend = new ScriptedBackend({ tokens: ['a', 'b', 'c', 'd'], pauseBefore: [2] });
    const model = new TextGenChatModel({ backend });
    const ac = new AbortController();
    const stream = await model.stream('q', { signal: ac.signal });
    const it = stream[Symbol.asyncIterator]();
    expect((await it.next()).value?.text).toBe('a');
    expect((await it.next()).value?.text).toBe('b');
    await backend.paused(); // LangChain's stream reads ahead into the pause before 'c'
    ac.abort(new Error('stop'));
    await expect(it.next()).rejects.toThrow('stop');
    const call = backend.calls[0];
    expect(call?.request.signal.aborted).toBe(true);
    expect(call?.abortedEarly).toBe(true);
    expect(call?.sent).toBe(2);
  });

  it('aborts the upstream request when the consumer stops reading', async () => {
    const backend = new ScriptedBackend({ tokens: ['a', 'b', 'c', 'd'], pauseBefore: [3] });
    const model = new TextGenChatModel({ backend });
    for await (const c of await model.stream('q')) {
      if (c.text === 'b') break;
    }
    await new Promise((r) => setTimeout(r, 0));
    const call = backend.calls[0];
    expect(call?.ended).toBe('returned');
    expect(call?.request.signal.aborted).toBe(true);
    expect(call?.sent).toBeLessThan(4);
  });

  it('over a backend held to the token cap, one that ignores max_new_tokens stops at it: the fake stream is closed', async () => {
    const backend = new ScriptedBackend({ tokens: Array.from({ length: 200 }, (_, i) => `t${i} `) });
    const model = new TextGenChatModel({ backend: withTokenCap(backend, 4096), maxNewTokens: 5 });
    const chunks: AIMessageChunk[] = [];
    for await (const c of await model.stream('q')) chunks.push(c);
    expect(chunks.map((c) => c.text).join('')).toBe('t0 t1 t2 t3 t4 ');
    expect(chunks.at(-1)?.response_metadata).toMatchObject({ finish_reason: 'length', generated_tokens: 5 });
    const call = backend.calls[0];
    expect(call?.request.params.max_new_tokens).toBe(5);
    expect(call?.sent).toBe(6); // token 6 was read, then the stream was closed
    expect(call?.ended).toBe('returned'); // the fake's finally ran
    expect(await model.invoke('q')).toMatchObject({ text: 't0 t1 t2 t3 t4 ' }); // _call accumulates at most the cap
  });

  it('honours the timeout call option', async () => {
    const backend = new ScriptedBackend({ tokens: ['a', 'b'], pauseBefore: [1] });
    const model = new TextGenChatModel({ backend });
    await expect(model.invoke('q', { timeout: 30 })).rejects.toThrow();
    expect(backend.calls[0]?.request.signal.aborted).toBe(true);
  });
});
