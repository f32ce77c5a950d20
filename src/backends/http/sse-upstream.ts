// One streamed generation over HTTP Server-Sent Events (TGI /generate_stream, the Messages API):
// an undici dispatch handler that parses the body as it arrives (eventsource-parser), hands each
// read's `data` payloads to the adapter's decoder and pushes the resulting events into an
// EventChannel, the port's AsyncIterable. No body stream and no async generator sits on the
// per-token path. Timeouts (StallWatch), cancellation and error mapping are handled here once for
// every SSE adapter; each adapter brings its decoder and its error mapping.
import { createParser } from 'eventsource-parser';
import type { EventSourceMessage, EventSourceParser, ParseError } from 'eventsource-parser';
import type { Dispatcher } from 'undici';
import type { IncomingHttpHeaders } from 'node:http';
import type { VlpError } from '../../../protocol/errors.ts';
import { abortError } from '../abort.ts';
import type { GenEvent } from '../ports.ts';
import { EventChannel, type ChannelHooks } from './event-channel.ts';
import type { Drainable } from '../push-drain.ts';
import { StallWatch } from './stall.ts';

/** Largest SSE event buffered, characters. A final event with details is a few KB; 1 MiB means a
 *  broken upstream, not a long answer. */
const MAX_EVENT_CHARS = 1 << 20;
/** Bytes of an error response body read for its message. */
const MAX_ERROR_BODY = 4096;
/** Bytes read after the stream's last event to let its keep-alive socket return to the pool;
 *  beyond this the socket is dropped instead. */
const DUMP_LIMIT = 64 * 1024;
const STREAM_DECODE = { stream: true } as const;

/** How an adapter maps failures to stable codes (its errors.ts). Messages never quote the prompt. */
export interface UpstreamErrors {
  http(status: number, retryAfter: string | string[] | undefined, body: string): VlpError;
  protocol(what: string): VlpError;
  timeout(kind: 'first-token' | 'inter-token', ms: number): VlpError;
  transport(err: unknown, phase: 'request' | 'stream'): VlpError;
  /** The body ended cleanly before the stream's last event. */
  endedEarly(): VlpError;
}

/** Turns the `data` payloads completed by one upstream read into port events (the vendor format). */
export interface SseEventDecoder {
  /** Appends the events to `out`, in order. Throws a VlpError for an in-band error event, after
   *  appending the tokens that came before it. */
  read(payloads: readonly string[], recvAt: number, out: GenEvent[]): void;
  /** The stream's last event has been read (nothing after it is read). */
  readonly complete: boolean;
  /** The last read() produced a token (progress for the stall watch). */
  readonly sawToken: boolean;
  /** The stream broke off before `complete` (body end, reset, stall, garbage): the event that still
   *  completes the answer (a Messages API stream after its finish_reason), or undefined to fail. */
  salvage(): GenEvent | undefined;
  /** A field the SSE spec does not know (OpenAI-compatible servers send `error:`): a `data`
   *  payload to decode in its place, or undefined to ignore it. */
  unknownField?(field: string, value: string): string | undefined;
}

export interface SseRequest {
  dispatcher: Dispatcher;
  path: string;
  headers: Record<string, string>;
  body: string;
  /** Aborting it closes the upstream request; the consumer then gets an AbortError. */
  signal: AbortSignal;
  /** From dispatch (pool wait, connect, headers) to the first token, ms. */
  firstTokenTimeoutMs: number;
  /** Longest wait for the next event after a token, ms (time the consumer holds events excluded). */
  interTokenTimeoutMs: number;
  decoder: SseEventDecoder;
  errors: UpstreamErrors;
}

/** The stream starts on the first next() (like an async generator) and closes its request when
 *  the consumer leaves early (return()), when `signal` aborts, or on any failure. */
export function openSseStream(req: SseRequest): AsyncIterableIterator<GenEvent, undefined> {
  return new SseStream(req);
}

type State = 'idle' | 'open' | 'complete' | 'closed';

