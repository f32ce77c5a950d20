// Command-line parsing for the vlp CLI (node:util parseArgs): flags to a typed config, or a usage
// error message. Reads VLP_URL and VLP_API_KEY only through the env object it is given.
import { parseArgs } from 'node:util';
import type { AsrTask, AudioFormat, GenParams, SessionOptions, Subprotocol } from '../../protocol/messages.ts';
import { parseAudioFormat } from './audio.ts';

export const DEFAULT_URL = 'ws://127.0.0.1:8080/v1/ws';

export const USAGE = `usage: npm run cli -- [flags] "prompt"
       npm run cli -- [flags] --audio FILE

Streams one answer from a vlp-live gateway to stdout; a summary line goes to stderr. With --audio
the question is spoken: partial transcripts and the final one ("you said: ...") go to stderr, the
answer of each voice turn the speech starts to stdout.

  --url URL               gateway WebSocket URL (env VLP_URL, default ${DEFAULT_URL})
  --api-key KEY           API key of a gateway with client authentication, sent as
                          Authorization: Bearer (env VLP_API_KEY, preferred: flags show in ps
                          and shell history)
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
  --timeout-ms N          give up after N ms (connect and answer; with --audio: connect, and
                          answer once the audio is sent; default 120000)
  --barge-in MODE         off | speech_start | first_words: what speech does to a streaming answer
  -h, --help              this help

voice input:
  --audio FILE            the question as audio instead of a prompt: WAV (PCM16 or float32 mono at
                          8/16/24/48 kHz) is sent as is, anything else (mp3, ogg, flac, stereo,
                          44.1 kHz...) is decoded with ffmpeg to 16 kHz PCM16; - reads stdin
  --audio-format F        send the bytes as they are, in this format: pcm16:RATE, f32:RATE, mulaw,
                          ogg_opus (paced by its pages) or webm_opus (not paced), e.g. raw PCM
                          from stdin: --audio - --audio-format pcm16:16000
  --language CODE         spoken language (en, zh, ...; default: the gateway's, else detected)
  --task T                transcribe (default) | translate (the transcript is in English)
  --speed X               send the audio at X times real time (default 1; the gateway drops audio
                          faster than 2x by default, AUDIO_TOO_FAST)
  --transcript-timeout-ms N  after the audio ends, wait this long for a final transcript
                          (default 20000; none → CLIENT_NO_TRANSCRIPT)

exit codes: 0 ok, 1 error frame or failure, 2 usage error, 130 interrupted (Ctrl-C)`;

export interface CliConfig {
  url: string;
  /** API key for the handshake (--api-key, else VLP_API_KEY). */
  apiKey?: string;
  /** The typed question; empty when the question is spoken (audio). */
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
  /** Spoken question: a file path or '-' (stdin); `format` when the bytes are headerless. */
  audio?: { path: string; format?: AudioFormat };
  language?: string;
  task?: AsrTask;
  /** Audio pace, times real time. */
  speed: number;
  /** After the audio ends, how long to wait for a final transcript, ms. */
  transcriptTimeoutMs: number;
}

export type ParsedArgs = { kind: 'run'; config: CliConfig } | { kind: 'help' } | { kind: 'usage'; error: string };

const OPTIONS = {
  url: { type: 'string' },
  'api-key': { type: 'string' },
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
  'barge-in': { type: 'string' },
  audio: { type: 'string' },
  'audio-format': { type: 'string' },
  language: { type: 'string' },
  task: { type: 'string' },
  speed: { type: 'string' },
  'transcript-timeout-ms': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** What the gateway accepts in audio.start.language. */
const LANGUAGE_RE = /^[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})?$/;

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
  const audioPath = values.audio;
  if (audioPath === undefined && prompt === '') return { kind: 'usage', error: 'missing prompt (or --audio FILE)' };
  if (audioPath !== undefined && prompt !== '') return { kind: 'usage', error: 'give a prompt or --audio, not both' };

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

  const options: SessionOptions = {};
  if (values.system !== undefined) options.system_prompt = values.system;
  // Spoken turns are started by the server from the final transcript, so their generation
  // parameters travel as session defaults.
  if (audioPath !== undefined && Object.keys(params).length > 0) options.params = { ...params };
  const bargeIn = values['barge-in'];
  if (bargeIn !== undefined) {
    if (bargeIn === 'off' || bargeIn === 'speech_start' || bargeIn === 'first_words') options.barge_in = bargeIn;
    else errors.push(`--barge-in must be off, speech_start or first_words, got "${bargeIn}"`);
  }
  for (const flag of ['audio-format', 'language', 'task', 'speed', 'transcript-timeout-ms'] as const) {
    if (values[flag] !== undefined && audioPath === undefined) errors.push(`--${flag} needs --audio`);
  }
  if (audioPath === '') errors.push('--audio needs a file path (or - for stdin)');
  let audioFormat: AudioFormat | undefined;
  if (values['audio-format'] !== undefined) {
    const f = parseAudioFormat(values['audio-format']);
    if (typeof f === 'string') errors.push(`--audio-format: ${f}`);
    else audioFormat = f;
  }
  const language = values.language;
  if (language !== undefined && !LANGUAGE_RE.test(language)) errors.push(`--language must be a language code such as en or zh-TW, got "${language}"`);
  const task = values.task;
  if (task !== undefined && task !== 'transcribe' && task !== 'translate') errors.push(`--task must be transcribe or translate, got "${task}"`);
  let speed = 1;
  if (values.speed !== undefined) {
    speed = Number(values.speed);
    if (!Number.isFinite(speed) || speed <= 0) errors.push(`--speed must be a number > 0, got "${values.speed}"`);
  }
  const transcriptTimeoutMs = int('transcript-timeout-ms', values['transcript-timeout-ms'], 1) ?? 20_000;
  const url = values.url ?? env.VLP_URL ?? DEFAULT_URL;
  if (!/^wss?:\/\//.test(url)) errors.push(`--url must start with ws:// or wss://, got "${url}"`);
  const apiKey = values['api-key'] ?? env.VLP_API_KEY;
  // Never echo the key.
  if (apiKey !== undefined && !/^[\x21-\x7e]+$/.test(apiKey)) errors.push(`${values['api-key'] !== undefined ? '--api-key' : 'VLP_API_KEY'} must be non-empty printable ASCII without spaces`);
  if (errors.length > 0) return { kind: 'usage', error: errors.join('\n') };

  return {
    kind: 'run',
    config: {
      url,
      ...(apiKey !== undefined && { apiKey }),
      prompt,
      subprotocol: values.json === true ? 'vlp.v1.json' : 'vlp.v1.msgpack',
      events: values.events === true,
      timeoutMs,
      ...(values.model !== undefined && { model: values.model }),
      ...(Object.keys(params).length > 0 && { params }),
      ...(Object.keys(options).length > 0 && { options }),
      ...(values.image !== undefined && { image: { path: values.image } }),
      ...(values['image-url'] !== undefined && { image: { url: values['image-url'] } }),
      ...(values.save !== undefined && { save: values.save }),
      ...(audioPath !== undefined && { audio: { path: audioPath, ...(audioFormat !== undefined && { format: audioFormat }) } }),
      ...(language !== undefined && { language }),
      ...(task !== undefined && { task: task as AsrTask }),
      speed,
      transcriptTimeoutMs,
    },
  };
}
