// The Grounded-SAM SegmenterBackend behind a SageMaker endpoint (protocol/GROUNDED-SAM.md,
// "SageMaker"): the same JSON body as POST /detect_segment, sent with the AWS SDK v3 either to
// InvokeEndpointWithResponseStream (PayloadPart bytes carry the NDJSON lines, cut anywhere) or to
// InvokeEndpoint (the whole NDJSON body at once). SDK and stream exceptions map through
// sagemaker/errors.ts like the TGI SageMaker adapter's; the lines through events.ts like the HTTP
// adapter's.
import { InvokeEndpointCommand, InvokeEndpointWithResponseStreamCommand } from '@aws-sdk/client-sagemaker-runtime';
import type { InvokeEndpointCommandInput, ResponseStream, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { VlpError } from '../../../protocol/errors.ts';
import { abortError } from '../abort.ts';
import { StallWatch } from '../http/stall.ts';
import { createRuntimeClient, probeRuntimeClient, runtimeWhere, type StaticAwsCredentials } from '../sagemaker/client.ts';
import { sageMakerError, sageMakerProtocolError } from '../sagemaker/errors.ts';
import { drainAfterDone } from '../sagemaker/stream.ts';
import type { SegmentEvent, SegmenterBackend, SegmentRequest } from '../segmenter-port.ts';
import { gsamEndedEarlyError, gsamTimeoutError } from './errors.ts';
import { deliverChunk, pushChunk, SegmentStreamReader, takePending } from './reader.ts';
import { detectSegmentBody } from './request.ts';

export interface SageMakerSegmenterOptions {
  endpointName: string;
  /** Default: the SDK's region chain (AWS_REGION, ~/.aws/config). */
  region?: string;
  /** Runtime URL override (the fleet simulator, a VPC endpoint); default from the region. */
  endpointUrl?: string;
  /** Default: the SDK's credential chain. */
  credentials?: StaticAwsCredentials;
  /** true (default): InvokeEndpointWithResponseStream, masks as they are encoded; false:
   *  InvokeEndpoint, every event once the container has finished. */
  streaming?: boolean;
  targetVariant?: string;
  inferenceComponent?: string;
  /** The container runs HQ-SAM and honours `hq` (default false). */
  hq?: boolean;
  /** From send() (signing, connect, first PayloadPart) to the boxes line, ms → UPSTREAM_TIMEOUT
   *  (default 30000). In non-streaming mode it bounds the whole call. */
  firstEventTimeoutMs?: number;
  /** Longest wait for the next line after one, ms → UPSTREAM_TIMEOUT (default 10000). */
  interEventTimeoutMs?: number;
  /** TCP connect timeout, ms (default: none besides the first-event deadline). */
  connectTimeoutMs?: number;
  /** Cap on sockets to the runtime endpoint; unset = unlimited. */
  maxConnections?: number;
}

/** What the container answers (protocol/GROUNDED-SAM.md); the SDK reports it as ContentType. */
const NDJSON = 'application/x-ndjson';
const NDJSON_RE = /ndjson|jsonl/i;
const encoder = new TextEncoder();

interface Ctx {
  client: SageMakerRuntimeClient;
  target: Pick<InvokeEndpointCommandInput, 'EndpointName' | 'TargetVariant' | 'InferenceComponentName'> & { ContentType: 'application/json' };
  hq: boolean;
  firstMs: number;
  interMs: number;
}

export function createSageMakerSegmenter(opts: SageMakerSegmenterOptions): SegmenterBackend {
  const client = createRuntimeClient(opts);
  const target: Ctx['target'] = { EndpointName: opts.endpointName, ContentType: 'application/json' };
  if (opts.targetVariant !== undefined) target.TargetVariant = opts.targetVariant;
  if (opts.inferenceComponent !== undefined) target.InferenceComponentName = opts.inferenceComponent;
  const ctx: Ctx = { client, target, hq: opts.hq === true, firstMs: opts.firstEventTimeoutMs ?? 30_000, interMs: opts.interEventTimeoutMs ?? 10_000 };
  const streaming = opts.streaming !== false;
  return {
    id: `sagemaker-grounded-sam:${runtimeWhere(opts)}/${opts.endpointName}`,
    capabilities: { masks: true, hq: ctx.hq },
    segment: (req) => (streaming ? streamSegments(ctx, req) : unarySegments(ctx, req)),
    /** A local check that a region and credentials resolve (nothing is sent or billed). */
    probe: (timeoutMs) => probeRuntimeClient(client, timeoutMs),
    close: async () => {
      client.destroy(); // destroys the agents and their sockets
    },
  };
}

function requestBody(ctx: Ctx, req: SegmentRequest): Uint8Array {
  return encoder.encode(detectSegmentBody(req, req.hq === true && ctx.hq));
}

function checkContentType(contentType: string | undefined): void {
  if (contentType !== undefined && !NDJSON_RE.test(contentType)) throw sageMakerProtocolError(`the container did not answer ${NDJSON}`);
}

function mapFailure(err: unknown, signal: AbortSignal, watch: StallWatch, phase: 'request' | 'stream'): unknown {
  if (signal.aborted) return abortError(signal.reason);
  if (watch.fired !== undefined) return gsamTimeoutError(watch.fired === 'first-token' ? 'first-event' : 'inter-event', watch.limitMs);
  if (err instanceof VlpError) return err;
  return sageMakerError(err, phase);
}

/**
 * One streamed request. `ac` is linked to req.signal, handed to the SDK (its NodeHttpHandler
 * destroys the request on abort, also mid-body) and fired by the stall watch. The finally block
 * aborts it whenever we leave before the done line — error, req.signal, or the consumer breaking
 * out — so SageMaker, and the container behind it, stop at once.
 */
async function* streamSegments(ctx: Ctx, req: SegmentRequest): AsyncGenerator<SegmentEvent, void, undefined> {
  const { signal } = req;
  if (signal.aborted) throw abortError(signal.reason);
  const body = requestBody(ctx, req);
  const reader = new SegmentStreamReader([req.image.height, req.image.width]);

  const ac = new AbortController();
  const onAbort = (): void => ac.abort(signal.reason);
  signal.addEventListener('abort', onAbort, { once: true });
  const watch = new StallWatch(ctx.firstMs, ctx.interMs, () => ac.abort());
  let it: AsyncIterator<ResponseStream> | undefined;
  let phase: 'request' | 'stream' = 'request';
  try {
    // send() resolves once the first event has arrived (the SDK reads it to look for an
    // initial-response), so the first-event deadline covers it.
    const out = await ctx.client.send(new InvokeEndpointWithResponseStreamCommand({ ...ctx.target, Accept: NDJSON, Body: body }), { abortSignal: ac.signal });
    phase = 'stream';
    checkContentType(out.ContentType);
    if (out.Body === undefined) throw sageMakerProtocolError('response has no event stream');
    it = out.Body[Symbol.asyncIterator]();
    for (;;) {
      const next = await it.next();
      if (next.done === true) break;
      const bytes = next.value.PayloadPart?.Bytes;
      if (bytes === undefined) continue; // an event type this SDK does not know: skipped
      if (yield* deliverChunk(reader, bytes, watch)) return;
    }
    throw gsamEndedEarlyError();
  } catch (err) {
    throw mapFailure(err, signal, watch, phase);
  } finally {
    watch.stop();
    signal.removeEventListener('abort', onAbort);
    if (reader.ended && it !== undefined) drainAfterDone(it, ac); // the done line was read
    else if (!ac.signal.aborted) ac.abort(); // destroys the HTTP request and its socket
  }
}

/** One InvokeEndpoint: the container's whole NDJSON body, checked like a stream (a last line
 *  without its "\n" is accepted). firstEventTimeoutMs bounds the whole call. */
async function* unarySegments(ctx: Ctx, req: SegmentRequest): AsyncGenerator<SegmentEvent, void, undefined> {
  const { signal } = req;
  if (signal.aborted) throw abortError(signal.reason);
  const body = requestBody(ctx, req);
  const reader = new SegmentStreamReader([req.image.height, req.image.width]);

  const ac = new AbortController();
  const onAbort = (): void => ac.abort(signal.reason);
  signal.addEventListener('abort', onAbort, { once: true });
  const watch = new StallWatch(ctx.firstMs, ctx.firstMs, () => ac.abort());
  let fault: unknown;
  try {
    const out = await ctx.client.send(new InvokeEndpointCommand({ ...ctx.target, Accept: NDJSON, Body: body }), { abortSignal: ac.signal });
    checkContentType(out.ContentType);
    const bytes = out.Body ?? new Uint8Array(0);
    fault = pushChunk(reader, bytes);
    if (fault === undefined && !reader.ended && bytes.length > 0 && bytes[bytes.length - 1] !== 0x0a) fault = pushChunk(reader, Uint8Array.of(0x0a));
    if (fault === undefined && !reader.ended) fault = gsamEndedEarlyError();
  } catch (err) {
    throw mapFailure(err, signal, watch, 'request');
  } finally {
    watch.stop();
    signal.removeEventListener('abort', onAbort);
  }
  // As on the stream: the events before an error line are delivered, then the error.
  yield* takePending(reader);
  if (fault !== undefined) throw fault;
}
