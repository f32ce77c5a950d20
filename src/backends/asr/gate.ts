// Admission gate in front of one speech-recognition backend, shared by every session's streams.
//
// Without it each voice stream reopens on its own timer after a failure (1 s, or the wait the
// service named), so while the recognizer is down N sessions make N connection attempts a second,
// all together when it comes back. With it, the first stream that fails *before it delivered
// anything* for a reason about the service (router/retry-policy.ts breakerFailureCode: unreachable,
// overloaded, timing out, reset) holds new streams for a jittered backoff that doubles with each
// failed trial (equal jitter: the first hold is holdBaseMs/2 to holdBaseMs), or for the service's
// own wait when that is longer (at most holdMaxMs for the others; the refused session waits all of
// it). A held open() touches no network: its stream fails at once (on a microtask) with the cause's
// code and the time left, jittered per call so the sessions come back spread out. When the hold
// ends, a backend whose streams signal readiness (capabilities.readySignal: WhisperLive's
// SERVER_READY) lets one stream at a time through as the trial: its first sign of life (onReady,
// or any transcript) releases the gate, a counted failure holds again, anything else (a neutral
// error, close() before a verdict, no verdict within trialMs) lets the next open be the trial. A
// batch backend (whisper-asr, SageMaker) contacts the service only per utterance, perhaps minutes
// later, so its trial is the backend's probe instead.
//
// Streams already open are never touched: a recognizer at its client limit keeps serving them, and
// a stream that failed after it had delivered something (WhisperLive's DISCONNECT at its
// connection time limit, a mid-stream reset) says nothing about opening new ones. Verdicts of
// streams opened before the current hold began are ignored: when the service dies, the hundreds of
// streams that fail together count as one failure, not as hundreds of doublings.
import { VlpError, type ErrorCode } from '../../../protocol/errors.ts';
import { backoffMs, breakerFailureCode, probeWithin } from '../router/retry-policy.ts';
import type { AsrBackend, AsrEvent, AsrHandlers, AsrOptions, AsrStream } from './port.ts';

export interface AsrGateOptions {
  /** First hold after a failure, ms (each failed trial doubles it; equal jitter, [d/2, d]). */
  holdBaseMs: number;
  /** Longest hold the backoff reaches, ms (a longer wait the service names still wins). */
  holdMaxMs: number;
  /** Longest a trial may go without a verdict before the next open() becomes the trial, ms. */
  trialMs: number;
  /** A held open() tells its session to come back within this much after the hold ends, ms
   *  (uniform), so the sessions do not all reopen in the same instant. */
  spreadMs: number;
  now?: () => number;
  random?: () => number;
  events?: AsrGateEvents;
}

/** What the gate reports for metrics and logs (codes and times only, never content). */
export interface AsrGateEvents {
  held(code: ErrorCode, holdMs: number, failures: number): void;
  released(failures: number): void;
  refused(code: ErrorCode): void;
}

export interface AsrGateState {
  /** Consecutive failed trials; 0 = healthy (every open() passes). */
  readonly failures: number;
  /** True while new streams are refused (a hold, or a trial awaiting its verdict). */
  readonly holding: boolean;
}

export interface GatedAsrBackend extends AsrBackend {
  readonly gate: AsrGateState;
}

/** One stream's claim on a verdict: the hold episode it was opened in, and whether it was heard. */
interface Ticket {
  readonly episode: number;
  settled: boolean;
}

export function gateAsrBackend(inner: AsrBackend, opts: AsrGateOptions): GatedAsrBackend {
  const gate = new AsrGate(inner, opts);
  return {
    id: inner.id,
    capabilities: inner.capabilities,
    gate,
    open: (o, handlers) => gate.open(o, handlers),
    probe: (timeoutMs) => inner.probe(timeoutMs),
    close: () => inner.close(),
  };
}

class AsrGate implements AsrGateState {
  #failures = 0;
  #holdUntil = 0;
  /** The failure that holds the gate (code and message for the refusals). */
  #cause: VlpError | undefined;
  /** Bumped whenever a hold begins: verdicts of streams from an earlier episode are stale. */
  #episode = 0;
  #trial: { ticket: Ticket; deadline: number } | undefined;
  /** The backend's probe is out as the trial (backends without a ready signal). */
  #probing = false;
  readonly #now: () => number;
  readonly #random: () => number;

  constructor(
    private readonly inner: AsrBackend,
    private readonly opts: AsrGateOptions,
  ) {
    this.#now = opts.now ?? (() => performance.now());
    this.#random = opts.random ?? Math.random;
  }

  get failures(): number {
    return this.#failures;
  }

