// SDK tests against the fake gateway (real sockets on port 0, real codec): connect/ready, turn
// streaming, cancel, typed errors, JSON mirror, seq/ack/gap tracking, events() bound, resume, voice
// input (streamAudio, voiceTurns, followTurn), watches (watch, unwatch, a watch's turn).
import { getEventListeners } from 'node:events';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ServerMessage, WatchEventMsg } from '../../protocol/messages.ts';
import { startFakeGateway, TOKENS, type FakeGateway } from './fake-gateway.ts';
import { connect, resume, type VlpClient, type VoiceTurn } from './sdk.ts';
import { clientRejection } from './rejection.testkit.ts';

let gw: FakeGateway;
const clients: VlpClient[] = [];

async function open(opts: Parameters<typeof connect>[1] = {}): Promise<VlpClient> {
  const c = await connect(gw.url, opts);
  clients.push(c);
  return c;
}

async function collect(it: AsyncIterable<ServerMessage>): Promise<ServerMessage[]> {
  const out: ServerMessage[] = [];
  for await (const m of it) out.push(m);
  return out;
}


beforeEach(async () => {
  gw = await startFakeGateway();
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await gw.close();
});

describe('connect', () => {
  it('sends hello and resolves with the ready frame', async () => {
    const c = await open({ client: 'sdk-test', options: { system_prompt: 'Be brief.' } });
    expect(c.sessionId).toBe('s1');
    expect(c.resumeToken).toBe('tok-1');
    expect(c.ready.models[0]?.id).toBe('llama-2-7b-chat');
    expect(c.subprotocol).toBe('vlp.v1.msgpack');
    expect(c.lastSeq).toBe(1);
    expect(gw.subprotocols).toEqual(['vlp.v1.msgpack']);
    expect(gw.received[0]).toEqual({ t: 'hello', client: 'sdk-test', options: { system_prompt: 'Be brief.' } });
  });

  it('rejects with the error frame as a typed error', async () => {
    const err = await clientRejection(connect(gw.url, { client: 'reject' }));
    expect(err.code).toBe('SERVER_AT_CAPACITY');
    expect(err.message).toBe('too many sessions');
    expect(err.retryable).toBe(true);
  });

  it('rejects with CLIENT_CLOSED when the socket closes before ready', async () => {
    const err = await clientRejection(connect(gw.url, { client: 'close' }));
    expect(err.code).toBe('CLIENT_CLOSED');
    expect(err.closeCode).toBe(4000);
  });

  it('rejects with CLIENT_CONNECT_FAILED when nothing listens', async () => {
    const url = gw.url;
    await gw.close();
    const err = await clientRejection(connect(url, { connectTimeoutMs: 2_000 }));
    expect(err.code).toBe('CLIENT_CONNECT_FAILED');
    expect(err.retryable).toBe(true);
  });
});

