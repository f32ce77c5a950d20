// Streaming generation over InvokeEndpointWithResponseStream: PayloadPart bytes → SSE → TGI token
// events, with first/inter-token deadlines, exception events mapped, and cancellation that closes
// the HTTP request at once.
import { InvokeEndpointWithResponseStreamCommand } from '@aws-sdk/client-sagemaker-runtime';
import type { ResponseStream } from '@aws-sdk/client-sagemaker-runtime';
import { VlpError } from '../../../protocol/errors.ts';
import { abortError } from '../abort.ts';
import type { GenEvent, TextGenRequest } from '../ports.ts';
import { TgiStreamReader } from '../tgi/events.ts';
import { StallWatch } from '../http/stall.ts';
import { hasImages, render, type SageMakerContext } from './context.ts';
import { sageMakerEndedEarlyError, sageMakerError, sageMakerProtocolError, sageMakerTimeoutError } from './errors.ts';
import { PayloadSseDecoder } from './payload.ts';
import { sageMakerBody } from './request.ts';

/** After the final event, how long and how many parts we read to end the response cleanly, so its
 *  keep-alive socket returns to the pool (SageMaker ends the stream right after TGI's last event). */
const DRAIN_MS = 2000;
const DRAIN_PARTS = 64;

/** Reads the rest of a finished stream in the background; aborts (closes the socket) if it does
 *  not end soon. Never aborts after a clean end: the socket may already serve another request. */
export function drainAfterDone(it: AsyncIterator<ResponseStream>, ac: AbortController): void {
  const timer = setTimeout(() => ac.abort(), DRAIN_MS);
  timer.unref();
  void (async () => {
    try {
      for (let i = 0; i < DRAIN_PARTS; i++) {
        if ((await it.next()).done === true) {
          clearTimeout(timer);
          return;
        }
      }
      clearTimeout(timer);
      ac.abort();
    } catch {
      clearTimeout(timer); // failed after the final event: nothing to report, the socket is gone
    }
  })();
}

/**
 * One streamed generation. `ac` is linked to req.signal, handed to the SDK (its NodeHttpHandler
 * destroys the request on abort, also mid-body) and fired by the stall watch. The finally block
 * aborts it whenever we leave before the final event — error, req.signal, or the consumer breaking
 * out — so SageMaker, and TGI behind it, stop generating.
 */
export async function* streamGeneration(ctx: SageMakerContext, req: TextGenRequest): AsyncGenerator<GenEvent, void, undefined> {
  const { signal } = req;
  if (signal.aborted) throw abortError(signal.reason);
  if (hasImages(req.messages) && !ctx.vision) throw new Error('sagemaker backend: images sent to a backend without vision');
  const { body, stop } = sageMakerBody(render(ctx, req.messages), req.params, ctx.templateStops, true);

  const ac = new AbortController();
  const onAbort = (): void => ac.abort(signal.reason);
  signal.addEventListener('abort', onAbort, { once: true });
  const watch = new StallWatch(ctx.timeouts.firstTokenTimeoutMs, ctx.timeouts.interTokenTimeoutMs, () => ac.abort());
  let it: AsyncIterator<ResponseStream> | undefined;
  let finished = false;
  let phase: 'request' | 'stream' = 'request';
  try {
    // send() resolves once the first event has arrived (the SDK reads it to look for an
    // initial-response), so the first-token deadline covers it.
    const out = await ctx.client.send(
      new InvokeEndpointWithResponseStreamCommand({ ...ctx.target, Accept: 'text/event-stream', Body: body }),
      { abortSignal: ac.signal },
    );
    phase = 'stream';
    if (out.ContentType !== undefined && !out.ContentType.includes('text/event-stream')) {
      throw sageMakerProtocolError('the container did not answer text/event-stream');
    }
    if (out.Body === undefined) throw sageMakerProtocolError('response has no event stream');
    it = out.Body[Symbol.asyncIterator]();
    const sse = new PayloadSseDecoder();
    const pending = sse.pending;
    const reader = new TgiStreamReader(stop, sageMakerProtocolError);
    const batch: GenEvent[] = [];
    for (;;) {
      const next = await it.next();
      if (next.done === true) break;
      const bytes = next.value.PayloadPart?.Bytes;
      if (bytes === undefined) continue; // an event type this SDK does not know: skipped
      const recvAt = performance.now();
      sse.push(bytes);
      if (pending.length === 0) continue; // partial event or keep-alive: no progress
      watch.park();
      // An error event mid-batch still delivers the tokens before it, then fails the stream.
      let fault: unknown;
      try {
        reader.read(pending, recvAt, batch);
      } catch (err) {
        fault = err;
      }
      pending.length = 0;
      // Set before yielding: a consumer that stops at the final event leaves a finished stream.
      if (reader.ended) finished = true;
      for (let i = 0; i < batch.length; i++) yield batch[i] as GenEvent;
      batch.length = 0;
      if (fault !== undefined) throw fault;
      if (reader.ended) return;
      watch.resume(reader.sawToken);
    }
    throw sageMakerEndedEarlyError();
  } catch (err) {
    if (signal.aborted) throw abortError(signal.reason);
    if (watch.fired !== undefined) throw sageMakerTimeoutError(watch.fired, watch.limitMs);
    if (err instanceof VlpError) throw err;
    throw sageMakerError(err, phase);
  } finally {
    watch.stop();
    signal.removeEventListener('abort', onAbort);
    if (finished && it !== undefined) drainAfterDone(it, ac);
    else if (!ac.signal.aborted) ac.abort(); // destroys the HTTP request and its socket
  }
}