class SseStream implements Dispatcher.DispatchHandler, AsyncIterableIterator<GenEvent, undefined>, ChannelHooks, Drainable<GenEvent> {
  private readonly channel: EventChannel<GenEvent>;
  private state: State = 'idle';
  private phase: 'request' | 'stream' = 'request';
  private controller: Dispatcher.DispatchController | undefined;
  /** Set when we must close the request before undici handed us its controller. */
  private abortBeforeStart: Error | undefined;
  private watch: StallWatch | undefined;
  private parser: EventSourceParser | undefined;
  private readonly text = new TextDecoder();
  private readonly pending: string[] = [];
  private readonly batch: GenEvent[] = [];
  private parseFault = false;
  /** Non-200 answer: its status and the start of its body. */
  private errorBody: { status: number; retryAfter: string | string[] | undefined; chunks: Buffer[]; size: number } | undefined;
  private dumped = 0;
  /** A token arrived while the consumer still held events (the watch resumes with it on drain). */
  private tokenWhileParked = false;

  constructor(private readonly req: SseRequest) {
    this.channel = new EventChannel<GenEvent>(this);
  }

  next(): Promise<IteratorResult<GenEvent, undefined>> {
    if (this.state === 'idle') this.start();
    return this.channel.next();
  }

  return(): Promise<IteratorResult<GenEvent, undefined>> {
    return this.channel.return();
  }