  get holding(): boolean {
    if (this.#failures === 0) return false;
    const now = this.#now();
    return now < this.#holdUntil || this.#probing || (this.#trial !== undefined && now < this.#trial.deadline);
  }

  open(o: AsrOptions, handlers: AsrHandlers): AsrStream {
    const ticket: Ticket = { episode: this.#episode, settled: false };
    if (this.#failures === 0) return this.inner.open(o, this.#observe(ticket, handlers));
    const now = this.#now();
    if (now < this.#holdUntil) return this.#refuse(handlers, this.#holdUntil - now);
    if (this.inner.capabilities.readySignal !== true) {
      // No handshake to judge a trial stream by (batch recognizers contact the service per
      // utterance, perhaps not for minutes): the backend's own probe is the trial.
      this.#probeTrial();
      return this.#refuse(handlers, 0);
    }
    if (this.#trial !== undefined && now < this.#trial.deadline) return this.#refuse(handlers, 0);
    const stream = this.inner.open(o, this.#observe(ticket, handlers));
    this.#trial = { ticket, deadline: now + this.opts.trialMs };
    return new TrialStream(stream, () => this.#settle(ticket, 'unheard'));
  }

  /** Runs the backend's probe once (bounded by trialMs): healthy ends the hold, anything else
   *  holds again with the next backoff step. */
  #probeTrial(): void {
    if (this.#probing) return;
    this.#probing = true;
    const episode = this.#episode;
    void probeWithin((ms) => this.inner.probe(ms), this.opts.trialMs).then((ok) => {
      this.#probing = false;
      if (episode !== this.#episode || this.#failures === 0) return; // a stream settled it meanwhile
      const cause = this.#cause as VlpError;
      if (ok) this.#release();
      else this.#hold(cause, cause.code);
    });
  }

  #observe(ticket: Ticket, handlers: AsrHandlers): AsrHandlers {
    return {
      onEvent: (ev: AsrEvent) => {
        if (!ticket.settled) this.#settle(ticket, ev.kind === 'error' ? ev.error : 'alive');
        handlers.onEvent(ev);
      },
      onReady: () => {
        if (!ticket.settled) this.#settle(ticket, 'alive');
        handlers.onReady?.();
      },
    };
  }

  /** The stream's first verdict: alive (ready, a transcript), failed, or closed unheard. */
  #settle(ticket: Ticket, verdict: 'alive' | 'unheard' | VlpError): void {
    if (ticket.settled) return;
    ticket.settled = true;
    if (this.#trial?.ticket === ticket) this.#trial = undefined;
    if (ticket.episode !== this.#episode || verdict === 'unheard') return;
    if (verdict === 'alive') {
      if (this.#failures > 0) this.#release();
      return;
    }
    const code = breakerFailureCode(verdict);
    if (code !== undefined) this.#hold(verdict, code);
  }

  #hold(error: VlpError, code: ErrorCode): void {
    this.#failures++;
    // The service's own wait counts up to holdMaxMs for everyone (WhisperLive's WAIT is the time
    // until a slot is sure to free, but any client leaving frees one sooner); the session whose
    // stream was refused still waits all of it, through its own error's retryAfterS.
    const asked = Math.min((error.retryAfterS ?? 0) * 1000, this.opts.holdMaxMs);
    const holdMs = Math.max(asked, backoffMs(this.#failures, this.opts.holdBaseMs, this.opts.holdMaxMs, this.#random));
    this.#holdUntil = this.#now() + holdMs;
    this.#cause = error;
    this.#episode++;
    this.#trial = undefined; // a trial still out belongs to the episode that just ended
    this.opts.events?.held(code, holdMs, this.#failures);
  }

  #release(): void {
    const failures = this.#failures;
    this.#failures = 0;
    this.#holdUntil = 0;
    this.#cause = undefined;
    this.#trial = undefined;
    // Streams opened before the release (a late trial) must not hold the gate again on their own.
    this.#episode++;
    this.opts.events?.released(failures);
  }

  #refuse(handlers: AsrHandlers, leftMs: number): AsrStream {
    const cause = this.#cause as VlpError;
    this.opts.events?.refused(cause.code);
    const retryAfterS = (leftMs + this.#random() * this.opts.spreadMs) / 1000;
    const wait = leftMs > 0 ? `for about ${Math.max(1, Math.round(leftMs / 1000))} s more` : 'while the service is tested';
    const error = new VlpError(cause.code, `${cause.message}; new recognizer streams are held ${wait} after ${this.#failures} failed attempt${this.#failures === 1 ? '' : 's'}`, {
      retryAfterS,
      retryable: cause.retryable,
    });
    return new HeldStream(handlers, error);
  }
}

/** A refused open: no network; fails on a microtask (after open() has returned, as an adapter's
 *  connection failure would), unless closed first. Audio written meanwhile is not kept. */
class HeldStream implements AsrStream {
  #closed = false;

  constructor(handlers: AsrHandlers, error: VlpError) {
    queueMicrotask(() => {
      if (this.#closed) return;
      this.#closed = true;
      handlers.onEvent({ kind: 'error', error });
    });
  }

  write(): boolean {
    return true;
  }

  onDrain(): void {}

  speechStart(): void {}

  speechEnd(): void {}

  close(): void {
    this.#closed = true;
  }
}

/** The trial's stream: its close() before a verdict frees the trial for the next open(). */
class TrialStream implements AsrStream {
  constructor(
    private readonly inner: AsrStream,
    private readonly onClose: () => void,
  ) {}

  write(samples: Int16Array): boolean {
    return this.inner.write(samples);
  }

  onDrain(cb: () => void): void {
    this.inner.onDrain(cb);
  }

  speechStart(atSample: number): void {
    this.inner.speechStart(atSample);
  }

  speechEnd(atSample: number): void {
    this.inner.speechEnd(atSample);
  }

  close(): void {
    this.inner.close();
    this.onClose();
  }
}
