// speech-judge.ts through a real Session: which answer texts the echo guard compares spoken input with — the running
// answer's streamed text and the latest ended answer within audio.echoGuard.windowMs — and only
// with options.echo_guard on.
import { afterEach, describe, expect, it, vi } from 'vitest';
import pino from 'pino';
import { ConfigSchema } from '../config/schema.ts';
import { createMetrics } from '../observability/metrics.ts';
import type { GatewayContext } from './context.ts';
import { Session } from './session.ts';
import { judgeEcho } from './speech-judge.ts';

function session(windowMs = 1000): Session {
  const ctx = {
    config: ConfigSchema.parse({ audio: { echoGuard: { windowMs } } }),
    metrics: createMetrics({ defaultMetrics: false }),
    log: pino({ level: 'silent' }),
    models: { get: () => undefined },
  } as unknown as GatewayContext;
  return new Session(ctx, { onSlowConsumer: () => undefined, onClosed: () => undefined });
}

afterEach(() => {
  vi.useRealTimers();
});

describe('judging spoken input (speech-judge.ts) in a session', () => {
  it('is off unless options.echo_guard: everything is the user', () => {
    const s = session();
    s.recentAnswer = { text: 'The capital of France is Paris.', startedAt: performance.now(), endedAt: performance.now() };
    expect(judgeEcho(s, 'the capital of France is Paris')).toBe('user');
    s.updateOptions({ echo_guard: true });
    expect(judgeEcho(s, 'the capital of France is Paris')).toBe('echo');
    s.updateOptions({ echo_guard: false });
    expect(judgeEcho(s, 'the capital of France is Paris')).toBe('user');
  });

  it('compares with the running answer as streamed so far', () => {
    const s = session();
    s.updateOptions({ echo_guard: true });
    let streamed = 'Once upon a time there was';
    s.turn = { id: 't1', controller: new AbortController(), startedAt: performance.now(), cancelReason: undefined, spoken: () => streamed };
    expect(judgeEcho(s, 'once upon a time')).toBe('echo');
    expect(judgeEcho(s, 'a little dragon called Smaug')).toBe('user');
    streamed += ' a little dragon called Smaug.';
    expect(judgeEcho(s, 'a little dragon called Smaug')).toBe('echo');
  });

  it('forgets an ended answer windowMs after the client would have finished speaking it', () => {
    vi.useFakeTimers({ toFake: ['performance'] });
    const s = session(1000);
    s.updateOptions({ echo_guard: true });
    // 8 words: 3.2 s to speak at 2.5 words a second, streamed in 0.5 s.
    const t0 = performance.now();
    s.recentAnswer = { text: 'It is sunny and warm in Lisbon today.', startedAt: t0, endedAt: t0 + 500 };
    vi.advanceTimersByTime(4100);
    expect(judgeEcho(s, 'sunny and warm in Lisbon')).toBe('echo');
    vi.advanceTimersByTime(200);
    expect(judgeEcho(s, 'sunny and warm in Lisbon')).toBe('user');
  });

  it('drops an ignored final as a voice turn announced and cancelled with its reason, with a fresh id', () => {
    const s = session();
    const frames: unknown[] = [];
    s.attach({ send: (m) => (frames.push(structuredClone(m)), 'ok') });
    s.dropSpokenTurn('Hello there.', 'echo', 'en');
    s.dropSpokenTurn('Hello again.', 'backchannel');
    expect(frames).toMatchObject([
      { t: 'asr.final', text: 'Hello there.', turn: 'v1', language: 'en' },
      { t: 'turn.cancelled', turn: 'v1', reason: 'echo' },
      { t: 'asr.final', text: 'Hello again.', turn: 'v2' },
      { t: 'turn.cancelled', turn: 'v2', reason: 'backchannel' },
    ]);
  });

  it('takes a backchannel for one only with ignore_backchannels and while the assistant speaks', () => {
    vi.useFakeTimers({ toFake: ['performance'] });
    const s = session();
    expect(s.judgeSpeech('uh-huh')).toBe('user');
    s.updateOptions({ ignore_backchannels: true });
    expect(s.judgeSpeech('uh-huh')).toBe('user'); // nothing is being said: a real "yes"
    s.turn = { id: 't1', controller: new AbortController(), startedAt: performance.now(), cancelReason: undefined, spoken: () => 'Paris is' };
    expect(s.judgeSpeech('uh-huh')).toBe('backchannel');
    expect(s.judgeSpeech('yeah, but what about Rome?')).toBe('user');
    s.turn = undefined;
    // An ended 10-word answer plays for 4 s at 2.5 words a second.
    const t0 = performance.now();
    s.recentAnswer = { text: 'one two three four five six seven eight nine ten', startedAt: t0, endedAt: t0 + 300 };
    vi.advanceTimersByTime(3900);
    expect(s.judgeSpeech('okay')).toBe('backchannel');
    vi.advanceTimersByTime(200);
    expect(s.judgeSpeech('okay')).toBe('user'); // the answer is over: "okay" answers it
  });
});