describe('ask', () => {
  it('streams the turn frames in order and ends on gen.done', async () => {
    const c = await open();
    const turn = c.ask('What is the capital of France?', { params: { max_new_tokens: 16 } });
    expect(turn.id).toBe('t1');
    const frames = await collect(turn);
    expect(frames.map((f) => f.t)).toEqual(['turn.started', ...TOKENS.map(() => 'gen.token'), 'gen.done']);
    const tokens = frames.filter((f) => f.t === 'gen.token');
    expect(tokens.map((f) => f.i)).toEqual(TOKENS.map((_, i) => i));
    expect(frames.every((f) => 'turn' in f && f.turn === 't1')).toBe(true);
    expect(gw.received[1]).toEqual({ t: 'turn.start', id: 't1', text: 'What is the capital of France?', params: { max_new_tokens: 16 } });
    expect(c.ask('again').id).toBe('t2');
  });

  it('text() concatenates the tokens', async () => {
    const c = await open();
    expect(await c.ask('What is the capital of France?').text()).toBe('The capital of France is Paris.');
    expect(await c.ask('And again?', { id: 'custom' }).text()).toBe(TOKENS.join(''));
  });

  it('cancel() ends the stream with turn.cancelled within a time bound', async () => {
    const c = await open();
    const turn = c.ask('SLOW');
    const frames: ServerMessage[] = [];
    let cancelledAt = 0;
    for await (const f of turn) {
      frames.push(f);
      if (f.t === 'gen.token' && cancelledAt === 0) {
        cancelledAt = performance.now();
        turn.cancel();
      }
    }
    expect(performance.now() - cancelledAt).toBeLessThan(500);
    expect(frames.at(-1)).toMatchObject({ t: 'turn.cancelled', turn: 't1', reason: 'client' });
    expect(gw.received).toContainEqual({ t: 'turn.cancel', id: 't1' });
  });

  it('leaving the loop early cancels the turn', async () => {
    const c = await open();
    for await (const f of c.ask('SLOW')) if (f.t === 'gen.token') break;
    await expect.poll(() => gw.received.some((m) => m.t === 'turn.cancel')).toBe(true);
    expect(gw.received.at(-1)).toEqual({ t: 'turn.cancel', id: 't1' });
    expect(await c.ask('next').text()).toBe(TOKENS.join(''));
  });

  it('client.cancel() without an id cancels the running turn', async () => {
    const c = await open();
    const turn = c.ask('SLOW');
    const text = turn.text();
    await new Promise((r) => setTimeout(r, 50));
    expect(c.cancel()).toBe('ok');
    expect(await text).toMatch(/^The/);
    expect(gw.received).toContainEqual({ t: 'turn.cancel' });
  });

  it('an error frame for the turn ends the stream; text() rejects with a typed error', async () => {
    const c = await open();
    const frames = await collect(c.ask('ERROR'));
    expect(frames).toHaveLength(1);
    expect(frames[0]).toMatchObject({ t: 'error', code: 'UPSTREAM_OVERLOADED', turn: 't1' });
    const err = await clientRejection(c.ask('ERROR').text());
    expect(err.code).toBe('UPSTREAM_OVERLOADED');
    expect(err.retryable).toBe(true);
    expect(err.turn).toBe('t2');
  });

  it('a fatal error and close mid-turn fail the handle with that code', async () => {
    const c = await open();
    const err = await clientRejection(c.ask('FATAL').text());
    expect(err.code).toBe('SERVER_SHUTTING_DOWN');
    expect(err.closeCode).toBe(1001);
    expect(await c.closed).toMatchObject({ code: 1001 });
    expect(c.isOpen).toBe(false);
  });
});

describe('vlp.v1.json', () => {
  it('speaks the JSON mirror in text frames', async () => {
    const c = await open({ subprotocol: 'vlp.v1.json' });
    expect(c.subprotocol).toBe('vlp.v1.json');
    expect(await c.ask('What is the capital of France?').text()).toBe('The capital of France is Paris.');
    expect(c.putImage('img1', new Uint8Array([1, 2, 3]))).toBe('ok');
    expect(await c.ping()).toBeGreaterThanOrEqual(0);
    expect(gw.subprotocols).toEqual(['vlp.v1.json']);
    expect(gw.binaryFrames.every((b) => !b)).toBe(true);
    expect(gw.received).toContainEqual({ t: 'image.put', id: 'img1', data: new Uint8Array([1, 2, 3]) });
  });
});

describe('seq, acks and gaps', () => {
  it('tracks the highest seq and acks every 64 frames', async () => {
    const c = await open();
    await c.ask('MANY:200').text();
    // ready(1) + turn.started + 200 tokens + gen.done = 203; turn.metrics follows.
    await expect.poll(() => c.lastSeq).toBe(204);
    await expect.poll(() => gw.received.filter((m) => m.t === 'ack').length).toBe(3);
    const acks = gw.received.flatMap((m) => (m.t === 'ack' ? [m.seq] : []));
    expect(acks).toEqual([65, 129, 193]);
    expect(c.gaps).toBe(0);
  });

  it('sends no acks when autoAck is false', async () => {
    const c = await open({ autoAck: false });
    await c.ask('MANY:200').text();
    await c.ping();
    expect(gw.received.some((m) => m.t === 'ack')).toBe(false);
  });

  it('counts seq gaps', async () => {
    const c = await open();
    expect(await c.ask('GAP').text()).toBe(TOKENS.join(''));
    expect(c.gaps).toBe(1);
  });

  it('ping() measures a round trip', async () => {
    const c = await open();
    const rtt = await c.ping();
    expect(rtt).toBeGreaterThanOrEqual(0);
    expect(rtt).toBeLessThan(1_000);
  });
});

