// Fault injection shared by the simulated services. A fault for a request comes from, in order:
// a `[[sim:fault=<kind>]]` directive in the prompt, the admin queue (POST /__sim/faults), or the
// per-kind probabilities of the FaultPlan option.
import { mulberry32, type Rand } from './random.ts';

export const FAULT_KINDS = [
  'error_mid_stream',
  'reset',
  'stall',
  'overloaded_429',
  'unavailable_503',
  'validation',
  'malformed',
  'slow_first_token',
  'incomplete',
] as const;

export type FaultKind = (typeof FAULT_KINDS)[number];

/** Tokens sent before a mid-stream fault fires, unless the plan or directive says otherwise. */
export const DEFAULT_FAULT_AFTER_TOKENS = 3;

export interface FaultPlan {
  /** Probability in [0, 1] per kind. Dice are rolled per request in FAULT_KINDS order; first hit wins. */
  probabilities?: Partial<Record<FaultKind, number>>;
  /** Tokens sent before mid-stream kinds (error_mid_stream, reset, stall, malformed, incomplete) fire. Default 3. */
  afterTokens?: number;
  /** Seed for the dice; default is Math.random (non-deterministic). */
  seed?: number;
}

export interface Fault {
  kind: FaultKind;
  afterTokens: number;
  source: 'directive' | 'queue' | 'plan';
}

export interface QueuedFault {
  kind: FaultKind;
  remaining: number;
  afterTokens: number;
}

export function isFaultKind(value: unknown): value is FaultKind {
  return typeof value === 'string' && (FAULT_KINDS as readonly string[]).includes(value);
}

const DIRECTIVE = /\[\[sim:fault=([a-z0-9_]+)(?:[;, ]+after=(\d+))?\]\]/;
const DIRECTIVE_GLOBAL = /\[\[sim:[^\]]*\]\]/g;

/** Parse `[[sim:fault=<kind>]]` or `[[sim:fault=<kind>;after=<k>]]`; unknown kinds are ignored. */
export function parseFaultDirective(text: string): { kind: FaultKind; afterTokens?: number } | undefined {
  if (!text.includes('[[sim:')) return undefined;
  const m = DIRECTIVE.exec(text);
  if (!m || !isFaultKind(m[1])) return undefined;
  return m[2] === undefined ? { kind: m[1] } : { kind: m[1], afterTokens: Number(m[2]) };
}

/** Remove every `[[sim:...]]` directive from a text (so it does not leak into simulated answers). */
export function stripDirectives(text: string): string {
  return text.includes('[[sim:') ? text.replace(DIRECTIVE_GLOBAL, ' ') : text;
}

export class FaultInjector {
  private readonly queue: QueuedFault[] = [];
  private readonly rand: Rand;
  private readonly afterTokens: number;

  constructor(private readonly plan: FaultPlan = {}) {
    this.rand = plan.seed === undefined ? Math.random : mulberry32(plan.seed);
    this.afterTokens = Math.max(0, Math.floor(plan.afterTokens ?? DEFAULT_FAULT_AFTER_TOKENS));
  }

  /** Queue `count` faults of one kind for the next requests (admin route). */
  enqueue(kind: FaultKind, count = 1, afterTokens?: number): void {
    if (count <= 0) return;
    this.queue.push({ kind, remaining: Math.floor(count), afterTokens: afterTokens ?? this.afterTokens });
  }

  /** Drop every queued fault; returns how many requests they would have affected. */
  clear(): number {
    const n = this.queue.reduce((sum, q) => sum + q.remaining, 0);
    this.queue.length = 0;
    return n;
  }

  pending(): QueuedFault[] {
    return this.queue.map((q) => ({ ...q }));
  }

  /** Decide the fault for one request. `directiveText` is the text searched for a directive
   *  (the last user message, so a directive in the history does not fire again on later turns). */
  pick(directiveText: string): Fault | undefined {
    const directive = parseFaultDirective(directiveText);
    if (directive) {
      return { kind: directive.kind, afterTokens: directive.afterTokens ?? this.afterTokens, source: 'directive' };
    }
    const head = this.queue[0];
    if (head) {
      head.remaining -= 1;
      if (head.remaining <= 0) this.queue.shift();
      return { kind: head.kind, afterTokens: head.afterTokens, source: 'queue' };
    }
    const probabilities = this.plan.probabilities;
    if (probabilities) {
      for (const kind of FAULT_KINDS) {
        const p = probabilities[kind];
        if (p !== undefined && p > 0 && this.rand() < p) return { kind, afterTokens: this.afterTokens, source: 'plan' };
      }
    }
    return undefined;
  }
}
