// POST /generate_stream (and POST / with stream:true, and the chat route's streams): SSE events on
// a per-stream timer, one res.write per token, keep-alive comments when idle, TGI's in-band errors
// (HTTP 200), and the mid-stream faults. What an event looks like is the route's StreamWire.
// Emits request-closed when the response closes, token-emitted when tracing.
import type { ServerResponse } from 'node:http';
import { firstTokenDelayMs, interTokenDelayMs } from '../latency.ts';
import type { SimContext } from './context.ts';
import type { FinishReason, SimToken } from './generate.ts';
import { charCount, inputTokenCounter, plan, type Prepared } from './prepare.ts';
import { validateGrammar } from './grammar.ts';
import { errorJson, SSE_KEEPALIVE, sseData, streamEventJson } from './sse.ts';
import { validateRequest, validateStreamOnly, validationFaultMessage } from './validate.ts';

const MID_STREAM_FAULTS = new Set(['error_mid_stream', 'reset', 'stall', 'malformed', 'incomplete']);

export const GENERATION_ERROR = 'Request failed during generation: Server error: CUDA out of memory';

/** What the last token event reports (TGI's End message). */
export interface FinalInfo {
  /** generated_text, with the return_full_text prefix when asked. */
  text: string;
  finishReason: FinishReason;
  generatedTokens: number;
  seed: bigint | null;
  inputLength: number;
}

/** The framed SSE bytes a route writes for its events. */
export interface StreamWire {
  /** Frames for token number `index` (1-based); `final` is set on the last one. */
  token(index: number, token: SimToken, topTokens: SimToken[] | undefined, final: FinalInfo | null): string;
  /** Frames for an in-band error; the stream ends after them. */
  error(message: string, errorType: string): string;
}

/** `/generate_stream`'s StreamResponse / ErrorResponse events. */
export function nativeWire(details: boolean, legacy: boolean): StreamWire {
  return {
    token: (index, token, topTokens, final) => {
      const d =
        final !== null && details
          ? { finishReason: final.finishReason, generatedTokens: final.generatedTokens, seed: final.seed, inputLength: final.inputLength }
          : null;
      return sseData(streamEventJson(index, token, topTokens, final === null ? null : final.text, d), legacy);
    },
    error: (message, errorType) => sseData(errorJson(message, errorType), legacy),
  };
}

