// How long the CLI waits once a turn has ended or was cancelled, and the Waker its voice loop sleeps
// on between frames.

/** --events: how long to wait for a turn's turn.metrics after its terminal frame, ms. */
export const METRICS_WAIT_MS = 1_000;

/** After Ctrl-C or a timeout, how long to wait for turn.cancelled, ms. */
export const CANCEL_GRACE_MS = 1_500;

/** One promise to wait on for "something changed" (a timer, the audio sender, a stop request). */
export class Waker {
  private promise: Promise<'wake'> | undefined;
  private resolve: ((v: 'wake') => void) | undefined;

  wait(): Promise<'wake'> {
    this.promise ??= new Promise<'wake'>((r) => (this.resolve = r));
    return this.promise;
  }

  wake(): void {
    const r = this.resolve;
    this.promise = undefined;
    this.resolve = undefined;
    r?.('wake');
  }
}
