// Tests: a pino logger (pino's defaults, as createLogger) whose JSON lines are kept in memory.
import { Writable } from 'node:stream';
import { pino } from 'pino';

export interface CapturedLog {
  log: pino.Logger;
  /** Every line written so far, parsed. */
  lines(): Record<string, unknown>[];
  /** Everything written so far, as text. */
  raw(): string;
}

export function captureLog(level = 'info'): CapturedLog {
  const out: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      out.push(chunk.toString('utf8'));
      done();
    },
  });
  const log = pino({ level }, sink);
  const raw = (): string => out.join('');
  return {
    log,
    raw,
    lines: () =>
      raw()
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}
