// POST /generate (and POST / with stream:false): one JSON GenerateResponse after the simulated
// generation time, TGI's status mapping for errors (422/424/429/500), timing headers, best_of
// fan-out, and the non-streaming forms of the faults.
import type { ServerResponse } from 'node:http';
import { firstTokenDelayMs, interTokenDelayMs } from '../latency.ts';
import { randomU64 } from '../random.ts';
import type { SimContext } from './context.ts';
import type { GenerationPlan } from './generate.ts';
import { sendError, sendJson } from './http.ts';
import { charCount, inputTokenCounter, plan, type Prepared } from './prepare.ts';
import { generateResponseJson, type BestOfSequence, type PrefillToken, type ResponseDetails } from './sse.ts';
import { GENERATION_ERROR } from './stream.ts';
import { prefillTokens } from './tokenize.ts';
import { validateGrammar } from './grammar.ts';
import { validateBestOf, validateRequest, validationFaultMessage, type ValidRequest } from './validate.ts';

/** Duration of generating `tokens` tokens for one request, ms. */
function generationMs(ctx: SimContext, p: Prepared, inputLength: number, tokens: number, slow: number): number {
  let ms = firstTokenDelayMs(ctx.opts.latency, inputLength, p.latencyRand, slow);
  for (let i = 1; i < tokens; i++) ms += interTokenDelayMs(ctx.opts.latency, ctx.inFlight, p.latencyRand);
  return ms;
}

function prefill(p: Prepared, ctx: SimContext, valid: ValidRequest): PrefillToken[] {
  const all = prefillTokens(p.inputs, ctx.opts.kind).slice(-valid.inputLength);
  return all.map((t, i) => ({
    ...t,
    logprob: i === 0 ? null : -Math.round((((t.id * 7919) % 9973) / 9973) * 60000 + 101) / 10000,
  }));
}

const meanLogprob = (g: GenerationPlan): number => g.tokens.reduce((s, t) => s + t.logprob, 0) / g.tokens.length;

/** Renders the body of a successful answer (the chat route's ChatCompletion); without one the
 *  route answers TGI's GenerateResponse (wrapped in an array on POST /). */
export type UnaryBody = (best: GenerationPlan, valid: ValidRequest) => string;

