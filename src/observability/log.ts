// Structured logger (pino). Rule: user content (transcripts, prompts, images) never goes into the
// message text; ids, codes, counts and durations go under structured keys.
import { pino, type Logger } from 'pino';

export type { Logger };

/** `destination`: where the JSON lines go (default stdout; tests capture them). */
export function createLogger(level: string, name = 'vlp-live', destination?: pino.DestinationStream): Logger {
  const options: pino.LoggerOptions = {
    name,
    level,
    base: { pid: process.pid },
    // Belt and braces: if a caller ever passes these keys, they are removed from the record.
    redact: {
      paths: [
        'text', 'prompt', 'inputs', 'transcript', 'image', '*.text', '*.prompt', '*.inputs', 'resume_token', 'token',
        // Credentials (client authentication): never logged on purpose, removed if passed by mistake.
        'authorization', 'apiKey', 'apiKeys', 'tokenSecret', '*.authorization', '*.apiKey', '*.apiKeys', '*.tokenSecret',
      ],
      remove: true,
    },
  };
  return destination === undefined ? pino(options) : pino(options, destination);
}
