// Chain-of-thought planning: before a VLM answers, the configured LLM breaks the user's request
// into at most 10 short, ordered sub-tasks, streamed to the client as `plan.step` messages and
// appended to the VLM's user turn (as the seed demo appended its CoT output). Built from LangChain
// primitives: ChatPromptTemplate → TextGenChatModel (our generation port) → PlanStepParser.
//
// Latency. Planning is one extra LLM round trip *before* the VLM answer: the VLM request can only
// be sent once the whole plan is known, so the answer's first token waits for the planner's TTFT
// plus the plan's decode time. A short step is ~15-25 tokens, so at ~28 ms/token (Llama-2-7b on
// TGI) a 5-step plan is ~100 tokens ≈ 3 s of decode on top of ~0.2 s TTFT — added before the VLM's
// own TTFT. That is why `options.plan` is off by default and switchable per session. What keeps
// the cost down:
// - steps stream to the client as each line completes, so the user sees progress at once;
// - the upstream request is aborted as soon as maxSteps steps arrived (the model is not left to
//   ramble to max_new_tokens), and max_new_tokens defaults to 512 (the seed used 1024);
// - the prompt asks for only as many sub-tasks as the request needs (fewer tokens to decode);
// - the caller's signal (turn cancel, barge-in) aborts the planning request at once.
// Further levers for the caller: a smaller maxSteps; planning only requests that ask for detail
// (the seed planned only when the prompt contained "detail", "elaborate", "comprehen" or
// "depict"); and overlapping planning with other work of the turn (image fetch/preprocessing,
// detection for `segment` turns) — only the VLM prompt has to wait for the plan.
import { ChatPromptTemplate } from '@langchain/core/prompts';
import type { GenParams, PlanStepMsg, Unsequenced } from '../../protocol/messages.ts';
import { abortError } from '../backends/abort.ts';
import { mergeParams } from '../backends/params.ts';
import type { TextGenBackend } from '../backends/ports.ts';
import { TextGenChatModel } from './langchain-llm.ts';
import { DEFAULT_MAX_STEP_CHARS, MAX_PLAN_STEPS, PlanStepParser, checkMaxSteps } from './step-parser.ts';
import type { PlanStep } from './step-parser.ts';

export type { PlanStep } from './step-parser.ts';

/** Generation parameters of the planning call: the seed demo's CoT call (top_k 5, top_p 0.96,
 *  typical_p 0.95, temperature 0.001 ≈ greedy, repetition_penalty 1.08), with max_new_tokens cut
 *  from 1024 to 512 — ten short lines fit easily, and a model that ignores the format costs less. */
export const DEFAULT_PLAN_PARAMS: Readonly<GenParams> = Object.freeze({
  max_new_tokens: 512,
  top_k: 5,
  top_p: 0.96,
  typical_p: 0.95,
  temperature: 0.001,
  repetition_penalty: 1.08,
});

export const PLAN_SYSTEM_PROMPT =
  "You plan how to answer a user's request. You never answer the request yourself: you only list the sub-tasks needed to answer it.";

export const PLAN_USER_PROMPT = `Break the request below into at most {max_steps} short, ordered sub-tasks needed to answer it.
{image_note}
Rules:
- Each sub-task says what to look at or what to do, in one short sentence.
- Do not answer the request. Do not invent facts, names or numbers that are not in the request.
- Use only as many sub-tasks as the request needs; a simple request needs one or two.
- Write one sub-task per line, numbered "1.", "2.", and so on. Write nothing else.

Request: {question}`;

export const IMAGE_NOTE = 'The user attached an image, which you cannot see; sub-tasks may say what to look for in it.';
export const NO_IMAGE_NOTE = 'No image is attached.';

/** The planning prompt: variables `question`, `max_steps`, `image_note`. */
export const PLAN_PROMPT = ChatPromptTemplate.fromMessages([
  ['system', PLAN_SYSTEM_PROMPT],
  ['human', PLAN_USER_PROMPT],
]);

export interface PlanOptions {
  /** Aborting it (turn cancel, barge-in, disconnect) aborts the planning request upstream. */
  signal: AbortSignal;
  /** Most steps (1..10, default 10). Reaching it ends planning and aborts the upstream request. */
  maxSteps?: number;
  /** The turn carries an image (the planning LLM never sees it; the prompt says it exists). */
  hasImage: boolean;
  /** Layered over DEFAULT_PLAN_PARAMS; must already be range-checked (backends/params.ts). */
  params?: GenParams;
  /** Longest step text, UTF-16 code units (default 200); longer steps are cut with "…". */
  maxStepChars?: number;
}

export interface PlanResult {
  /** The steps yielded, in order (index 0..n-1). */
  steps: PlanStep[];
  /** The steps as numbered lines ("1. …\n2. …") for the VLM prompt; '' when there are none. */
  text: string;
  /** The model's text as far as it was read (for diagnostics; never log it: it is user content). */
  raw: string;
  /** How planning ended: the model finished; maxSteps was reached (upstream aborted); or the
   *  consumer stopped iterating early (upstream aborted). */
  end: 'complete' | 'max_steps' | 'consumer';
  /** Duration from the first next() to the end, ms. */
  ms: number;
}

