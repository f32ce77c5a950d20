// Relays one container response to the client the way the SageMaker runtime does: the whole body
// for InvokeEndpoint, or AWS event-stream PayloadPart messages (cut by the PartSplitter) for
// InvokeEndpointWithResponseStream, with mid-stream exception faults after k container events.
import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import { EVENT_STREAM_CONTENT_TYPE, exceptionMessage, payloadPartMessage } from './eventstream.ts';
import type { SageMakerFault, StreamFaultKind } from './faults.ts';
import { eventScanner, PartSplitter, type ChunkScan, type Framing } from './splitter.ts';
import type { SageMakerSimStats } from './types.ts';

/** Per-request bookkeeping shared with the server (for the request-closed event). */
export interface Exchange {
  id: number;
  variant: string;
  completed: boolean;
  payloadParts: number;
  /** The client-side response closed (client abort or our end). */
  closed: boolean;
}

export interface RelayContext {
  chunking: 'awkward' | 'events';
  seed: number;
  stats: SageMakerSimStats;
}

function headerText(v: string | string[] | undefined, fallback: string): string {
  return (Array.isArray(v) ? v[0] : v) ?? fallback;
}

/** InvokeEndpoint: the container's body and content type, as is. */
export async function relayWhole(res: ServerResponse, ex: Exchange, up: Dispatcher.ResponseData): Promise<void> {
  const bytes = Buffer.from(await up.body.arrayBuffer());
  if (ex.closed) return;
  ex.completed = true;
  res.writeHead(200, {
    'content-type': headerText(up.headers['content-type'], 'application/octet-stream'),
    'content-length': bytes.length,
    'x-amzn-invoked-production-variant': ex.variant,
    'x-amzn-requestid': randomUUID(),
  });
  res.end(bytes);
}

const EXCEPTIONS: Record<StreamFaultKind, Parameters<typeof exceptionMessage>> = {
  model_stream_error: ['ModelStreamError', { Message: 'Model stream was broken: the container stopped sending. (SIMULATED)', ErrorCode: 'StreamBroken' }],
  model_invocation_time_exceeded: [
    'ModelStreamError',
    { Message: 'Model invocation time exceeded the limit for response streaming. (SIMULATED)', ErrorCode: 'ModelInvocationTimeExceeded' },
  ],
  internal_stream_failure: ['InternalStreamFailure', { Message: 'Internal stream failure. (SIMULATED)' }],
};

/** Writes and waits for 'drain' when the socket buffer is full (or the response closed). */
async function writeAll(res: ServerResponse, buf: Uint8Array): Promise<void> {
  if (res.write(buf)) return;
  await new Promise<void>((resolve) => {
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

function prefixScan(scan: ChunkScan, end: number): ChunkScan {
  return { starts: scan.starts.filter((s) => s < end), dataEnds: scan.dataEnds.filter((e) => e <= end) };
}

/** InvokeEndpointWithResponseStream: event-stream body; `fault` (a stream kind) fires after its
 *  `afterEvents` container events (SSE events, or NDJSON lines per `framing`), or at the end if the
 *  container sent fewer. A container that breaks mid-stream becomes ModelStreamError StreamBroken
 *  (assumed; not observed on AWS). */
export async function relayStream(
  ctx: RelayContext,
  res: ServerResponse,
  ex: Exchange,
  up: Dispatcher.ResponseData,
  fault: (SageMakerFault & { kind: StreamFaultKind }) | undefined,
  framing: Framing = 'sse',
): Promise<void> {
  res.writeHead(200, {
    'content-type': EVENT_STREAM_CONTENT_TYPE,
    'x-amzn-sagemaker-content-type': headerText(up.headers['content-type'], 'application/octet-stream'),
    'x-amzn-invoked-production-variant': ex.variant,
    'x-amzn-requestid': randomUUID(),
  });
  res.flushHeaders();
  const scanner = eventScanner(framing);
  const splitter = new PartSplitter(ctx.chunking, ctx.stats, ctx.seed + ex.id, framing);
  let relayed = 0;

  const sendParts = async (chunk: Uint8Array, scan: ChunkScan): Promise<void> => {
    const parts = splitter.split(chunk, scan);
    if (parts.length === 0) return;
    ex.payloadParts += parts.length;
    ctx.stats.payloadParts += parts.length;
    await writeAll(res, Buffer.concat(parts.map(payloadPartMessage)));
  };
  const endWith = (kind: StreamFaultKind): void => {
    ctx.stats.exceptionEvents++;
    ex.completed = true;
    res.end(exceptionMessage(...EXCEPTIONS[kind]));
  };

  try {
    for await (const raw of up.body) {
      if (ex.closed) return;
      const chunk = raw as Buffer;
      const scan = scanner.scan(chunk);
      if (fault && relayed + scan.dataEnds.length >= fault.afterEvents) {
        const cut = fault.afterEvents === relayed ? 0 : (scan.dataEnds[fault.afterEvents - relayed - 1] as number);
        await sendParts(chunk.subarray(0, cut), prefixScan(scan, cut));
        if (!ex.closed) endWith(fault.kind);
        return;
      }
      relayed += scan.dataEnds.length;
      await sendParts(chunk, scan);
    }
    if (ex.closed) return;
    if (fault) return endWith(fault.kind);
    ex.completed = true;
    res.end();
  } catch {
    if (!ex.closed) endWith('model_stream_error');
  }
}