export function serveUnary(ctx: SimContext, res: ServerResponse, p: Prepared, renderBody?: UnaryBody): void {
  const { opts, metrics } = ctx;
  metrics.requestCount.inc();
  let completed = false;
  let tokensSent = 0;
  let permits = 0;
  let timer: NodeJS.Timeout | undefined;
  const release = (): void => {
    if (permits > 0) {
      ctx.release(permits);
      permits = 0;
      ctx.syncGauges();
    }
  };
  const job = {
    cancel: (): void => {
      clearTimeout(timer);
      release();
    },
  };
  ctx.jobs.add(job);
  res.on('close', () => {
    ctx.jobs.delete(job);
    clearTimeout(timer);
    if (!completed && permits > 0) metrics.fail('dropped');
    release();
    ctx.events.emit('request-closed', { id: p.id, route: p.route, atMs: performance.now(), completed, tokensSent });
  });
  const respondError = (status: number, error: string, type: string): void => {
    completed = true;
    release();
    sendError(res, status, error, type);
  };

  const bestOf = p.params.best_of ?? 1;
  if (bestOf > 1) {
    const msg = validateBestOf(bestOf, opts.limits);
    if (msg) {
      metrics.fail('validation');
      return respondError(422, msg, 'validation');
    }
  }
  const fanOut = Math.max(1, bestOf);
  if (!ctx.acquire(fanOut)) {
    metrics.fail('overloaded');
    return respondError(429, 'Model is overloaded', 'overloaded');
  }
  permits = fanOut;
  ctx.syncGauges();
  const validation =
    p.fault?.kind === 'validation'
      ? ({ ok: false, message: validationFaultMessage(opts.limits) } as const)
      : validateRequest(p.inputs, p.params, opts.limits, inputTokenCounter(ctx, p));
  if (!validation.ok) {
    metrics.fail('validation');
    return respondError(422, validation.message, 'validation');
  }
  const valid = validation.value;
  metrics.inputLength.observe(valid.inputLength);
  // The grammar is checked last, after the input length (validation.rs order).
  const grammar = validateGrammar(p.params.grammar, opts.disableGrammarSupport);
  if (!grammar.ok) {
    metrics.fail('validation');
    return respondError(422, grammar.message, 'validation');
  }
  metrics.maxNewTokens.observe(valid.scheduledNewTokens);
  const validatedAt = performance.now();

  const plans =
    fanOut > 1
      ? Array.from({ length: fanOut }, () => plan(ctx, p, valid, randomU64(), grammar.grammar))
      : [plan(ctx, p, valid, p.seed, grammar.grammar)];
  const failed = plans.find((g) => g.grammarError !== undefined);
  if (failed !== undefined) {
    metrics.fail('generation');
    return respondError(424, `Request failed during generation: Server error: ${failed.grammarError}`, 'generation');
  }
  let bestIndex = 0;
  plans.forEach((g, i) => {
    if (meanLogprob(g) > meanLogprob(plans[bestIndex] as GenerationPlan)) bestIndex = i;
  });
  const best = plans[bestIndex] as GenerationPlan;
  const slow = p.fault?.kind === 'slow_first_token' ? 10 : 1;
  const kind = p.fault?.kind;
  const faultTokens = p.fault ? Math.min(p.fault.afterTokens, best.tokens.length - 1) + 1 : 0;
  const longest = Math.max(...plans.map((g) => g.tokens.length));
  const isMidFault = kind === 'error_mid_stream' || kind === 'reset' || kind === 'stall' || kind === 'incomplete';
  const durationMs = generationMs(ctx, p, valid.inputLength, isMidFault ? faultTokens : longest, slow);
  const dueAt = p.arrivedAt + durationMs;

  timer = setTimeout(() => {
    timer = undefined;
    switch (kind) {
      case 'error_mid_stream':
        metrics.fail('generation');
        return respondError(424, GENERATION_ERROR, 'generation');
      case 'incomplete':
        metrics.fail('incomplete');
        return respondError(500, 'Incomplete generation', 'incomplete_generation');
      case 'reset':
        res.socket?.destroy();
        return;
      case 'stall':
        return;
      case 'malformed':
        completed = true;
        release();
        return sendJson(res, 200, '{not json');
    }
    const now = performance.now();
    const totalMs = now - p.arrivedAt;
    const validationMs = validatedAt - p.arrivedAt;
    const inferenceMs = now - validatedAt;
    const n = best.tokens.length;
    const withFull = (text: string): string => (p.params.return_full_text ? p.inputs + text : text);
    const nativeBody = (): string => {
      const prefillList = p.params.decoder_input_details ? prefill(p, ctx, valid) : [];
      let details: ResponseDetails | null = null;
      if (p.params.details || p.params.decoder_input_details) {
        const others: BestOfSequence[] | undefined =
          fanOut > 1
            ? plans
                .filter((_, i) => i !== bestIndex)
                .map((g) => ({
                  generatedText: withFull(g.generatedText),
                  finishReason: g.finishReason,
                  generatedTokens: g.tokens.length,
                  seed: g.seed,
                  prefill: prefillList,
                  tokens: g.tokens,
                  topTokens: g.topTokens ?? [],
                }))
            : undefined;
        details = {
          finishReason: best.finishReason,
          generatedTokens: n,
          seed: best.seed,
          prefill: prefillList,
          tokens: best.tokens,
          topTokens: best.topTokens ?? [],
        };
        if (others) details.bestOfSequences = others;
      }
      const body = generateResponseJson(withFull(best.generatedText), details);
      return p.route === '/' ? `[${body}]` : body;
    };
    metrics.success(totalMs, validationMs, 0, inferenceMs, n);
    const body = renderBody ? renderBody(best, valid) : nativeBody();
    completed = true;
    tokensSent = n;
    release();
    sendJson(res, 200, body, {
      'x-compute-type': opts.computeType,
      'x-compute-time': String(Math.round(totalMs * 1e6) / 1e9),
      'x-compute-characters': String(charCount(p.inputs)),
      'x-total-time': String(Math.floor(totalMs)),
      'x-validation-time': String(Math.floor(validationMs)),
      'x-queue-time': '0',
      'x-inference-time': String(Math.floor(inferenceMs)),
      'x-time-per-token': String(Math.floor(inferenceMs / n)),
      'x-prompt-tokens': String(valid.inputLength),
      'x-generated-tokens': String(n),
    });
  }, Math.max(0, dueAt - performance.now()));
}