  /** Push mode (push-drain.ts) once the request is under way. */
  drainTo(sink: (event: GenEvent) => void): Promise<void> | undefined {
    return this.state === 'idle' ? undefined : this.channel.drainTo(sink);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  // ---- ChannelHooks ---------------------------------------------------------------------------

  onFull(): void {
    this.controller?.pause();
    this.watch?.park();
  }

  onDrain(): void {
    if (this.state !== 'open') return;
    if (this.controller?.paused === true) this.controller.resume();
    this.watch?.resume(this.tokenWhileParked);
    this.tokenWhileParked = false;
  }

  onReturn(): void {
    // After the last event the rest of the body is read (keeps the socket); before it, close.
    if (this.state === 'open' || this.state === 'idle') this.close(undefined, true);
  }

  // ---- undici DispatchHandler -----------------------------------------------------------------

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.abortBeforeStart !== undefined) controller.abort(this.abortBeforeStart);
  }

  onResponseStart(controller: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders): void {
    if (this.state !== 'open') return;
    if (statusCode !== 200) {
      this.errorBody = { status: statusCode, retryAfter: headers['retry-after'], chunks: [], size: 0 };
      return;
    }
    const contentType = headers['content-type'];
    if (typeof contentType !== 'string' || !contentType.includes('text/event-stream')) {
      this.fail(this.req.errors.protocol('response is not text/event-stream'));
      return;
    }
    this.phase = 'stream';
    this.parser = createParser({
      onEvent: this.onEvent,
      onError: this.onParseError,
      maxBufferSize: MAX_EVENT_CHARS,
      // Comments (`:` keep-alives) are ignored: no onComment, and they never reset the watch.
    });
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.state === 'complete') {
      this.dumped += chunk.length;
      if (this.dumped > DUMP_LIMIT) controller.abort(new Error('unexpected bytes after the last event'));
      return;
    }
    if (this.state !== 'open') return;
    const err = this.errorBody;
    if (err !== undefined) {
      err.chunks.push(chunk);
      err.size += chunk.length;
      if (err.size >= MAX_ERROR_BODY) this.failHttp(err);
      return;
    }
    this.onBytes(chunk);
  }

  onResponseEnd(): void {
    if (this.state !== 'open') return;
    if (this.errorBody !== undefined) this.failHttp(this.errorBody);
    else this.fail(this.req.errors.endedEarly());
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    if (this.state !== 'open') return; // our own abort, or a failure after the last event
    // A truncated error body still has a status worth reporting.
    if (this.errorBody !== undefined) this.failHttp(this.errorBody);
    else this.fail(this.req.errors.transport(error, this.phase));
  }

  // ---- the stream -----------------------------------------------------------------------------

  private start(): void {
    const { signal } = this.req;
    if (signal.aborted) {
      this.state = 'closed';
      this.channel.fail(abortError(signal.reason));
      return;
    }
    this.state = 'open';
    signal.addEventListener('abort', this.onAbort, { once: true });
    this.watch = new StallWatch(this.req.firstTokenTimeoutMs, this.req.interTokenTimeoutMs, this.onStall);
    try {
      this.req.dispatcher.dispatch(
        { method: 'POST', path: this.req.path, headers: this.req.headers, body: this.req.body },
        this,
      );
    } catch (err) {
      this.fail(this.req.errors.transport(err, 'request'));
    }
  }

  /** One upstream read: bytes → SSE payloads → events, pushed in order. */
  private onBytes(chunk: Buffer): void {
    const recvAt = performance.now();
    const parser = this.parser as EventSourceParser;
    parser.feed(this.text.decode(chunk, STREAM_DECODE));
    if (this.parseFault) {
      this.fail(this.req.errors.protocol('SSE event larger than 1 MiB'));
      return;
    }
    const pending = this.pending;
    if (pending.length === 0) return; // partial event or keep-alive: no progress
    const { decoder } = this.req;
    const batch = this.batch;
    let fault: unknown;
    try {
      decoder.read(pending, recvAt, batch);
    } catch (e) {
      fault = e;
    }
    pending.length = 0;
    // An error event mid-batch still delivers the tokens before it, then fails the stream.
    for (let i = 0; i < batch.length; i++) this.channel.push(batch[i] as GenEvent);
    batch.length = 0;
    // In push mode the consumer ran inside push(): it may have closed the stream (a cancel).
    if (this.state !== 'open') return;
    if (fault !== undefined) {
      this.fail(fault);
      return;
    }
    if (decoder.complete) {
      this.state = 'complete';
      this.release();
      this.channel.end();
      return;
    }
    const watch = this.watch as StallWatch;
    if (this.channel.queued === 0) watch.resume(decoder.sawToken);
    else {
      // The consumer holds events: its time is not an upstream stall.
      watch.park();
      if (decoder.sawToken) this.tokenWhileParked = true;
    }
  }

  private readonly onEvent = (ev: EventSourceMessage): void => {
    this.pending.push(ev.data);
  };

  private readonly onParseError = (err: ParseError): void => {
    // Unknown fields and bad `retry:` are ignorable per the SSE spec; an oversized event is not.
    if (err.type === 'max-buffer-size-exceeded') this.parseFault = true;
    else if (err.type === 'unknown-field' && err.field !== undefined && err.value !== undefined) {
      const data = this.req.decoder.unknownField?.(err.field, err.value);
      if (data !== undefined) this.pending.push(data);
    }
  };

  private readonly onAbort = (): void => {
    if (this.state !== 'open') return;
    this.close(abortError(this.req.signal.reason), true);
  };

  private readonly onStall = (): void => {
    const watch = this.watch as StallWatch;
    if (this.state !== 'open' || watch.fired === undefined) return;
    this.fail(this.req.errors.timeout(watch.fired, watch.limitMs));
  };

  private failHttp(e: NonNullable<SseStream['errorBody']>): void {
    const body = Buffer.concat(e.chunks).subarray(0, MAX_ERROR_BODY).toString('utf8');
    this.fail(this.req.errors.http(e.status, e.retryAfter, body));
  }

  /** A failure other than the caller's abort: the decoder may still complete the answer. */
  private fail(err: unknown): void {
    if (this.state !== 'open') return;
    if (this.req.signal.aborted) {
      this.close(abortError(this.req.signal.reason), true);
      return;
    }
    const last = this.req.decoder.salvage();
    if (last !== undefined) this.channel.push(last);
    this.close(last === undefined ? err : undefined, true);
  }

  /** Ends the stream: `err` to the consumer (or a normal end), and the request closed. */
  private close(err: unknown, abortUpstream: boolean): void {
    this.state = 'closed';
    this.release();
    if (err === undefined) this.channel.end();
    else this.channel.fail(err);
    if (!abortUpstream) return;
    // Destroys the request and its socket, so the server drops it (TGI: from its batch).
    const reason = new Error('upstream request closed by the gateway');
    if (this.controller !== undefined) this.controller.abort(reason);
    else this.abortBeforeStart = reason;
  }

  private release(): void {
    this.watch?.stop();
    this.req.signal.removeEventListener('abort', this.onAbort);
  }
}