/** The steps as they complete; `result` settles when the iteration ends (completes, is left
 *  early, or throws — then it rejects with the same error). Iterate it once. */
export interface PlanStream extends AsyncIterable<PlanStep> {
  readonly result: Promise<PlanResult>;
}

/** Reason given to the upstream request when planning stops it (not a failure). */
function stopReason(why: 'max_steps' | 'consumer'): Error {
  const err = new Error(why === 'max_steps' ? 'the plan reached its step limit' : 'the plan was no longer read');
  err.name = 'AbortError';
  return err;
}

/** The plan as numbered lines, 1-based like the prompt asked for. */
export function formatPlan(steps: readonly PlanStep[]): string {
  return steps.map((s, i) => `${i + 1}. ${s.text}`).join('\n');
}

/** The VLM's user turn with the plan appended (the seed appended its CoT to the user turn). */
export function withPlan(question: string, planText: string): string {
  if (planText === '') return question;
  return `${question}\n\nSub-tasks to work through before answering:\n${planText}`;
}

/** The `plan.step` payload of a step (the outbox stamps `seq`). */
export function planStepMessage(turn: string, step: PlanStep): Unsequenced<PlanStepMsg> {
  return { t: 'plan.step', turn, index: step.index, text: step.text };
}

/**
 * Plans `question` with the LLM behind `backend`. Steps are yielded as soon as their line is
 * complete. Throws the AbortError of src/backends/abort.ts when `opts.signal` aborts (its reason
 * as `cause`), the backend's VlpError (UPSTREAM_*) when generation fails, and a RangeError here
 * for a bad maxSteps.
 */
export function planSteps(backend: TextGenBackend, question: string, opts: PlanOptions): PlanStream {
  const maxSteps = checkMaxSteps(opts.maxSteps ?? MAX_PLAN_STEPS);
  let resolve: (r: PlanResult) => void = () => undefined;
  let reject: (e: unknown) => void = () => undefined;
  const result = new Promise<PlanResult>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  result.catch(() => undefined); // a consumer that ignores `result` must not see an unhandled rejection

  async function* run(): AsyncGenerator<PlanStep, void, undefined> {
    const t0 = performance.now();
    const steps: PlanStep[] = [];
    let raw = '';
    let end: PlanResult['end'] = 'consumer';
    let failure: { err: unknown } | undefined;
    // Our own controller: linked to the caller's signal, and aborted by us at maxSteps or when the
    // consumer stops early. LangChain hands it to the model, which hands it to the backend.
    const ac = new AbortController();
    const onAbort = (): void => ac.abort(opts.signal.reason);
    let iter: AsyncIterator<PlanStep[]> | undefined;
    try {
      if (opts.signal.aborted) throw abortError(opts.signal.reason);
      opts.signal.addEventListener('abort', onAbort, { once: true });
      const model = new TextGenChatModel({ backend, params: mergeParams(DEFAULT_PLAN_PARAMS, opts.params) });
      const parser = new PlanStepParser({
        maxSteps,
        maxStepChars: opts.maxStepChars ?? DEFAULT_MAX_STEP_CHARS,
        onText: (delta) => {
          raw += delta;
        },
      });
      const chain = PLAN_PROMPT.pipe(model).pipe(parser);
      const input = { question, max_steps: String(maxSteps), image_note: opts.hasImage ? IMAGE_NOTE : NO_IMAGE_NOTE };
      const stream = await chain.stream(input, { signal: ac.signal, runName: 'plan' });
      iter = stream[Symbol.asyncIterator]();
      read: for (;;) {
        const r = await iter.next();
        if (r.done === true) {
          end = 'complete';
          iter = undefined;
          break;
        }
        for (const step of r.value) {
          steps.push(step);
          // Stop the model before handing out the last step: the consumer may take a while.
          if (steps.length >= maxSteps) {
            end = 'max_steps';
            ac.abort(stopReason('max_steps'));
          }
          yield step;
          if (end === 'max_steps') break read;
        }
      }
    } catch (err) {
      // LangChain reports an abort as its own Error("Aborted") or the reason; ours is uniform.
      failure = { err: opts.signal.aborted ? abortError(opts.signal.reason) : err };
      throw failure.err;
    } finally {
      opts.signal.removeEventListener('abort', onAbort);
      if (end !== 'complete' && !ac.signal.aborted) ac.abort(stopReason('consumer'));
      // The signal already stopped the upstream request; this lets the chain unwind.
      if (iter?.return !== undefined) await iter.return().catch(() => undefined);
      if (failure !== undefined) reject(failure.err);
      else resolve({ steps, text: formatPlan(steps), raw, end, ms: performance.now() - t0 });
    }
  }

  let gen: AsyncGenerator<PlanStep, void, undefined> | undefined;
  return {
    result,
    [Symbol.asyncIterator](): AsyncIterator<PlanStep> {
      if (gen !== undefined) throw new Error('a plan stream can be iterated only once');
      gen = run();
      return gen;
    },
  };
}
