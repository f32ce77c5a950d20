// An upstream body that does not parse is user or generated text (a transcript, the input echoed
// back, the generated answer), and the parser's own error quotes it (Node's JSON.parse: `Unexpected
// token 'm', "my secret "... is not valid JSON`). The adapters' VlpError for such a body must carry
// that text nowhere: not in its message, not in a `cause` (pino and util.inspect print the chain).
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { inspect } from 'node:util';
import { ModelError } from '@aws-sdk/client-sagemaker-runtime';
import { afterEach, describe, expect, it } from 'vitest';
import { VlpError } from '../../protocol/errors.ts';
import { parseWhisperAnswer } from './asr/sagemaker.ts';
import { parseAsrAnswer } from './asr/whisper-asr.ts';
import { createWhisperLiveBackend } from './asr/whisperlive.ts';
import { startFakeWhisperLive } from './asr/fake-whisperlive.testkit.ts';
import type { AsrEvent } from './asr/port.ts';
import { parseZeroShotResponse } from './hf-inference/zero-shot.ts';
import { sageMakerError } from './sagemaker/errors.ts';
import { createTgiGenerateClient } from './tgi/generate-once.ts';

const SECRET = 'my secret transcript about the patient';
const BODY = `${SECRET} is not JSON`;

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function thrown(f: () => unknown): unknown {
  try {
    f();
  } catch (err) {
    return err;
  }
  throw new Error('expected a throw');
}

/** The error is UPSTREAM_PROTOCOL and nothing in it or its cause chain quotes the body. */
function expectNoQuote(err: unknown, code = 'UPSTREAM_PROTOCOL'): void {
  expect(err).toBeInstanceOf(VlpError);
  const e = err as VlpError;
  expect(e.code).toBe(code);
  for (let c: unknown = e, depth = 0; c !== undefined && depth < 8; depth++) {
    if (c instanceof Error) {
      expect(c.message).not.toContain('secret');
      c = c.cause;
    } else {
      expect(String(c)).not.toContain('secret');
      c = undefined;
    }
  }
  expect(inspect(e, { depth: 8 })).not.toContain('secret');
}

describe('an unparseable upstream body is not quoted by the error or its cause', () => {
  it('whisper-asr-webservice: parseAsrAnswer', () => {
    const err = thrown(() => parseAsrAnswer(BODY));
    expectNoQuote(err);
    expect((err as VlpError).cause).toBeUndefined();
  });

  it('SageMaker Whisper: parseWhisperAnswer', () => {
    const err = thrown(() => parseWhisperAnswer(new TextEncoder().encode(BODY)));
    expectNoQuote(err);
    expect((err as VlpError).cause).toBeUndefined();
  });

  it('HF zero-shot: parseZeroShotResponse', () => {
    const err = thrown(() => parseZeroShotResponse(BODY, ['weather', 'news']));
    expectNoQuote(err);
    expect((err as VlpError).cause).toBeUndefined();
  });

  it('TGI /generate: a 200 answer that is not JSON', async () => {
    const server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(BODY);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const client = createTgiGenerateClient({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, connectTimeoutMs: 1000, timeoutMs: 2000 });
    cleanups.push(
      () => new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
      () => client.close(),
    );
    const err = await client.generate('x', {}).then(() => undefined, (e: unknown) => e);
    expectNoQuote(err);
    expect((err as VlpError).cause).toBeUndefined();
  });

  it('WhisperLive: a text frame that is not JSON', async () => {
    const wl = await startFakeWhisperLive((c) => void c.options.then(() => {
      c.ready();
      c.send(BODY);
    }));
    const backend = createWhisperLiveBackend({ kind: 'whisperlive', url: wl.url, finalizeTimeoutMs: 1000, requestTimeoutMs: 2000 });
    cleanups.push(() => wl.close(), () => backend.close());
    const events: AsrEvent[] = [];
    const s = backend.open({ task: 'transcribe' }, { onEvent: (ev) => events.push(ev) });
    cleanups.push(() => s.close());
    s.write(new Int16Array(320).fill(1000));
    const end = Date.now() + 3000;
    while (!events.some((e) => e.kind === 'error')) {
      if (Date.now() > end) throw new Error('timed out waiting for the error');
      await new Promise((r) => setTimeout(r, 2));
    }
    const ev = events.find((e) => e.kind === 'error');
    if (ev?.kind !== 'error') throw new Error('no error');
    expectNoQuote(ev.error);
    expect(ev.error.cause).toBeUndefined();
  });

  it("SageMaker ModelError: the container's raw answer is not kept as the cause", () => {
    const original = `Failed to deserialize the JSON body: inputs: invalid type: string "${SECRET}"`;
    const err = new ModelError({ $metadata: {}, message: `Received client error (422) from primary with message "${original}"`, OriginalStatusCode: 422, OriginalMessage: original });
    const e = sageMakerError(err, 'request');
    expectNoQuote(e, 'UPSTREAM_REJECTED');
    expect(e.cause).toBeUndefined();
  });
});
