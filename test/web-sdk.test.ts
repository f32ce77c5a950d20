// The browser SDK's connection state machine, driven deterministically through a fake WebSocket
// (the Chromium tests cover the real browser): the handshake, resume after a drop with duplicate
// frames dropped, close() while resuming, giving up after resumes that make no progress, a refused
// resume, senders while resuming, and watches (watch/unwatch, watch.event to the listeners).
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createServerCodec } from '../protocol/codec.ts';
import type { ClientMessage, ReadyMsg, ServerMessage, WatchEventMsg } from '../protocol/messages.ts';
import { VlpBrowserClient, VlpBrowserError } from '../clients/web/src/sdk.ts';

const serverCodec = createServerCodec('vlp.v1.msgpack');

/** A WebSocket the test drives: open(), frames from the "server", drop(). */
class FakeSocket {
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSING = 2;
  static readonly CLOSED = 3;
  static made: FakeSocket[] = [];
  readyState = FakeSocket.CONNECTING;
  binaryType = 'blob';
  bufferedAmount = 0;
  onopen: (() => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onclose: ((ev: { code: number; reason: string }) => void) | null = null;
  onerror: (() => void) | null = null;
  readonly sent: ClientMessage[] = [];

  constructor(readonly url: string) {
    FakeSocket.made.push(this);
  }

  send(data: Uint8Array): void {
    const r = serverCodec.decode(data, true);
    if (!r.ok) throw new Error(`client sent an undecodable frame: ${r.message}`);
    this.sent.push(r.msg);
  }

  close(code = 1000, reason = ''): void {
    if (this.readyState === FakeSocket.CLOSED) return;
    this.readyState = FakeSocket.CLOSED;
    queueMicrotask(() => this.onclose?.({ code, reason }));
  }

  open(): void {
    this.readyState = FakeSocket.OPEN;
    this.onopen?.();
  }

  frame(msg: ServerMessage): void {
    const bytes = serverCodec.encode(msg);
    if (typeof bytes === 'string') throw new Error('the msgpack codec encodes bytes');
    this.onmessage?.({ data: bytes.slice().buffer });
  }

  drop(code = 1006): void {
    this.readyState = FakeSocket.CLOSED;
    this.onclose?.({ code, reason: '' });
  }
}

const ready = (seq: number, resumed = false): ReadyMsg => ({
  t: 'ready',
  seq,
  session_id: 's_1',
  resume_token: resumed ? `rt_${seq}` : 'rt_first',
  resumed,
  protocol: 1,
  models: [],
  limits: { max_frame_bytes: 1 << 20, max_text_chars: 1000, max_audio_chunk_bytes: 65536, max_image_bytes: 1 << 20, resume_window_ms: 30_000, replay_frames: 100 },
});

const token = (seq: number, text = 'x'): ServerMessage => ({ t: 'gen.token', seq, turn: 't1', i: seq, n: 1, text });

const last = (): FakeSocket => {
  const s = FakeSocket.made.at(-1);
  if (!s) throw new Error('no socket');
  return s;
};

async function connected(): Promise<{ client: VlpBrowserClient; frames: ServerMessage[]; states: string[]; closes: number[] }> {
  const p = VlpBrowserClient.connect('ws://gw.test/v1/ws', { token: 'tok' });
  await vi.advanceTimersByTimeAsync(0);
  const s = last();
  s.open();
  expect(s.sent[0]).toMatchObject({ t: 'hello' });
  s.frame(ready(1));
  const client = await p;
  const frames: ServerMessage[] = [];
  const states: string[] = [];
  const closes: number[] = [];
  client.onFrame((m) => frames.push(m));
  client.onState((st) => states.push(st));
  client.onClose((code) => closes.push(code));
  return { client, frames, states, closes };
}

describe('browser SDK connection state', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    FakeSocket.made = [];
    vi.stubGlobal('WebSocket', FakeSocket);
  });
  afterEach(() => {
    vi.unstubAllGlobals();
    vi.useRealTimers();
  });

  it('connects with the token in the URL, and rejects with the gateway\'s code on an error before ready', async () => {
    const { client } = await connected();
    expect(new URL(FakeSocket.made[0]?.url ?? '').searchParams.get('token')).toBe('tok');
    expect(client.ready.session_id).toBe('s_1');

    const p = VlpBrowserClient.connect('ws://gw.test/v1/ws', { options: { model: 'nope' } });
    const failed = expect(p).rejects.toMatchObject({ code: 'SESSION_OPTION_INVALID' });
    await vi.advanceTimersByTimeAsync(0);
    last().open();
    last().frame({ t: 'error', seq: 0, code: 'SESSION_OPTION_INVALID', message: 'unknown model', retryable: false, fatal: false });
    await failed;
    await expect(VlpBrowserClient.connect('not a url')).rejects.toBeInstanceOf(VlpBrowserError);
  });

  it('resumes after a drop with the latest resume token and last seq, and drops replayed duplicates', async () => {
    const { client, frames, states } = await connected();
    last().frame(token(2, 'a'));
    last().frame(token(3, 'b'));
    last().drop(1006);
    expect(client.state).toBe('resuming');
    expect(client.ask('hi')).toBeUndefined(); // nothing is sent while resuming
    await vi.advanceTimersByTimeAsync(250);
    const s2 = last();
    expect(FakeSocket.made).toHaveLength(2);
    s2.open();
    expect(s2.sent[0]).toEqual({ t: 'hello', client: 'vlp-browser', resume: { session_id: 's_1', token: 'rt_first', last_seq: 3 } });
    s2.frame(ready(5, true));
    await vi.advanceTimersByTimeAsync(0);
    expect(client.state).toBe('open');
    s2.frame(token(3, 'b')); // a duplicate: dropped
    s2.frame(token(4, 'c'));
    s2.frame(token(6, 'd'));
    expect(frames.map((f) => (f.t === 'gen.token' ? f.text : f.t))).toEqual(['a', 'b', 'c', 'd']);
    expect(states).toEqual(['resuming', 'open']);
    expect(client.ask('hi')).toBe('t1');
    // The next resume uses the rotated token.
    s2.drop(1006);
    await vi.advanceTimersByTimeAsync(250);
    last().open();
    expect(last().sent[0]).toMatchObject({ resume: { token: 'rt_5', last_seq: 6 } });
  });

  it('close() while resuming ends at once and opens nothing more', async () => {
    const { client, closes } = await connected();
    last().drop(1006);
    client.close();
    expect(closes).toEqual([1000]);
    expect(client.state).toBe('closed');
    await vi.advanceTimersByTimeAsync(10_000);
    expect(FakeSocket.made).toHaveLength(1);
  });

  it('gives up with 4001 when the resume is refused, and with 1006 after resumes that deliver nothing', async () => {
    const refused = await connected();
    last().drop(1006);
    await vi.advanceTimersByTimeAsync(250);
    last().open();
    last().frame({ t: 'error', seq: 0, code: 'SESSION_RESUME_FAILED', message: 'gone', retryable: false, fatal: true });
    await vi.advanceTimersByTimeAsync(0);
    expect(refused.closes).toEqual([4001]);

    const flapping = await connected();
    for (let i = 0; i < 5; i++) {
      last().drop(1006);
      await vi.advanceTimersByTimeAsync(5000);
      if (flapping.client.state === 'closed') break;
      last().open();
      last().frame(ready(2 + i, true));
      await vi.advanceTimersByTimeAsync(0);
    }
    last().drop(1006);
    await vi.advanceTimersByTimeAsync(5000);
    expect(flapping.closes).toEqual([1006]);
    expect(flapping.client.state).toBe('closed');
  });

  it('close() during a resume handshake in flight closes that socket and ends at once', async () => {
    const { client, closes } = await connected();
    last().drop(1006);
    await vi.advanceTimersByTimeAsync(250);
    const pending = last();
    expect(FakeSocket.made).toHaveLength(2);
    client.close(); // before the pending socket opened
    expect(closes).toEqual([1000]);
    await vi.advanceTimersByTimeAsync(0);
    expect(pending.readyState).toBe(FakeSocket.CLOSED);
    await vi.advanceTimersByTimeAsync(20_000);
    expect(FakeSocket.made).toHaveLength(2);
  });

  it('a token function that fails while resuming ends the session (no retry storm)', async () => {
    let calls = 0;
    const p = VlpBrowserClient.connect('ws://gw.test/v1/ws', {
      token: () => {
        calls++;
        if (calls > 1) throw new Error('token service down');
        return 'tok';
      },
    });
    await vi.advanceTimersByTimeAsync(0);
    last().open();
    last().frame(ready(1));
    const client = await p;
    const closes: [number, string][] = [];
    client.onClose((code, reason) => closes.push([code, reason]));
    last().drop(1006);
    await vi.advanceTimersByTimeAsync(1000);
    expect(closes).toEqual([[1006, 'TOKEN']]);
    expect(calls).toBe(2);
    expect(FakeSocket.made).toHaveLength(1);
  });

  it('watch() and unwatch() send watch.start / watch.stop; watch.event and the turn it names reach the listeners; both return false while resuming', async () => {
    const { client, frames } = await connected();
    const s = last();
    expect(client.watch({ id: 'door', labels: ['person', 'red car'], interval_ms: 500, ask: 'A {label} came in.', cooldown_ms: undefined })).toBe(true);
    expect(client.unwatch('door')).toBe(true);
    expect(s.sent.slice(1)).toEqual([
      { t: 'watch.start', id: 'door', labels: ['person', 'red car'], interval_ms: 500, ask: 'A {label} came in.' },
      { t: 'watch.stop', id: 'door' },
    ]);
    expect(s.sent[1]).not.toHaveProperty('cooldown_ms'); // undefined options are not sent
    const enter: WatchEventMsg = { t: 'watch.event', seq: 2, watch: 'door', kind: 'enter', label: 'person', count: 1, image: 'cam-3', size: [480, 640], boxes: [{ id: 0, label: 'person', score: 0.8, box: [1, 2, 30, 40] }], turn: 'w1' };
    s.frame(enter);
    s.frame({ t: 'turn.started', seq: 3, turn: 'w1', kind: 'vqa', model: 'idefics-9b-instruct' });
    s.frame({ t: 'watch.event', seq: 4, watch: 'door', kind: 'leave', label: 'person', count: 0, image: 'cam-0', size: [480, 640], boxes: [] });
    expect(frames.map((f) => f.t)).toEqual(['watch.event', 'turn.started', 'watch.event']);
    expect(frames[0]).toEqual(enter);
    s.drop(1006);
    expect(client.state).toBe('resuming');
    expect(client.watch({ id: 'door', labels: ['dog'] })).toBe(false);
    expect(client.unwatch('door')).toBe(false);
    expect(s.sent).toHaveLength(3);
    client.close();
  });

  it('does not resume after a normal close or a non-resumable code', async () => {
    const { closes } = await connected();
    last().drop(4003);
    await vi.advanceTimersByTimeAsync(5000);
    expect(closes).toEqual([4003]);
    expect(FakeSocket.made).toHaveLength(1);
  });
});
