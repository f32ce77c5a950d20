// Push mode for the per-token path. An event iterator may also offer drainTo(sink): from then on
// it hands every remaining event to `sink` synchronously, inside the producer's own call (the
// socket's data callback), and settles one promise at the end, instead of one promise, one
// iterator result and one microtask hop per event. consumeEvents() reads a stream the way
// for-await does and switches to push mode as soon as the stream offers it.

export interface Drainable<T> {
  /** Start push mode, or undefined when the stream cannot push now (then keep calling next()).
   *  The promise resolves after the last event and rejects with the stream's error; if `sink`
   *  throws, the stream is closed as by return() and the promise rejects with that exception. */
  drainTo(sink: (event: T) => void): Promise<void> | undefined;
}

export function drainableOf<T>(it: AsyncIterator<T, unknown>): Drainable<T> | undefined {
  return typeof (it as Partial<Drainable<T>>).drainTo === 'function' ? (it as unknown as Drainable<T>) : undefined;
}

/** Feeds every event of `stream` to `onEvent`, with for-await's semantics: the stream's error
 *  rejects; an exception from `onEvent` closes the stream (return()) and rejects with it. */
export async function consumeEvents<T>(stream: AsyncIterable<T>, onEvent: (event: T) => void): Promise<void> {
  const it = stream[Symbol.asyncIterator]();
  const push = drainableOf(it);
  for (;;) {
    const drained = push?.drainTo(onEvent);
    if (drained !== undefined) return drained;
    const r = await it.next();
    if (r.done === true) return;
    try {
      onEvent(r.value);
    } catch (err) {
      try {
        await it.return?.();
      } catch {
        // as for-await: the consumer's exception wins over return()'s
      }
      throw err;
    }
  }
}