describe('events()', () => {
  it('yields every frame after ready, including turn.metrics after gen.done', async () => {
    const c = await open();
    const events = c.events();
    await c.ask('hi').text();
    const seen: string[] = [];
    for await (const m of events) {
      seen.push(m.t);
      if (m.t === 'turn.metrics') break;
    }
    expect(seen).toEqual(['turn.started', ...TOKENS.map(() => 'gen.token'), 'gen.done', 'turn.metrics']);
  });

  it('throws CLIENT_SLOW_CONSUMER once a consumer is more than 10,000 frames behind', async () => {
    const c = await open();
    const lagging = c.events();
    await c.ask('MANY:10100').text();
    const err = await clientRejection(lagging.next());
    expect(err.code).toBe('CLIENT_SLOW_CONSUMER');
    expect(err.message).toMatch(/10000 frames/);
    // The session goes on; a fresh iterator works.
    const fresh = c.events();
    await c.ask('hi').text();
    expect((await fresh.next()).value).toMatchObject({ t: 'turn.started' });
  });

  it('ends when the connection closes', async () => {
    const c = await open();
    const events = c.events();
    await c.close();
    expect(await events.next()).toEqual({ value: undefined, done: true });
  });
});

describe('resume', () => {
  it('continues seq and turn numbering; replayed frames reach events()', async () => {
    const first = await open();
    const seen: ServerMessage[] = [];
    await expect(collect(first.ask('DROP'))).rejects.toMatchObject({ code: 'CLIENT_CLOSED' });
    for await (const m of first.events()) seen.push(m);
    // ready(1), turn.started(2), tokens 0-1 (3, 4) arrived; tokens 2-4, gen.done and metrics were lost.
    expect(first.lastSeq).toBe(4);

    const second = await resume(gw.url, first);
    clients.push(second);
    expect(second.ready.resumed).toBe(true);
    expect(second.sessionId).toBe(first.sessionId);
    const replay: ServerMessage[] = [];
    for await (const m of second.events()) {
      replay.push(m);
      if (m.t === 'turn.metrics') break;
    }
    expect(replay.map((m) => m.seq)).toEqual([5, 6, 7, 8, 9]);
    expect(replay.map((m) => m.t)).toEqual(['gen.token', 'gen.token', 'gen.token', 'gen.done', 'turn.metrics']);
    expect(second.lastSeq).toBe(10); // ready was stamped 10, after the replayed frames
    expect(second.gaps).toBe(0);
    expect(gw.received.filter((m) => m.t === 'hello').at(-1)).toEqual({
      t: 'hello',
      resume: { session_id: 's1', token: 'tok-1', last_seq: 4 },
    });
    expect(second.ask('next').id).toBe('t2');
    expect(seen.map((m) => m.t)).toEqual(['turn.started', 'gen.token', 'gen.token']);
  });

  it('rejects with SESSION_RESUME_FAILED for an unknown session', async () => {
    const err = await clientRejection(resume(gw.url, { sessionId: 'nope', resumeToken: 'x', lastSeq: 0, turnCounter: 0 }));
    expect(err.code).toBe('SESSION_RESUME_FAILED');
    expect(err.retryable).toBe(false);
  });
});