export function serveStream(
  ctx: SimContext,
  res: ServerResponse,
  p: Prepared,
  wire: StreamWire = nativeWire(p.params.details, ctx.opts.legacyFraming),
): void {
  const { opts, metrics } = ctx;
  const legacy = opts.legacyFraming;
  res.writeHead(200, {
    'content-type': 'text/event-stream',
    'cache-control': 'no-cache',
    'x-compute-type': opts.computeType,
    'x-compute-characters': String(charCount(p.inputs)),
    'x-accel-buffering': 'no',
  });
  res.flushHeaders();
  metrics.requestCount.inc();

  let tokensSent = 0;
  let completed = false;
  let closed = false;
  let holdsPermit = false;
  let decodingTokens = -1;
  let tokenTimer: NodeJS.Timeout | undefined;
  let keepAliveTimer: NodeJS.Timeout | undefined;
  let lastWriteAt = performance.now();

  const write = (chunk: string): void => {
    res.write(chunk);
    lastWriteAt = performance.now();
  };
  const releasePermit = (): void => {
    if (!holdsPermit) return;
    holdsPermit = false;
    if (decodingTokens < 0) ctx.prefilling = Math.max(0, ctx.prefilling - 1);
    else ctx.stopDecoding(decodingTokens);
    ctx.release();
    ctx.syncGauges();
  };
  const stopTimers = (): void => {
    clearTimeout(tokenTimer);
    clearTimeout(keepAliveTimer);
    tokenTimer = keepAliveTimer = undefined;
  };
  const job = {
    cancel: (): void => {
      stopTimers();
      releasePermit();
    },
  };
  ctx.jobs.add(job);

  /** Natural end of the response (final event or error event). */
  const finish = (): void => {
    completed = true;
    stopTimers();
    releasePermit();
    res.end();
  };
  const inBandError = (error: string, errorType: string): void => {
    write(wire.error(error, errorType));
    finish();
  };

  res.on('close', () => {
    closed = true;
    ctx.jobs.delete(job);
    stopTimers();
    if (!completed && holdsPermit) metrics.fail('dropped');
    releasePermit();
    ctx.events.emit('request-closed', { id: p.id, route: p.route, atMs: performance.now(), completed, tokensSent });
  });

  const scheduleKeepAlive = (): void => {
    if (opts.keepAliveMs <= 0) return;
    const due = lastWriteAt + opts.keepAliveMs - performance.now();
    keepAliveTimer = setTimeout(() => {
      if (closed || completed) return;
      if (performance.now() - lastWriteAt >= opts.keepAliveMs - 1) write(SSE_KEEPALIVE);
      scheduleKeepAlive();
    }, Math.max(1, due));
  };
  scheduleKeepAlive();

  // Checks in TGI's order: stream-only parameters, then the permit, then validation.
  const streamOnly = validateStreamOnly(p.params);
  if (streamOnly) {
    metrics.fail('validation');
    return inBandError(streamOnly, 'validation');
  }
  if (!ctx.acquire()) {
    metrics.fail('overloaded');
    return inBandError('Model is overloaded', 'overloaded');
  }
  holdsPermit = true;
  ctx.prefilling++;
  ctx.syncGauges();
  const validation =
    p.fault?.kind === 'validation'
      ? ({ ok: false, message: validationFaultMessage(opts.limits) } as const)
      : validateRequest(p.inputs, p.params, opts.limits, inputTokenCounter(ctx, p));
  if (!validation.ok) {
    metrics.fail('validation');
    return inBandError(validation.message, 'validation');
  }
  const valid = validation.value;
  metrics.inputLength.observe(valid.inputLength);
  // The grammar is checked last, after the input length (validation.rs order).
  const grammar = validateGrammar(p.params.grammar, opts.disableGrammarSupport);
  if (!grammar.ok) {
    metrics.fail('validation');
    return inBandError(grammar.message, 'validation');
  }
  metrics.maxNewTokens.observe(valid.scheduledNewTokens);
  const gen = plan(ctx, p, valid, p.seed, grammar.grammar);
  if (gen.grammarError !== undefined) {
    metrics.fail('generation');
    return inBandError(`Request failed during generation: Server error: ${gen.grammarError}`, 'generation');
  }
  const tokens = gen.tokens;
  const n = tokens.length;
  const fault = p.fault && MID_STREAM_FAULTS.has(p.fault.kind) ? p.fault : undefined;
  const faultAt = fault ? Math.min(fault.afterTokens, n - 1) : -1;
  const fullText = p.params.return_full_text ? p.inputs + gen.generatedText : gen.generatedText;
  const slow = p.fault?.kind === 'slow_first_token' ? 10 : 1;
  const firstAt = p.arrivedAt + firstTokenDelayMs(opts.latency, valid.inputLength, p.latencyRand, slow);
  const validatedAt = performance.now();
  let nextAt = firstAt;

  const midStreamFault = (): void => {
    switch (fault?.kind) {
      case 'error_mid_stream':
        metrics.fail('generation');
        return inBandError(GENERATION_ERROR, 'generation');
      case 'incomplete':
        metrics.fail('incomplete');
        return inBandError('Incomplete generation stream', 'incomplete_generation_stream');
      case 'malformed':
        write(legacy ? 'data:{not json\n\n' : 'data: {not json\n\n');
        return finish();
      case 'reset':
        stopTimers();
        res.socket?.destroy();
        return;
      case 'stall':
        clearTimeout(tokenTimer);
        tokenTimer = undefined;
        return;
    }
  };

  const tick = (): void => {
    tokenTimer = undefined;
    if (closed) return;
    if (tokensSent === 0) {
      decodingTokens = valid.inputLength + valid.maxNewTokens;
      ctx.startDecoding(decodingTokens);
    }
    if (tokensSent === faultAt) return midStreamFault();
    const token = tokens[tokensSent];
    if (!token) return;
    tokensSent++;
    const last = tokensSent === n;
    const final = last
      ? { text: fullText, finishReason: gen.finishReason, generatedTokens: n, seed: gen.seed, inputLength: valid.inputLength }
      : null;
    write(wire.token(tokensSent, token, gen.topTokens?.[tokensSent - 1], final));
    if (opts.traceEmits) {
      ctx.events.emit('token-emitted', {
        id: p.id,
        seed: p.traceSeed,
        index: tokensSent,
        atMs: performance.timeOrigin + performance.now(),
      });
    }
    if (last) {
      const now = performance.now();
      metrics.success(now - p.arrivedAt, validatedAt - p.arrivedAt, 0, now - validatedAt, n);
      return finish();
    }
    nextAt += interTokenDelayMs(opts.latency, ctx.inFlight, p.latencyRand);
    tokenTimer = setTimeout(tick, Math.max(0, nextAt - performance.now()));
  };
  tokenTimer = setTimeout(tick, Math.max(0, firstAt - performance.now()));
}
