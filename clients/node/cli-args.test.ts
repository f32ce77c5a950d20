// CLI argument parsing: prompt or --audio, the voice flags and their checks, session options.
import { describe, expect, it } from 'vitest';
import { DEFAULT_URL, parseCliArgs, type CliConfig, type ParsedArgs } from './cli-args.ts';

function config(argv: string[]): CliConfig {
  const r = parseCliArgs(argv, {});
  if (r.kind !== 'run') throw new Error(`expected a config, got ${JSON.stringify(r)}`);
  return r.config;
}

function usage(argv: string[]): string {
  const r: ParsedArgs = parseCliArgs(argv, {});
  if (r.kind !== 'usage') throw new Error(`expected a usage error, got ${JSON.stringify(r)}`);
  return r.error;
}

describe('parseCliArgs', () => {
  it('a typed prompt keeps its defaults', () => {
    expect(config(['hello', 'there'])).toEqual({
      url: DEFAULT_URL,
      prompt: 'hello there',
      subprotocol: 'vlp.v1.msgpack',
      events: false,
      timeoutMs: 120_000,
      speed: 1,
      transcriptTimeoutMs: 20_000,
    });
  });

  it('--audio with the voice flags', () => {
    const c = config(['--audio', 'q.wav', '--language', 'zh-TW', '--task', 'translate', '--speed', '1.5', '--barge-in', 'off', '--system', 'Hi', '--transcript-timeout-ms', '5000']);
    expect(c).toMatchObject({
      prompt: '',
      audio: { path: 'q.wav' },
      language: 'zh-TW',
      task: 'translate',
      speed: 1.5,
      transcriptTimeoutMs: 5_000,
      options: { system_prompt: 'Hi', barge_in: 'off' },
    });
    expect(config(['--audio', '-', '--audio-format', 'pcm16:16000']).audio).toEqual({
      path: '-',
      format: { encoding: 'pcm16', sample_rate: 16_000, channels: 1 },
    });
    expect(config(['--audio', 'q.ogg', '--audio-format', 'ogg_opus']).audio?.format).toEqual({ encoding: 'ogg_opus', sample_rate: 48_000, channels: 1 });
    expect(config(['--barge-in', 'speech_start', 'hi']).options).toEqual({ barge_in: 'speech_start' });
  });

  it('needs exactly one of a prompt and --audio', () => {
    expect(usage([])).toMatch(/missing prompt \(or --audio FILE\)/);
    expect(usage(['--audio', 'q.wav', 'hello'])).toMatch(/a prompt or --audio, not both/);
    expect(usage(['--audio', ''])).toMatch(/--audio needs a file path/);
  });

  it('checks the voice flags', () => {
    expect(usage(['--language', 'en', 'hi'])).toMatch(/--language needs --audio/);
    expect(usage(['--speed', '2', 'hi'])).toMatch(/--speed needs --audio/);
    expect(usage(['--audio-format', 'pcm16:16000', 'hi'])).toMatch(/--audio-format needs --audio/);
    expect(usage(['--audio', 'q.wav', '--speed', '0'])).toMatch(/--speed must be a number > 0/);
    expect(usage(['--audio', 'q.wav', '--speed', 'fast'])).toMatch(/--speed must be a number > 0/);
    expect(usage(['--audio', 'q.wav', '--task', 'summarize'])).toMatch(/--task must be transcribe or translate/);
    expect(usage(['--audio', 'q.wav', '--language', 'English'])).toMatch(/--language must be a language code/);
    expect(usage(['--audio', '-', '--audio-format', 'pcm16:44100'])).toMatch(/--audio-format: pcm16 sample rate/);
    expect(usage(['--audio', 'q.wav', '--transcript-timeout-ms', '0'])).toMatch(/--transcript-timeout-ms must be an integer >= 1/);
    expect(usage(['--barge-in', 'always', 'hi'])).toMatch(/--barge-in must be off, speech_start or first_words/);
  });

  it('takes the API key from --api-key, else VLP_API_KEY, and refuses one a header cannot carry without echoing it', () => {
    const run = (argv: string[], env: Record<string, string>) => parseCliArgs(argv, env);
    expect(run(['--api-key', 'flag-key-0123456789', 'hi'], { VLP_API_KEY: 'env-key-0123456789' })).toMatchObject({ kind: 'run', config: { apiKey: 'flag-key-0123456789' } });
    expect(run(['hi'], { VLP_API_KEY: 'env-key-0123456789' })).toMatchObject({ kind: 'run', config: { apiKey: 'env-key-0123456789' } });
    expect(config(['hi'])).not.toHaveProperty('apiKey');
    const spaced = run(['--api-key', 'two words', 'hi'], {});
    expect(spaced).toEqual({ kind: 'usage', error: '--api-key must be non-empty printable ASCII without spaces' });
    expect(run(['hi'], { VLP_API_KEY: '' })).toEqual({ kind: 'usage', error: 'VLP_API_KEY must be non-empty printable ASCII without spaces' });
  });
});