describe('voice', () => {
  const PCM16 = { encoding: 'pcm16', sample_rate: 16_000, channels: 1 } as const;
  /** `ms` of 16 kHz PCM16 silence in 100 ms pieces. */
  async function* silence(ms: number): AsyncGenerator<Uint8Array> {
    for (let t = 0; t < ms; t += 100) yield new Uint8Array(3_200);
  }

  it('streamAudio sends audio.start, 20 ms chunks and audio.end; voiceTurns() follows the turn it starts', async () => {
    const c = await open();
    const voice = c.voiceTurns();
    const r = await c.streamAudio(silence(500), { format: PCM16, language: 'en', task: 'transcribe', pace: 'none' });
    expect(r).toEqual({ chunks: 25, bytes: 16_000, audioMs: 500 });
    const first = await voice.next(); // the gateway has had audio.end
    const audio = gw.received.filter((m) => m.t.startsWith('audio.'));
    expect(audio[0]).toEqual({ t: 'audio.start', format: PCM16, language: 'en', task: 'transcribe' });
    expect(audio.at(-1)).toEqual({ t: 'audio.end' });
    expect(audio.slice(1, -1).every((m) => m.t === 'audio.chunk' && m.data.length === 640)).toBe(true);
    expect(first.done).toBe(false);
    const v = first.value as VoiceTurn;
    expect(v).toMatchObject({ id: 'v1', text: 'What is the capital of France?', language: 'en' });
    expect(await v.turn.text()).toBe(TOKENS.join(''));
    await voice.return?.();
  });

  it('followTurn() gets the frames that arrived before it was called', async () => {
    const c = await open();
    const events = c.events();
    await c.streamAudio(silence(200), { format: PCM16, pace: 'none' });
    let final: ServerMessage | undefined;
    for await (const m of events) {
      if (m.t === 'asr.final') final = m;
      if (m.t === 'turn.metrics') break; // the whole turn has arrived
    }
    expect(final).toMatchObject({ t: 'asr.final', turn: 'v1' });
    const frames = await collect(c.followTurn('v1'));
    expect(frames.map((f) => f.t)).toEqual(['turn.started', ...TOKENS.map(() => 'gen.token'), 'gen.done']);
    expect(() => c.followTurn('v1')).toThrow(/already followed/);
  });

  it('followTurn() before asr.final waits for the turn; a superseded turn ends with turn.cancelled', async () => {
    gw.voice.utterances = ['SLOW', 'What is the capital of France?'];
    const c = await open();
    const v1 = c.followTurn('v1');
    const v2 = c.followTurn('v2');
    await c.streamAudio(silence(100), { format: PCM16, pace: 'none' });
    const f1 = await collect(v1);
    expect(f1.at(-1)).toMatchObject({ t: 'turn.cancelled', reason: 'superseded' });
    expect(await v2.text()).toBe(TOKENS.join(''));
  });

  it('keeps a bounded number of unfollowed frames: an overflowed turn throws CLIENT_SLOW_CONSUMER', async () => {
    gw.voice.utterances = ['MANY:300'];
    const c = await open({ maxBacklog: 100 });
    await c.streamAudio(silence(100), { format: PCM16, pace: 'none' });
    await expect.poll(() => c.lastSeq).toBeGreaterThan(300);
    const err = await clientRejection(c.followTurn('v1').text());
    expect(err.code).toBe('CLIENT_SLOW_CONSUMER');
    expect(err.message).toMatch(/dropped before it was followed/);
  });

  it('streamAudio rejects when the gateway refuses the audio.start', async () => {
    const c = await open();
    async function* endless(): AsyncGenerator<Uint8Array> {
      for (;;) yield new Uint8Array(640);
    }
    const err = await clientRejection(c.streamAudio(endless(), { format: { encoding: 'pcm16', sample_rate: 44_100, channels: 1 } }));
    expect(err.code).toBe('AUDIO_FORMAT_UNSUPPORTED');
    gw.voice.asrUnavailable = true;
    expect((await clientRejection(c.streamAudio(endless(), { format: PCM16 }))).code).toBe('AUDIO_ASR_UNAVAILABLE');
  });

  it('streamAudio paces in real time and stops on abort', async () => {
    const c = await open();
    const t0 = performance.now();
    await c.streamAudio(silence(300), { format: PCM16, pace: 2 });
    expect(performance.now() - t0).toBeGreaterThanOrEqual(130); // 15 chunks at 2x: the last is due at 140 ms
    const ac = new AbortController();
    const sending = c.streamAudio(silence(10_000), { format: PCM16, signal: ac.signal });
    setTimeout(() => ac.abort(new Error('user stop')), 50);
    await expect(sending).rejects.toThrow('user stop');
    expect(gw.received.filter((m) => m.t === 'audio.end')).toHaveLength(1); // only the first stream's
  });

  it('streamAudio leaves nothing attached to a long-lived caller signal, and honours one already aborted', async () => {
    const c = await open();
    const app = new AbortController();
    for (let i = 0; i < 20; i++) await c.streamAudio(silence(20), { format: PCM16, pace: 'none', signal: app.signal });
    expect(getEventListeners(app.signal, 'abort')).toHaveLength(0);
    // Node 20's AbortSignal.any records every combined signal on its sources (kDependantSignals)
    // and never forgets them while the source lives; none may have been recorded.
    const dependants = Object.getOwnPropertySymbols(app.signal).find((k) => k.description === 'kDependantSignals');
    const held: unknown = dependants === undefined ? undefined : (app.signal as unknown as Record<symbol, unknown>)[dependants];
    // (Node's internal SafeSet is not an instance of the test context's Set: read its size.)
    expect(typeof held === 'object' && held !== null && 'size' in held ? held.size : 0).toBe(0);
    const gone = new AbortController();
    gone.abort(new Error('already stopped'));
    await expect(c.streamAudio(silence(1_000), { format: PCM16, pace: 'none', signal: gone.signal })).rejects.toThrow('already stopped');
  });

  it('startAudio / sendAudio / endAudio send the messages as given', async () => {
    const c = await open();
    expect(c.startAudio(PCM16, { language: 'zh', task: 'translate' })).toBe('ok');
    expect(c.sendAudio(new Uint8Array([1, 2]))).toBe('ok');
    expect(c.endAudio()).toBe('ok');
    await c.ping();
    expect(gw.received.slice(1, 4)).toEqual([
      { t: 'audio.start', format: PCM16, language: 'zh', task: 'translate' },
      { t: 'audio.chunk', data: new Uint8Array([1, 2]) },
      { t: 'audio.end' },
    ]);
  });
});

