// The last line of defence: an exception nobody caught, or a rejection nobody handled, is logged
// without its message (messages can quote input: a JSON parse error quotes the text it failed on)
// and ends the process through the orderly shutdown (goaway to every client, so each can resume
// elsewhere) instead of Node's bare crash, which tells nothing to the clients or to the logs.
import type { Logger } from './log.ts';

export interface SafeErrorFields {
  /** The error's class (TypeError, VlpError, …) or the thrown value's type. */
  type: string;
  code?: string;
  /** The stack frames, without the first line (which repeats the message). */
  frames?: string;
}

/** What may be logged of a thrown value: its type, code and stack frames, never its message. */
export function safeErrorFields(err: unknown): SafeErrorFields {
  if (!(err instanceof Error)) return { type: err === null ? 'null' : typeof err };
  const out: SafeErrorFields = { type: err.name };
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string') out.code = code;
  const stack = err.stack;
  if (typeof stack === 'string') {
    const frames = stack
      .split('\n')
      .filter((l) => l.trimStart().startsWith('at '))
      .slice(0, 12)
      .join('\n');
    if (frames !== '') out.frames = frames;
  }
  return out;
}

/** The process events this module listens to (process itself, or a stand-in in tests). */
export interface FatalSource {
  on(event: 'uncaughtException', listener: (err: unknown) => void): unknown;
  on(event: 'unhandledRejection', listener: (reason: unknown) => void): unknown;
}

/** Log the first fatal event and call `stop` once (it shuts down and exits non-zero). */
export function installFatalHandlers(source: FatalSource, log: Logger, stop: (reason: 'uncaughtException' | 'unhandledRejection') => void): void {
  let fired = false;
  const fatal = (reason: 'uncaughtException' | 'unhandledRejection', err: unknown): void => {
    log.fatal({ reason, error: safeErrorFields(err) }, 'uncaught failure: shutting down');
    if (fired) return;
    fired = true;
    stop(reason);
  };
  source.on('uncaughtException', (err) => fatal('uncaughtException', err));
  source.on('unhandledRejection', (reason) => fatal('unhandledRejection', reason));
}
