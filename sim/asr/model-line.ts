// The line of work in front of the simulated whisper-asr-webservice's model: `concurrency`
// transcriptions run at once, the rest wait in order; a request that goes away leaves the line.

interface Work {
  start(): void;
  cancel(): void;
  started: boolean;
}

/** A line of work in front of the model, `concurrency` at a time. */
export class ModelLine {
  running = 0;
  readonly waiting: Work[] = [];
  constructor(readonly concurrency: number) {}

  /** Run `ms` of model time; resolves true when done, false when cancelled by `signal`. */
  run(ms: number, signal: AbortSignal): Promise<boolean> {
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const work: Work = {
        started: false,
        start: () => {
          work.started = true;
          this.running++;
          timer = setTimeout(() => {
            signal.removeEventListener('abort', onAbort);
            this.release();
            resolve(true);
          }, ms);
        },
        cancel: () => {
          if (work.started) {
            clearTimeout(timer);
            this.release();
          } else {
            const i = this.waiting.indexOf(work);
            if (i >= 0) this.waiting.splice(i, 1);
          }
          resolve(false);
        },
      };
      const onAbort = (): void => work.cancel();
      if (signal.aborted) return resolve(false);
      signal.addEventListener('abort', onAbort, { once: true });
      if (this.running < this.concurrency) work.start();
      else this.waiting.push(work);
    });
  }

  private release(): void {
    this.running--;
    const next = this.waiting.shift();
    if (next) next.start();
  }
}
