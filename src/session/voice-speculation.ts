// options.speculate for one audio stream's utterance in progress: segmentation started while the
// user still speaks (stable, confident intent) and the answer started at the end of speech from the
// last partial transcript. Holds at most one speculation; a newer one, or the next utterance,
// discards the older (counted in the turn's metrics).
import type { Session } from './session.ts';
import { samePhrases, type Speculation } from './speculation.ts';
import { safeErrorFields } from '../observability/fatal.ts';

/** The part of the session (Session implements it) that starts speculative work. */
export interface SpeculationStarter {
  speculateSegment(phrases: string[]): Speculation | undefined;
  speculateAnswer(text: string, signal: AbortSignal): Promise<Speculation | undefined>;
}

export class UtteranceSpeculation {
  private spec: Speculation | undefined;
  /** A speculative answer being prepared (its request not answered yet). */
  private pending: AbortController | undefined;
  /** Speculations of this utterance already discarded (reported in its turn's metrics). */
  private discarded = 0;

  constructor(
    private readonly s: Session,
    private readonly starter: SpeculationStarter,
  ) {}

  /** Segmentation for `keywords`, unless the running one has the same; it replaces any other. */
  segment(keywords: string[]): void {
    if (!this.s.options.speculate || keywords.length === 0) return;
    const cur = this.spec;
    if (cur?.kind === 'segment' && samePhrases(cur.phrases, keywords)) return;
    this.discard();
    this.spec = this.starter.speculateSegment(keywords);
  }

  /** The answer from the last partial transcript (a segmentation already running is kept). */
  answer(lastPartial: string): void {
    if (!this.s.options.speculate || this.spec !== undefined || lastPartial.trim().length === 0) return;
    const ac = new AbortController();
    this.pending = ac;
    this.starter
      .speculateAnswer(lastPartial, ac.signal)
      .then((spec) => {
        if (this.pending !== ac) {
          // The final transcript (or the next utterance) came first: too late to be of use.
          if (spec) {
            spec.stream.abort();
            this.s.ctx.metrics.speculationsTotal.inc({ outcome: 'discarded' });
            this.discarded++;
          }
          return;
        }
        this.pending = undefined;
        this.spec = spec;
      })
      .catch((err: unknown) => {
        this.s.ctx.log.error({ session: this.s.id, error: safeErrorFields(err) }, 'speculative answer failed');
      });
  }

  /** The final transcript arrived: the speculation for its turn (one still being prepared is too
   *  late and dropped) and how many were discarded before; the count starts again. */
  take(): { speculation: Speculation | undefined; priorDiscarded: number } {
    this.pending?.abort();
    this.pending = undefined;
    const speculation = this.spec;
    this.spec = undefined;
    const priorDiscarded = this.discarded;
    this.discarded = 0;
    return { speculation, priorDiscarded };
  }

  /** Abort whatever runs or is being prepared, counting it as discarded. */
  discard(): void {
    this.pending?.abort();
    this.pending = undefined;
    const spec = this.spec;
    if (!spec) return;
    this.spec = undefined;
    spec.stream.abort();
    this.discarded++;
    this.s.ctx.metrics.speculationsTotal.inc({ outcome: 'discarded' });
  }

  /** A new utterance starts: discard, and its count starts from 0. */
  restart(): void {
    this.discard();
    this.discarded = 0;
  }
}
