// SageMaker-level faults of the simulated runtime: kinds, the `[[sim:fault=<kind>;after=<k>]]`
// directive in the last user message of `inputs` (or anywhere in a Grounded-SAM `text_prompt`), and
// the admin queue. TGI and Grounded-SAM kinds are not handled here: their directives stay in the
// body and the container simulator behind the endpoint acts on them.
import { parsePrompt } from '../tgi/prompt.ts';

export const SAGEMAKER_FAULT_KINDS = [
  'model_stream_error', // after k container events: ModelStreamError {ErrorCode: StreamBroken}
  'model_invocation_time_exceeded', // after k events: ModelStreamError {ErrorCode: ModelInvocationTimeExceeded}
  'internal_stream_failure', // after k events: InternalStreamFailure
  'throttling', // HTTP 400 ThrottlingException (real, but not modeled for this API: the SDK makes a generic exception)
  'model_not_ready', // HTTP 429 ModelNotReadyException
  'service_unavailable', // HTTP 503 ServiceUnavailable
  'internal_failure', // HTTP 500 InternalFailure
] as const;

export type SageMakerFaultKind = (typeof SAGEMAKER_FAULT_KINDS)[number];

/** Kinds sent as an exception event in the middle of a response stream. */
export type StreamFaultKind = 'model_stream_error' | 'model_invocation_time_exceeded' | 'internal_stream_failure';

export interface SageMakerFault {
  kind: SageMakerFaultKind;
  /** Container events relayed before a stream fault fires. */
  afterEvents: number;
}

export function isSageMakerFaultKind(value: unknown): value is SageMakerFaultKind {
  return typeof value === 'string' && (SAGEMAKER_FAULT_KINDS as readonly string[]).includes(value);
}

export function isStreamFault(kind: SageMakerFaultKind): kind is StreamFaultKind {
  return kind === 'model_stream_error' || kind === 'model_invocation_time_exceeded' || kind === 'internal_stream_failure';
}

const DIRECTIVES = /\[\[sim:fault=([a-z0-9_]+)(?:[;, ]+after=(\d+))?\]\]/g;

/** The first SageMaker-kind directive in the last user message of a rendered prompt. */
export function parseSageMakerDirective(inputs: string): { kind: SageMakerFaultKind; afterEvents?: number } | undefined {
  if (!inputs.includes('[[sim:')) return undefined;
  for (const m of parsePrompt(inputs).lastUserRaw.matchAll(DIRECTIVES)) {
    if (!isSageMakerFaultKind(m[1])) continue;
    return m[2] === undefined ? { kind: m[1] } : { kind: m[1], afterEvents: Number(m[2]) };
  }
  return undefined;
}

/** The first SageMaker-kind directive anywhere in `text` (a Grounded-SAM `text_prompt`: no
 *  dialogue to parse). */
export function parseSageMakerDirectiveText(text: string): { kind: SageMakerFaultKind; afterEvents?: number } | undefined {
  if (!text.includes('[[sim:')) return undefined;
  for (const m of text.matchAll(DIRECTIVES)) {
    if (!isSageMakerFaultKind(m[1])) continue;
    return m[2] === undefined ? { kind: m[1] } : { kind: m[1], afterEvents: Number(m[2]) };
  }
  return undefined;
}

export interface QueuedSageMakerFault {
  kind: SageMakerFaultKind;
  remaining: number;
  afterEvents: number;
}

/** Faults for the next requests, queued by `POST /__sim/faults`; a directive wins over the queue. */
export class SageMakerFaultQueue {
  private readonly queue: QueuedSageMakerFault[] = [];

  constructor(private readonly defaultAfter: number) {}

  enqueue(kind: SageMakerFaultKind, count = 1, afterEvents?: number): void {
    if (count > 0) this.queue.push({ kind, remaining: Math.floor(count), afterEvents: afterEvents ?? this.defaultAfter });
  }

  clear(): number {
    const n = this.queue.reduce((sum, q) => sum + q.remaining, 0);
    this.queue.length = 0;
    return n;
  }

  pending(): QueuedSageMakerFault[] {
    return this.queue.map((q) => ({ ...q }));
  }

  /** The fault for one request: its directive (in `inputs`, if any), else the queue's head. */
  pick(inputs: string | undefined): SageMakerFault | undefined {
    return this.take(inputs === undefined ? undefined : parseSageMakerDirective(inputs));
  }

  /** The same for a request whose directive may be anywhere in `text` (Grounded-SAM's text_prompt). */
  pickText(text: string | undefined): SageMakerFault | undefined {
    return this.take(text === undefined ? undefined : parseSageMakerDirectiveText(text));
  }

  private take(directive: { kind: SageMakerFaultKind; afterEvents?: number } | undefined): SageMakerFault | undefined {
    if (directive) return { kind: directive.kind, afterEvents: directive.afterEvents ?? this.defaultAfter };
    const head = this.queue[0];
    if (!head) return undefined;
    head.remaining -= 1;
    if (head.remaining <= 0) this.queue.shift();
    return { kind: head.kind, afterEvents: head.afterEvents };
  }
}