describe('watches', () => {
  it('watch() sends watch.start; the enter event reaches events(), and followTurn() gets the turn it started even after all its frames arrived', async () => {
    const c = await open();
    const events = c.events();
    expect(c.putImage('cam-0', new Uint8Array([1, 2, 3]))).toBe('ok');
    expect(c.watch({ id: 'door', labels: ['dog'], interval_ms: 500, ask: 'A {label} came in. What is it doing?' })).toBe('ok');
    let enter: WatchEventMsg | undefined;
    for await (const m of events) {
      if (m.t === 'watch.event') enter = m;
      if (m.t === 'turn.metrics') break; // the whole turn has arrived before anyone follows it
    }
    expect(enter).toMatchObject({ watch: 'door', kind: 'enter', label: 'dog', count: 1, image: 'cam-0', turn: 'w1' });
    const frames = await collect(c.followTurn(enter?.turn ?? ''));
    expect(frames.map((f) => f.t)).toEqual(['turn.started', ...TOKENS.map(() => 'gen.token'), 'gen.done']);
    expect(frames.every((f) => 'turn' in f && f.turn === 'w1')).toBe(true);
    expect(gw.received).toContainEqual({ t: 'watch.start', id: 'door', labels: ['dog'], interval_ms: 500, ask: 'A {label} came in. What is it doing?' });
    expect(() => c.followTurn('w1')).toThrow(/already followed/);
  });

  it('a watch without ask sends only events; options left undefined are not sent; unwatch() sends watch.stop, and an id not running gets INPUT_WATCH_NOT_FOUND', async () => {
    const c = await open({ subprotocol: 'vlp.v1.json' });
    const events = c.events();
    expect(c.watch({ id: 'cam', labels: ['cat'], ask: undefined, cooldown_ms: undefined })).toBe('ok');
    const first = await events.next();
    expect(first.value).toMatchObject({ t: 'watch.event', watch: 'cam', kind: 'enter', label: 'cat', image: 'none' });
    expect(first.value).not.toHaveProperty('turn');
    const sent = gw.received.find((m) => m.t === 'watch.start');
    expect(sent !== undefined && Object.keys(sent).sort()).toEqual(['id', 'labels', 't']);
    expect(c.unwatch('cam')).toBe('ok');
    expect(c.unwatch('cam')).toBe('ok'); // sent; the gateway refuses it: the watch is gone
    const refused = await events.next();
    expect(refused.value).toMatchObject({ t: 'error', code: 'INPUT_WATCH_NOT_FOUND', ref: 'watch.stop', fatal: false });
    expect(gw.received.filter((m) => m.t === 'watch.stop')).toEqual([
      { t: 'watch.stop', id: 'cam' },
      { t: 'watch.stop', id: 'cam' },
    ]);
    await c.close();
    expect(c.watch({ id: 'cam', labels: ['cat'] })).toBe('dropped');
    expect(c.unwatch('cam')).toBe('dropped');
  });

  it('an enter while a turn runs says turn_skipped and starts no turn; refusals of watch.start reach events()', async () => {
    const c = await open();
    const events = c.events();
    const running = c.ask('SLOW');
    c.watch({ id: 'a', labels: ['person'], ask: 'Who is it?' });
    c.watch({ id: 'b', labels: ['unicorn'] }); // never seen
    c.watch({ id: 'c', labels: ['car'] }); // a third watch
    await c.ping();
    running.cancel();
    await running.text();
    const seen: ServerMessage[] = [];
    for await (const m of events) {
      seen.push(m);
      if (m.t === 'turn.cancelled') break;
    }
    const watchFrames = seen.filter((m) => m.t === 'watch.event' || m.t === 'error');
    expect(watchFrames).toHaveLength(2);
    expect(watchFrames[0]).toMatchObject({ t: 'watch.event', watch: 'a', label: 'person', turn_skipped: 'busy' });
    expect(watchFrames[0]).not.toHaveProperty('turn');
    expect(watchFrames[1]).toMatchObject({ t: 'error', code: 'INPUT_WATCH_LIMIT', ref: 'watch.start' });
    expect(seen.some((m) => m.t === 'turn.started' && m.turn !== 't1')).toBe(false);
  });
});
