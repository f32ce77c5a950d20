// Background promises of a session never reject unhandled (src/main.ts makes an unhandled
// rejection shut the process down): when the code that handles a failure fails itself, that is
// logged without its message (safeErrorFields) and the session goes on. Vitest fails a run with
// an unhandled rejection, and each test also checks the log line and that none was seen.
import { readFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { pino } from 'pino';
import { VlpError } from '../protocol/errors.ts';
import type { ServerMessage } from '../protocol/messages.ts';
import type { AsrBackend, AsrHandlers, AsrStream } from '../src/backends/asr/port.ts';
import { parseWav } from '../src/audio/wav.ts';
import { Session } from '../src/session/session.ts';
import { VoiceInput, type VoiceTurnStarter } from '../src/session/voice.ts';
import type { SendResult } from '../src/transport/types.ts';
import { ensureAudioClips } from '../sim/asr/index.ts';
import { startStack, type Stack } from './harness.ts';

const SECRET = 'user said something private';
const start16k = { t: 'audio.start', format: { encoding: 'pcm16', sample_rate: 16000, channels: 1 } } as const;

type LogLine = Record<string, unknown> & { msg?: string; error?: { type?: string } };

class ArraySink {
  readonly frames: ServerMessage[] = [];
  send(msg: ServerMessage): SendResult {
    this.frames.push(structuredClone(msg));
    return 'ok';
  }
}

/** A recognizer whose streams take audio and give one partial transcript after speech starts. */
class PartialAsr implements AsrBackend {
  readonly id = 'partial';
  readonly capabilities = { livePartials: true, translate: false };
  open(_opts: unknown, handlers: AsrHandlers): AsrStream {
    let closed = false;
    return {
      write: () => true,
      onDrain: () => undefined,
      speechStart: () => {
        setImmediate(() => {
          if (!closed) handlers.onEvent({ kind: 'partial', stable: 'what is', unstable: ' this' });
        });
      },
      speechEnd: () => undefined,
      close: () => {
        closed = true;
      },
    };
  }
  probe(): Promise<boolean> {
    return Promise.resolve(true);
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

describe('failures of failure handling are logged, not left as unhandled rejections', () => {
  let stack: Stack;
  const lines: LogLine[] = [];
  const raw: string[] = [];
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown): void => {
    unhandled.push(reason);
  };
  const log = pino({ level: 'error' }, {
    write: (s: string) => {
      raw.push(s);
      lines.push(JSON.parse(s) as LogLine);
    },
  });

  beforeAll(async () => {
    stack = await startStack('ws', { sim: { ttftMs: 3000 } });
    process.on('unhandledRejection', onUnhandled);
  });
  afterAll(async () => {
    process.off('unhandledRejection', onUnhandled);
    await stack.close();
  });
  afterEach(() => {
    vi.restoreAllMocks();
    lines.length = 0;
    raw.length = 0;
  });

  function newSession(ctx: Partial<Session['ctx']> = {}): { s: Session; sink: ArraySink } {
    const s = new Session({ ...stack.gw.ctx, log, ...ctx }, { onSlowConsumer: () => undefined, onClosed: () => undefined });
    const sink = new ArraySink();
    s.attach(sink);
    return { s, sink };
  }

  /** The one log line `msg`, checked to carry the error's type and not its message. */
  function logged(msg: string): LogLine {
    const hit = lines.filter((l) => l.msg === msg);
    expect(hit).toHaveLength(1);
    const line = hit[0] as LogLine;
    expect(line.error?.type).toBe('Error');
    expect(raw.join('')).not.toContain(SECRET);
    return line;
  }

  it('a turn whose failure cannot be reported: turnDone resolves, the failure is logged', async () => {
    const { s } = newSession();
    const entry = stack.gw.ctx.models.get('llama-2-7b-chat');
    if (!entry) throw new Error('no model');
    vi.spyOn(entry.backend, 'generate').mockImplementation(() => {
      throw new VlpError('UPSTREAM_UNAVAILABLE', 'down');
    });
    vi.spyOn(s, 'sendError').mockImplementation(() => {
      throw new Error(SECRET);
    });
    s.startTurn({ t: 'turn.start', id: 't1', text: 'hello there' });
    await expect(s.turnDone).resolves.toBeUndefined();
    expect(s.turn).toBeUndefined();
    expect(logged('turn failure could not be reported')).toMatchObject({ session: s.id });
    await new Promise((r) => setImmediate(r));
    expect(unhandled).toEqual([]);
    s.close('disconnect');
  });

  it('an audio pipeline whose start failure cannot be reported: logged', async () => {
    const asr: AsrBackend = {
      id: 'broken',
      capabilities: { livePartials: true, translate: false },
      open: () => {
        throw new Error(SECRET);
      },
      probe: () => Promise.resolve(false),
      close: () => Promise.resolve(),
    };
    const { s } = newSession({ asr });
    vi.spyOn(s, 'sendError').mockImplementation(() => {
      throw new Error(SECRET);
    });
    s.startAudio(start16k);
    await expect.poll(() => lines.some((l) => l.msg === 'audio pipeline failure could not be handled'), { timeout: 5000 }).toBe(true);
    expect(logged('audio pipeline failure could not be handled')).toMatchObject({ session: s.id });
    await new Promise((r) => setImmediate(r));
    expect(unhandled).toEqual([]);
    s.close('disconnect');
  });

  it('a voice turn waiting for the superseded one, whose start throws: logged', async () => {
    const { s, sink } = newSession();
    s.startTurn({ t: 'turn.start', id: 'long', text: 'tell me a long story' });
    expect(s.turn?.id).toBe('long');
    vi.spyOn(s, 'startTurn').mockImplementation(() => {
      throw new Error(SECRET);
    });
    const now = performance.now();
    s.startVoiceTurn('and now something else', { speechEndAt: now, asrFinalAt: now });
    await expect.poll(() => lines.some((l) => l.msg === 'waiting voice turn could not be started'), { timeout: 5000 }).toBe(true);
    expect(logged('waiting voice turn could not be started')).toMatchObject({ session: s.id });
    expect(sink.frames.some((f) => f.t === 'turn.cancelled' && f.turn === 'long' && f.reason === 'superseded')).toBe(true);
    expect(unhandled).toEqual([]);
    s.close('disconnect');
  });

  it('a speculative answer that rejects: logged, the voice stream goes on', async () => {
    const clips = await ensureAudioClips();
    const wav = parseWav(new Uint8Array(readFileSync(clips.wav['hello-how-are-you'])));
    const { s } = newSession();
    s.updateOptions({ speculate: true });
    const turns: VoiceTurnStarter = {
      startVoiceTurn: () => undefined,
      speculateSegment: () => undefined,
      speculateAnswer: () => Promise.reject(new Error(SECRET)),
      hasImage: false,
      latestImageId: undefined,
      imageDescription: () => undefined,
      bargeIn: () => false,
      judgeSpeech: () => 'user' as const,
      hasRunningTurn: false,
      dropSpokenTurn: () => undefined,
    };
    const voice = new VoiceInput(s, start16k, new PartialAsr(), turns, () => undefined);
    await voice.init();
    // The clip at about real time: speech starts (a partial comes), then end() ends the utterance.
    const pcm = wav.data;
    const t0 = performance.now();
    for (let i = 0, k = 0; i < pcm.length; i += 640, k++) {
      const wait = t0 + k * 12 - performance.now();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
      voice.chunk(pcm.subarray(i, Math.min(pcm.length, i + 640)), performance.now());
    }
    voice.end();
    await expect.poll(() => lines.some((l) => l.msg === 'speculative answer failed'), { timeout: 5000 }).toBe(true);
    expect(logged('speculative answer failed')).toMatchObject({ session: s.id });
    expect(unhandled).toEqual([]);
    voice.close();
    s.close('disconnect');
  }, 20_000);
});
