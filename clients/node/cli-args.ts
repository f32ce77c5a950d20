// Command-line parsing for the vlp CLI (node:util parseArgs): flags to a typed config, or a usage
// error message. Reads VLP_URL only through the env object it is given.
import { parseArgs } from 'node:util';
import type { GenParams, SessionOptions, Subprotocol } from '../../protocol/messages.ts';

export const DEFAULT_URL = 'ws://127.0.0.1:8080/v1/ws';

export const USAGE = `usage: npm run cli -- [flags] "prompt"

Streams one answer from a vlp-live gateway to stdout; a summary line goes to stderr.

  --url URL               gateway WebSocket URL (env VLP_URL, default ${DEFAULT_URL})
  --model ID              model id (ready.models lists them)
  --max-new-tokens N      generation cap, tokens
  --temperature X         sampling temperature (> 0)
  --seed N                sampling seed
  --system TEXT           system prompt for the session
  --image PATH            ask about this image (JPEG, PNG or WebP): goes to the vision model
  --image-url URL         ask about an image the gateway fetches (its host must be allowed)
  --save PATH             with --image: write the image with the detected boxes and masks drawn, as PNG
  --json                  use the vlp.v1.json subprotocol (default vlp.v1.msgpack)
  --events                print every server frame as one JSON line instead of the text
  --timeout-ms N          give up after N ms (connect and answer; default 120000)
  -h, --help              this help

exit codes: 0 ok, 1 error frame or failure, 2 usage error, 130 interrupted (Ctrl-C)`;

export interface CliConfig {
  url: string;
  prompt: string;
  subprotocol: Subprotocol;
  events: boolean;
  timeoutMs: number;
  model?: string;
  params?: GenParams;
  options?: SessionOptions;
  /** Image to send with image.put before the turn: a local file or a URL for the gateway. */
  image?: { path: string } | { url: string };
  /** PNG path for the image with boxes and masks drawn (segment turns; needs a local --image). */
  save?: string;
}

export type ParsedArgs = { kind: 'run'; config: CliConfig } | { kind: 'help' } | { kind: 'usage'; error: string };

const OPTIONS = {
  url: { type: 'string' },
  model: { type: 'string' },
  'max-new-tokens': { type: 'string' },
  temperature: { type: 'string' },
  seed: { type: 'string' },
  system: { type: 'string' },
  image: { type: 'string' },
  'image-url': { type: 'string' },
  save: { type: 'string' },
  json: { type: 'boolean' },
  events: { type: 'boolean' },
  'timeout-ms': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

const parseWith = (argv: string[]) => parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });

/** parseArgs result, or its error message (unknown flag, missing value). */
function parseStrict(argv: string[]): ReturnType<typeof parseWith> | string {
  try {
    return parseWith(argv);
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

export function parseCliArgs(argv: string[], env: Record<string, string | undefined>): ParsedArgs {
  const parsed = parseStrict(argv);
  if (typeof parsed === 'string') return { kind: 'usage', error: parsed };
  const { values, positionals } = parsed;
  if (values.help === true) return { kind: 'help' };

  const prompt = positionals.join(' ').trim();
  if (prompt === '') return { kind: 'usage', error: 'missing prompt' };

  const params: GenParams = {};
  const errors: string[] = [];
  const int = (name: string, raw: string | undefined, min: number): number | undefined => {
    if (raw === undefined) return undefined;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min) errors.push(`--${name} must be an integer >= ${min}, got "${raw}"`);
    return n;
  };
  const maxNew = int('max-new-tokens', values['max-new-tokens'], 1);
  if (maxNew !== undefined) params.max_new_tokens = maxNew;
  const seed = int('seed', values.seed, 0);
  if (seed !== undefined) params.seed = seed;
  if (values.temperature !== undefined) {
    const t = Number(values.temperature);
    if (!Number.isFinite(t) || t <= 0) errors.push(`--temperature must be a number > 0, got "${values.temperature}"`);
    params.temperature = t;
  }
  if (values.image !== undefined && values['image-url'] !== undefined) errors.push('use --image or --image-url, not both');
  if (values.save !== undefined && values.image === undefined) errors.push('--save needs a local --image to draw on');
  const timeoutMs = int('timeout-ms', values['timeout-ms'], 1) ?? 120_000;
  const url = values.url ?? env.VLP_URL ?? DEFAULT_URL;
  if (!/^wss?:\/\//.test(url)) errors.push(`--url must start with ws:// or wss://, got "${url}"`);
  if (errors.length > 0) return { kind: 'usage', error: errors.join('\n') };

  return {
    kind: 'run',
    config: {
      url,
      prompt,
      subprotocol: values.json === true ? 'vlp.v1.json' : 'vlp.v1.msgpack',
      events: values.events === true,
      timeoutMs,
      ...(values.model !== undefined && { model: values.model }),
      ...(Object.keys(params).length > 0 && { params }),
      ...(values.system !== undefined && { options: { system_prompt: values.system } }),
      ...(values.image !== undefined && { image: { path: values.image } }),
      ...(values['image-url'] !== undefined && { image: { url: values['image-url'] } }),
      ...(values.save !== undefined && { save: values.save }),
    },
  };
}
