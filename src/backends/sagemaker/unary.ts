// Non-streaming generation over InvokeEndpoint: the container's whole answer (TGI compat JSON,
// `[{"generated_text": ...}]` or a bare object) becomes one token event and the done event.
import { InvokeEndpointCommand } from '@aws-sdk/client-sagemaker-runtime';
import { VlpError } from '../../../protocol/errors.ts';
import { abortError } from '../abort.ts';
import type { DoneEvent, GenEvent, TextGenRequest } from '../ports.ts';
import { tgiEventError } from '../tgi/errors.ts';
import { doneOf } from '../tgi/events.ts';
import type { TgiStreamEvent } from '../tgi/events.ts';
import { StallWatch } from '../http/stall.ts';
import { hasImages, render, type SageMakerContext } from './context.ts';
import { sageMakerError, sageMakerProtocolError, sageMakerTimeoutError } from './errors.ts';
import { sageMakerBody } from './request.ts';

/** Largest InvokeEndpoint answer read, bytes. An answer of limits.maxNewTokens tokens with
 *  details is tens of KB; more means a container that ignored max_new_tokens or a broken one
 *  (SageMaker itself caps real-time responses at 6 MB; a custom endpointUrl has no such cap). */
export const MAX_UNARY_ANSWER_BYTES = 4 << 20;

/** The answer body as text; UPSTREAM_PROTOCOL when it is over MAX_UNARY_ANSWER_BYTES (checked
 *  before decoding, so an oversized body is never turned into a string). */
export function unaryAnswerText(body: Uint8Array | undefined): string {
  if (body === undefined) return '';
  if (body.byteLength > MAX_UNARY_ANSWER_BYTES) {
    throw sageMakerProtocolError(`the container answer is larger than ${MAX_UNARY_ANSWER_BYTES} bytes`);
  }
  return new TextDecoder().decode(body);
}

/** Parses a TGI compat answer. `generated_tokens` from details when present (we ask for details),
 *  else 1; a missing finish_reason reads as 'eos_token'; a matched stop sequence is stripped. */
export function parseUnaryAnswer(text: string, stop: readonly string[]): DoneEvent {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw sageMakerProtocolError('the container answer is not JSON');
  }
  const first: unknown = Array.isArray(v) ? v[0] : v;
  if (typeof first !== 'object' || first === null || Array.isArray(first)) throw sageMakerProtocolError('the container answer is not a generate response');
  const e = first as TgiStreamEvent;
  if (e.error !== undefined && e.error !== null) throw tgiEventError(e.error, e.error_type);
  const done = doneOf(e, 1, stop);
  if (done === undefined) throw sageMakerProtocolError('the container answer has no generated_text');
  return done;
}

/** One InvokeEndpoint. The whole answer is the "first token", so firstTokenTimeoutMs bounds the
 *  whole call (SageMaker itself gives a container 60 s). */
export async function* unaryGeneration(ctx: SageMakerContext, req: TextGenRequest): AsyncGenerator<GenEvent, void, undefined> {
  const { signal } = req;
  if (signal.aborted) throw abortError(signal.reason);
  if (hasImages(req.messages) && !ctx.vision) throw new Error('sagemaker backend: images sent to a backend without vision');
  const { body, stop } = sageMakerBody(render(ctx, req.messages), req.params, ctx.templateStops, false);

  const ac = new AbortController();
  const onAbort = (): void => ac.abort(signal.reason);
  signal.addEventListener('abort', onAbort, { once: true });
  const ms = ctx.timeouts.firstTokenTimeoutMs;
  const watch = new StallWatch(ms, ms, () => ac.abort());
  let done: DoneEvent;
  try {
    const out = await ctx.client.send(new InvokeEndpointCommand({ ...ctx.target, Accept: 'application/json', Body: body }), { abortSignal: ac.signal });
    done = parseUnaryAnswer(unaryAnswerText(out.Body), stop);
  } catch (err) {
    if (signal.aborted) throw abortError(signal.reason);
    if (watch.fired !== undefined) throw sageMakerTimeoutError('first-token', ms);
    if (err instanceof VlpError) throw err;
    throw sageMakerError(err, 'request');
  } finally {
    watch.stop();
    signal.removeEventListener('abort', onAbort);
  }
  yield { kind: 'token', id: -1, text: done.generatedText, special: false, recvAt: performance.now() };
  yield done;
}
