// Structured logger (pino). Rule: user content (transcripts, prompts, images) never goes into the
// message text; ids, codes, counts and durations go under structured keys.
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string, name = 'vlp-live'): Logger {
  return pino({
    name,
    level,
    base: { pid: process.pid },
    // Belt and braces: if a caller ever passes these keys, they are removed from the record.
    redact: { paths: ['text', 'prompt', 'inputs', 'transcript', 'image', '*.text', '*.prompt', '*.inputs', 'resume_token', 'token'], remove: true },
  });
}
