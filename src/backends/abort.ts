// The error every backend throws when its caller aborted the request: named 'AbortError' (like
// fetch's) and deliberately not a VlpError, since a cancelled turn is not a failure to report.

/** Builds the AbortError; the signal's reason (e.g. a barge-in marker) travels as `cause`. */
export function abortError(reason: unknown): Error {
  const err = new Error('the generation was aborted', reason === undefined ? undefined : { cause: reason });
  err.name = 'AbortError';
  return err;
}

export function isAbortError(err: unknown): boolean {
  return err instanceof Error && err.name === 'AbortError';
}
