import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, ConfigError } from './load.ts';

describe('loadConfig', () => {
  it('has defaults that describe the seed fleet', () => {
    const c = loadConfig();
    expect(c.port).toBe(8080);
    expect(c.transport).toBe('ws');
    expect(c.models.map((m) => [m.id, m.kind, m.template])).toEqual([
      ['llama-2-7b-chat', 'llm', 'llama2-chat'],
      ['idefics-9b-instruct', 'vlm', 'idefics'],
    ]);
  });

  it('applies env, then flags over env', () => {
    const c = loadConfig({ env: { PORT: '9000', VLP_TRANSPORT: 'uws', VLP_TGI_URL: 'http://10.0.0.1:80,http://10.0.0.2:80' }, argv: ['--port', '9100'] });
    expect(c.port).toBe(9100);
    expect(c.transport).toBe('uws');
    expect(c.models[0]?.urls).toEqual(['http://10.0.0.1:80', 'http://10.0.0.2:80']);
  });

  it('reads a JSON file and rejects its unknown keys with the path', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vlp-cfg-'));
    const good = join(dir, 'good.json');
    writeFileSync(good, JSON.stringify({ limits: { maxSessions: 5 }, logLevel: 'warn' }));
    expect(loadConfig({ argv: ['--config', good] }).limits.maxSessions).toBe(5);
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ limits: { maxSesions: 5 } }));
    expect(() => loadConfig({ argv: ['--config', bad] })).toThrow(/limits.*maxSesions|maxSesions/);
  });

  it('bounds the outbox by frames and by bytes (limits.outboxMaxBytes: 512 KiB by default, 64 KiB to 1 GiB), under the replay buffer\'s bounds', () => {
    const c = loadConfig();
    expect(c.limits.outboxMaxFrames).toBe(1024);
    expect(c.limits.outboxMaxBytes).toBe(512 << 10);
    // A slow consumer's waiting frames fit the replay buffer at the defaults, with the transport's
    // high-water mark of frames written but perhaps unread on top.
    expect(c.limits.replayFrames).toBeGreaterThan(c.limits.outboxMaxFrames);
    expect(c.limits.replayBytes).toBeGreaterThanOrEqual(c.limits.outboxMaxBytes + c.limits.highWaterBytes);
    const dir = mkdtempSync(join(tmpdir(), 'vlp-cfg-'));
    const file = (name: string, outboxMaxBytes: number): string => {
      const path = join(dir, name);
      writeFileSync(path, JSON.stringify({ limits: { outboxMaxBytes } }));
      return path;
    };
    expect(loadConfig({ argv: ['--config', file('ok.json', 64 << 10)] }).limits.outboxMaxBytes).toBe(64 << 10);
    expect(() => loadConfig({ argv: ['--config', file('small.json', (64 << 10) - 1)] })).toThrow(/outboxMaxBytes/);
    expect(() => loadConfig({ argv: ['--config', file('big.json', 2 ** 30 + 1)] })).toThrow(/outboxMaxBytes/);
  });

  it('rejects unknown VLP_ env vars, bad numbers, bad enums and unknown flags', () => {
    expect(() => loadConfig({ env: { VLP_PROT: '1' } })).toThrow(ConfigError);
    expect(() => loadConfig({ env: { PORT: 'eighty' } })).toThrow(/PORT must be a number/);
    expect(() => loadConfig({ env: { VLP_TRANSPORT: 'tcp' } })).toThrow(/transport/);
    expect(() => loadConfig({ argv: ['--colour'] })).toThrow(/bad command line/);
    expect(() => loadConfig({ env: { PORT: '70000' } })).toThrow(/port/);
  });

  it('accepts every documented flag (--asr-backend and --asr-url were refused before)', () => {
    const c = loadConfig({
      argv: ['--port', '9001', '--host', '127.0.0.2', '--transport', 'uws', '--log-level', 'warn', '--tgi-url', 'http://10.0.0.3:80', '--idefics-url', 'http://10.0.0.4:80', '--asr-backend', 'whisper-asr', '--asr-url', 'http://10.0.0.5:9000'],
    });
    expect(c.port).toBe(9001);
    expect(c.host).toBe('127.0.0.2');
    expect(c.transport).toBe('uws');
    expect(c.asr.backend).toBe('whisper-asr');
    expect(c.asr.url).toBe('http://10.0.0.5:9000');
    // A flag beats its environment variable.
    expect(loadConfig({ env: { VLP_ASR_URL: 'ws://a:1' }, argv: ['--asr-url', 'ws://b:2'] }).asr.url).toBe('ws://b:2');
  });

  it('holds failing recognizer streams 1 s at first, up to 30 s, and refuses a max under the base', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vlp-cfg-'));
    expect(loadConfig({}).asr).toMatchObject({ holdBaseMs: 1000, holdMaxMs: 30_000 });
    const good = join(dir, 'hold.json');
    writeFileSync(good, JSON.stringify({ asr: { holdBaseMs: 250, holdMaxMs: 5000 } }));
    expect(loadConfig({ env: { VLP_CONFIG: good } }).asr).toMatchObject({ holdBaseMs: 250, holdMaxMs: 5000 });
    const bad = join(dir, 'hold-bad.json');
    writeFileSync(bad, JSON.stringify({ asr: { holdBaseMs: 5000, holdMaxMs: 2000 } }));
    expect(() => loadConfig({ env: { VLP_CONFIG: bad } })).toThrow(/asr\.holdMaxMs` must be at least `asr\.holdBaseMs/);
  });

  it('rejects a default model that is not configured', () => {
    expect(() => loadConfig({ env: { VLP_DEFAULT_MODEL: 'gpt-9' } })).toThrow(/defaultModel/);
  });
});
