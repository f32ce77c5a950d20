// The CLI's contract with its caller: the streams it writes to (CliIo), its exit codes (EXIT), and
// the stderr line for a failure that is not a turn's own error (reportFailure).
import type { Readable, Writable } from 'node:stream';
import { VlpClientError } from './sdk.ts';

export interface CliIo {
  stdout: Writable;
  stderr: Writable;
  /** Audio for `--audio -` (default process.stdin). */
  stdin?: Readable;
  /** Aborted on Ctrl-C: the CLI cancels the turn and exits 130. */
  signal?: AbortSignal;
  env?: Record<string, string | undefined>;
}

export const EXIT = { OK: 0, ERROR: 1, USAGE: 2, INTERRUPTED: 130 } as const;

export function reportFailure(err: unknown, io: CliIo): number {
  if (err instanceof VlpClientError) io.stderr.write(`error ${err.code}: ${err.message}\n`);
  else io.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
  return EXIT.ERROR;
}
