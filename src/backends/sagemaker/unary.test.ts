// Parsing of InvokeEndpoint answers (TGI compat JSON) into the done event.
import { afterEach, describe, expect, it } from 'vitest';
import type { VlpError } from '../../../protocol/errors.ts';
import { createSageMakerBackend } from './index.ts';
import { startFakeRuntime } from './fake-runtime.testkit.ts';
import { MAX_UNARY_ANSWER_BYTES, parseUnaryAnswer, unaryAnswerText } from './unary.ts';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('parseUnaryAnswer', () => {
  it('reads the compat array and the bare object', () => {
    const details = { finish_reason: 'length', generated_tokens: 20 };
    expect(parseUnaryAnswer(JSON.stringify([{ generated_text: 'Paris.', details }]), [])).toEqual({ kind: 'done', finish: 'length', generatedText: 'Paris.', tokens: 20 });
    expect(parseUnaryAnswer('{"generated_text":"Paris."}', [])).toEqual({ kind: 'done', finish: 'eos_token', generatedText: 'Paris.', tokens: 1 });
  });

  it('strips a matched stop sequence', () => {
    const text = JSON.stringify([{ generated_text: 'A cat.\nUser:', details: { finish_reason: 'stop_sequence', generated_tokens: 5 } }]);
    expect(parseUnaryAnswer(text, ['<end_of_utterance>', '\nUser:']).generatedText).toBe('A cat.');
  });

  it('maps TGI error bodies and rejects anything else', () => {
    const code = (text: string): string => {
      try {
        parseUnaryAnswer(text, []);
      } catch (err) {
        return (err as VlpError).code;
      }
      return 'none';
    };
    expect(code('{"error":"Input validation error","error_type":"validation"}')).toBe('UPSTREAM_REJECTED');
    expect(code('not json')).toBe('UPSTREAM_PROTOCOL');
    expect(code('[]')).toBe('UPSTREAM_PROTOCOL');
    expect(code('[{"details":null}]')).toBe('UPSTREAM_PROTOCOL');
    expect(code('"text"')).toBe('UPSTREAM_PROTOCOL');
  });
});

describe('answer size bound', () => {
  const code = (fn: () => unknown): string => {
    try {
      fn();
    } catch (err) {
      return (err as VlpError).code;
    }
    return 'none';
  };

  it('reads an answer up to MAX_UNARY_ANSWER_BYTES and rejects a larger one with UPSTREAM_PROTOCOL', () => {
    expect(MAX_UNARY_ANSWER_BYTES).toBe(4 << 20);
    expect(unaryAnswerText(new Uint8Array(MAX_UNARY_ANSWER_BYTES).fill(0x20)).length).toBe(MAX_UNARY_ANSWER_BYTES);
    expect(code(() => unaryAnswerText(new Uint8Array(MAX_UNARY_ANSWER_BYTES + 1).fill(0x20)))).toBe('UPSTREAM_PROTOCOL');
  });

  it('a container answer over the bound fails the generation with UPSTREAM_PROTOCOL (InvokeEndpoint)', async () => {
    // A container that ignored max_new_tokens: a valid compat answer of 5 MiB of text.
    const huge = JSON.stringify([{ generated_text: 'a'.repeat(5 << 20), details: { finish_reason: 'length', generated_tokens: 1 << 20 } }]);
    const rt = await startFakeRuntime((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(huge);
    });
    cleanups.push(() => rt.close());
    const b = createSageMakerBackend({
      endpointName: 'ep', region: 'us-east-1', endpointUrl: rt.url, credentials: { accessKeyId: 'AKID', secretAccessKey: 'x' },
      streaming: false, template: 'llama2-chat', vision: false, firstTokenTimeoutMs: 5000, interTokenTimeoutMs: 1000,
    });
    cleanups.push(() => b.close());
    const events: string[] = [];
    let error: unknown;
    try {
      for await (const ev of b.generate({ messages: [{ role: 'user', content: 'Hi' }], params: {}, signal: new AbortController().signal })) events.push(ev.kind);
    } catch (err) {
      error = err;
    }
    expect(events).toEqual([]);
    expect((error as VlpError).code).toBe('UPSTREAM_PROTOCOL');
  });
});
