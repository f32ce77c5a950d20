// Integration, both transports: the Node SDK's watch() / unwatch() against the real gateway and the
// simulated Grounded-SAM (it finds a "dog" in every image). The enter event reaches events(),
// followTurn() streams the vision turn (w1) the watch's `ask` started, and unwatch() stops the watch:
// the next frame is not examined, and stopping it again (an id that runs no watch) gets
// INPUT_WATCH_NOT_FOUND.
import sharp from 'sharp';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connect, type VlpClient } from '../clients/node/sdk.ts';
import type { ErrorMsg, GenDoneMsg, GenTokenMsg, ServerMessage, WatchEventMsg } from '../protocol/messages.ts';
import { startStack, TRANSPORTS, type Stack } from './harness.ts';

/** A small PNG camera frame (solid colour `i`). */
async function frame(i: number): Promise<Uint8Array> {
  return new Uint8Array(await sharp({ create: { width: 96, height: 64, channels: 3, background: { r: i * 40, g: 120, b: 200 - i * 40 } } }).png().toBuffer());
}

/** Reads `events` up to the first frame matching `pred`; the frames read on the way go to `seen`. */
async function nextMatching<T extends ServerMessage>(
  events: AsyncIterator<ServerMessage>,
  pred: (m: ServerMessage) => m is T,
  seen: ServerMessage[],
  timeoutMs = 5000,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no matching frame within ${timeoutMs} ms; got ${seen.map((m) => m.t).join(',')}`)), timeoutMs);
  });
  try {
    for (;;) {
      const r = await Promise.race([events.next(), timeout]);
      if (r.done === true) throw new Error(`events() ended; got ${seen.map((m) => m.t).join(',')}`);
      seen.push(r.value);
      if (pred(r.value)) return r.value;
    }
  } finally {
    clearTimeout(timer);
  }
}

const isWatchEvent = (m: ServerMessage): m is WatchEventMsg => m.t === 'watch.event';
const isError = (m: ServerMessage): m is ErrorMsg => m.t === 'error';

describe.each(TRANSPORTS)('Node SDK watches on %s', (transport) => {
  let stack: Stack;
  const clients: VlpClient[] = [];
  beforeAll(async () => {
    stack = await startStack(transport);
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
  });
  afterAll(async () => {
    await stack.close();
  });

  it('watch() → an enter event in events() → the ask turn w1 streams through followTurn(); unwatch() stops the watch', async () => {
    const c = await connect(stack.url, { client: 'sdk-watch-test' });
    clients.push(c);
    const events = c.events();
    const seen: ServerMessage[] = [];
    const requests: number[] = [];
    const onRequest = (e: { id: number }): void => void requests.push(e.id);
    stack.gsam.events.on('request', onRequest);
    try {
      expect(c.putImage('cam-0', await frame(0))).toBe('ok');
      const sent = c.watch({ id: 'pets', labels: ['Dog'], interval_ms: 250, leave_frames: 1, ask: 'A {label} came in. What is the {label} doing?', cooldown_ms: 60_000 });
      expect(sent).toBe('ok');

      const enter = await nextMatching(events, isWatchEvent, seen);
      expect(enter).toMatchObject({ watch: 'pets', kind: 'enter', label: 'dog', image: 'cam-0', size: [64, 96], turn: 'w1' });
      expect(enter.count).toBeGreaterThanOrEqual(1);
      expect(enter.boxes).toHaveLength(enter.count);
      expect(requests.length).toBeGreaterThanOrEqual(1);

      // The turn the event names, followed after the event was read: its frames were kept.
      const frames: ServerMessage[] = [];
      for await (const f of c.followTurn(enter.turn ?? '')) frames.push(f);
      expect(frames.find((f) => f.t === 'turn.started')).toMatchObject({ turn: 'w1', kind: 'vqa', model: 'idefics-9b-instruct' });
      expect(frames.every((f) => 'turn' in f && f.turn === 'w1')).toBe(true);
      const tokens = frames.filter((f): f is GenTokenMsg => f.t === 'gen.token');
      const done = frames.at(-1) as GenDoneMsg;
      expect(done).toMatchObject({ t: 'gen.done', turn: 'w1' });
      expect(tokens.length).toBeGreaterThan(1);
      expect(tokens.reduce((n, t) => n + t.n, 0)).toBe(done.tokens);
      expect(tokens.map((t) => t.text).join('').trim()).toBe(done.text.trim()); // the streamed text is the answer

      // Stopped: a new frame is not examined (the watch's interval is 250 ms).
      expect(c.unwatch('pets')).toBe('ok');
      await c.ping(); // the gateway has handled the watch.stop
      const before = requests.length;
      expect(c.putImage('cam-1', await frame(1))).toBe('ok');
      await new Promise((r) => setTimeout(r, 600));
      expect(requests.length).toBe(before);

      // The watch is gone: stopping it again, like any id that runs no watch, is refused.
      expect(c.unwatch('pets')).toBe('ok');
      const refused = await nextMatching(events, isError, seen);
      expect(refused).toMatchObject({ code: 'INPUT_WATCH_NOT_FOUND', ref: 'watch.stop', fatal: false });
      expect(seen.filter((m) => m.t === 'watch.event')).toEqual([enter]);
      expect(seen.filter((m) => m.t === 'error')).toEqual([refused]);
      expect(c.isOpen).toBe(true);
    } finally {
      stack.gsam.events.off('request', onRequest);
    }
  });
});
