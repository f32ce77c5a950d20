// SessionWatches against a scripted segmenter and a recording host: scheduling (interval, one
// detection in flight, the newest frame wins), events, ask turns (busy, cooldown), one error per
// failure episode, and stop/close closing the detection in flight.
import { describe, expect, it } from 'vitest';
import pino from 'pino';
import { VlpError, type ErrorCode } from '../../protocol/errors.ts';
import type { ServerPayload, WatchStartMsg } from '../../protocol/messages.ts';
import type { SegmentBox, SegmentEvent, SegmentRequest, SegmenterBackend } from '../backends/segmenter-port.ts';
import { ConfigSchema } from '../config/schema.ts';
import type { StoredImage } from '../images/types.ts';
import { createMetrics } from '../observability/metrics.ts';
import type { GatewayContext } from './context.ts';
import { SessionWatches, type WatchHost } from './watches.ts';

type Answer = SegmentBox[] | VlpError | 'hang';

/** Answers each request with the boxes scripted for its image id (the image bytes hold the id). */
class ScriptedSegmenter implements SegmenterBackend {
  readonly id = 'scripted';
  readonly capabilities = { masks: true, hq: false };
  readonly requests: { image: string; phrases: string[]; threshold: number; at: number }[] = [];
  readonly aborted: string[] = [];
  /** Requests whose iteration ended before the `done` event (the watch left after the boxes). */
  leftEarly = 0;
  constructor(
    private readonly script: (image: string) => Answer,
    private readonly delayMs = 5,
  ) {}

  segment(req: SegmentRequest): AsyncIterable<SegmentEvent> {
    const image = new TextDecoder().decode(req.image.bytes);
    this.requests.push({ image, phrases: req.phrases, threshold: req.boxThreshold, at: performance.now() });
    const answer = this.script(image);
    const aborted = this.aborted;
    const self = { delayMs: this.delayMs };
    const onLeftEarly = (): void => {
      this.leftEarly++;
    };
    return (async function* () {
      let finished = false;
      try {
        await new Promise<void>((resolve, reject) => {
          const onAbort = (): void => {
            aborted.push(image);
            reject(Object.assign(new Error('aborted'), { name: 'AbortError' }));
          };
          if (req.signal.aborted) return onAbort();
          req.signal.addEventListener('abort', onAbort, { once: true });
          if (answer !== 'hang') setTimeout(resolve, self.delayMs);
        });
        if (answer instanceof VlpError) throw answer;
        if (answer === 'hang') return;
        yield { kind: 'boxes', size: [48, 64], boxes: answer };
        yield { kind: 'mask', id: 0, label: 'x', score: 0.9, rle: { size: [48, 64], counts: '0' } };
        yield { kind: 'done', boxes: answer.length, masks: 1 };
        finished = true;
      } finally {
        if (!finished && !(answer instanceof VlpError)) onLeftEarly();
      }
    })();
  }
  probe(): Promise<boolean> {
    return Promise.resolve(true);
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

const box = (label: string, id = 0): SegmentBox => ({ id, label, score: 0.8, box: [1, 2, 30, 40] });
const image = (id: string): StoredImage => ({ bytes: new TextEncoder().encode(id), mime: 'image/png', width: 64, height: 48 });

class Host implements WatchHost {
  readonly id = 'session-under-test';
  readonly frames: ServerPayload[] = [];
  readonly errors: { code: ErrorCode; message: string; ref: string | undefined }[] = [];
  readonly turns: { text: string; image: string; turn: string }[] = [];
  readonly ctx: GatewayContext;
  latestImageId: string | undefined;
  /** What startWatchTurn answers instead of starting a turn. */
  busy: 'busy' | VlpError | undefined;
  private readonly images = new Map<string, StoredImage>();

  constructor(readonly segmenter: SegmenterBackend | undefined, watchesPerSession = 2) {
    this.ctx = {
      config: ConfigSchema.parse({ segmenter: { watchesPerSession } }),
      metrics: createMetrics({ defaultMetrics: false }),
      log: pino({ level: 'silent' }),
      segmenter,
    } as unknown as GatewayContext;
  }
  put(id: string): void {
    this.images.set(id, image(id));
    this.latestImageId = id;
  }
  send(p: ServerPayload): void {
    this.frames.push(p);
  }
  sendError(code: ErrorCode, message: string, extra: { ref?: string } = {}): void {
    this.errors.push({ code, message, ref: extra.ref });
  }
  peekImage(imageId: string): StoredImage | undefined {
    return this.images.get(imageId);
  }
  startWatchTurn(text: string, imageId: string, announce: (turn: string) => void): 'busy' | VlpError | undefined {
    if (this.busy) return this.busy;
    const turn = `w${this.turns.length + 1}`;
    announce(turn);
    this.turns.push({ text, image: imageId, turn });
    return undefined;
  }
  events(): Extract<ServerPayload, { t: 'watch.event' }>[] {
    return this.frames.filter((f): f is Extract<ServerPayload, { t: 'watch.event' }> => f.t === 'watch.event');
  }
}

const start = (over: Partial<WatchStartMsg> = {}): WatchStartMsg => ({ t: 'watch.start', id: 'w', labels: ['dog'], interval_ms: 30, leave_frames: 1, ...over });
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
async function until(cond: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not reached');
    await sleep(2);
  }
}

describe('SessionWatches', () => {
  it('starts on the latest image, reports enter and leave with the frame, and leaves each request after its boxes', async () => {
    const seg = new ScriptedSegmenter((img) => (img.startsWith('dog') ? [box('dog'), box('dog', 1)] : []));
    const host = new Host(seg);
    host.put('dog-1');
    const watches = new SessionWatches(host);
    watches.start(start());
    await until(() => host.events().length === 1);
    expect(host.events()[0]).toEqual({ t: 'watch.event', watch: 'w', kind: 'enter', label: 'dog', count: 2, image: 'dog-1', size: [48, 64], boxes: [box('dog'), box('dog', 1)] });
    host.put('empty-2');
    watches.frame('empty-2');
    await until(() => host.events().length === 2);
    expect(host.events()[1]).toMatchObject({ kind: 'leave', label: 'dog', count: 0, image: 'empty-2', boxes: [] });
    expect(seg.requests.map((r) => [r.image, r.phrases, r.threshold])).toEqual([['dog-1', ['dog'], 0.5], ['empty-2', ['dog'], 0.5]]);
    await until(() => seg.leftEarly === 2); // no masks were read
    expect(watches.size).toBe(1);
    watches.close();
    expect(watches.size).toBe(0);
  });

  it('runs one detection at a time, at most once per interval, on the newest frame (older waiting frames are skipped)', async () => {
    const seg = new ScriptedSegmenter(() => []);
    const host = new Host(seg);
    const watches = new SessionWatches(host);
    watches.start(start({ interval_ms: 120 }));
    for (let i = 1; i <= 6; i++) {
      host.put(`f${i}`);
      watches.frame(`f${i}`);
    }
    await until(() => seg.requests.length === 2, 3000);
    await sleep(60);
    // f1 ran at once; f2..f5 were replaced while waiting; f6 ran one interval later.
    expect(seg.requests.map((r) => r.image)).toEqual(['f1', 'f6']);
    expect(seg.requests[1]!.at - seg.requests[0]!.at).toBeGreaterThanOrEqual(115);
    const skipped = await host.ctx.metrics.watchFramesSkippedTotal.get();
    expect(skipped.values[0]?.value).toBe(4);
    watches.close();
  });

  it('asks about the frame on enter, at most once per cooldown, and says why when it did not', async () => {
    const seg = new ScriptedSegmenter((img) => (img.includes('cat') ? [box('cat')] : []));
    const host = new Host(seg);
    const watches = new SessionWatches(host);
    watches.start(start({ labels: ['cat'], ask: 'A {label} appeared: what is the {label} doing?', cooldown_ms: 60_000 }));
    const show = async (id: string, events: number): Promise<void> => {
      host.put(id);
      watches.frame(id);
      await until(() => host.events().length === events);
    };
    await show('cat-1', 1);
    expect(host.events()[0]).toMatchObject({ kind: 'enter', turn: 'w1' });
    expect(host.events()[0]).not.toHaveProperty('turn_skipped');
    expect(host.turns).toEqual([{ text: 'A cat appeared: what is the cat doing?', image: 'cat-1', turn: 'w1' }]);
    await show('none-2', 2); // leave: never a turn
    expect(host.events()[1]).not.toHaveProperty('turn');
    await show('cat-3', 3);
    expect(host.events()[2]).toMatchObject({ kind: 'enter', turn_skipped: 'cooldown' });
    expect(host.events()[2]).not.toHaveProperty('turn');
    watches.close();

    const busyHost = new Host(seg);
    busyHost.busy = 'busy';
    busyHost.put('cat-9');
    const w2 = new SessionWatches(busyHost);
    w2.start(start({ labels: ['cat'], ask: 'Describe it.' }));
    await until(() => busyHost.events().length === 1);
    expect(busyHost.events()[0]).toMatchObject({ kind: 'enter', turn_skipped: 'busy' });
    expect(busyHost.turns).toEqual([]);
    w2.close();
  });

  it('reports a refused ask (turn_skipped refused, then the error) without using up the cooldown', async () => {
    const seg = new ScriptedSegmenter((img) => (img.includes('cat') ? [box('cat')] : []));
    const host = new Host(seg);
    host.busy = new VlpError('INPUT_MODEL_NOT_VISION', 'model x is text-only');
    host.put('cat-1');
    const watches = new SessionWatches(host);
    watches.start(start({ labels: ['cat'], ask: 'Describe the {label}.', cooldown_ms: 60_000 }));
    await until(() => host.events().length === 1);
    expect(host.events()[0]).toMatchObject({ kind: 'enter', turn_skipped: 'refused' });
    expect(host.errors).toEqual([{ code: 'INPUT_MODEL_NOT_VISION', message: 'watch w: its ask could not start a turn: model x is text-only', ref: 'watch.start' }]);
    host.busy = undefined;
    for (const id of ['none-2', 'cat-3']) {
      host.put(id);
      watches.frame(id);
      await until(() => host.events().length === (id === 'none-2' ? 2 : 3));
    }
    expect(host.events()[2]).toMatchObject({ kind: 'enter', turn: 'w1' }); // no cooldown from the refused one
    watches.close();
  });

  it('puts a label into the ask as plain text ($ patterns are not replacement patterns)', async () => {
    const seg = new ScriptedSegmenter(() => [box('$&$&')]);
    const host = new Host(seg);
    host.put('f1');
    const watches = new SessionWatches(host);
    watches.start(start({ labels: ['$&$&'], ask: 'Is the {label} {label} there?' }));
    await until(() => host.turns.length === 1);
    expect(host.turns[0]!.text).toBe('Is the $&$& $&$& there?');
    watches.close();
  });

  it('a replacing or new watch waits interval_ms from the session\'s last detection', async () => {
    const seg = new ScriptedSegmenter(() => []);
    const host = new Host(seg);
    host.put('f1');
    const watches = new SessionWatches(host);
    watches.start(start({ interval_ms: 200 }));
    await until(() => seg.requests.length === 1);
    watches.start(start({ interval_ms: 200, labels: ['cat'] }));
    watches.stop({ t: 'watch.stop', id: 'w' });
    watches.start(start({ id: 'other', interval_ms: 200 }));
    await until(() => seg.requests.length === 2, 3000);
    expect(seg.requests[1]!.at - seg.requests[0]!.at).toBeGreaterThanOrEqual(195);
    watches.close();
  });

  it('a detection that answers after watch.stop sends nothing', async () => {
    const seg = new ScriptedSegmenter(() => [box('dog')], 60);
    const host = new Host(seg);
    host.put('dog-1');
    const watches = new SessionWatches(host);
    watches.start(start());
    await until(() => seg.requests.length === 1);
    watches.stop({ t: 'watch.stop', id: 'w' });
    await sleep(120);
    expect(seg.aborted).toEqual(['dog-1']);
    expect(host.frames).toEqual([]);
    // Control: the same detection left alone reports the dog.
    const control = new SessionWatches(host);
    control.start(start({ id: 'w2' }));
    await until(() => host.events().length === 1);
    control.close();
  });

  it('with frame_prefix, takes only the images whose id starts with it as frames', async () => {
    const seg = new ScriptedSegmenter(() => [box('dog')]);
    const host = new Host(seg);
    host.put('photo');
    const watches = new SessionWatches(host);
    watches.start(start({ frame_prefix: 'cam-' }));
    await sleep(20);
    expect(seg.requests).toEqual([]); // the latest image is a photo: not a frame
    host.put('photo2');
    expect(watches.frame('photo2')).toBe(false);
    host.put('cam-0');
    expect(watches.frame('cam-0')).toBe(true);
    await until(() => host.events().length === 1);
    expect(seg.requests.map((r) => r.image)).toEqual(['cam-0']);
    watches.close();
    expect(watches.frame('cam-1')).toBe(false); // no watch runs
  });

  it('reports one error per failure episode and goes on with the next frame', async () => {
    const failing = new Set(['bad-1', 'bad-2', 'bad-4']);
    const seg = new ScriptedSegmenter((img) => (failing.has(img) ? new VlpError('UPSTREAM_UNAVAILABLE', 'segmenter down') : [box('dog')]));
    const host = new Host(seg);
    const watches = new SessionWatches(host);
    watches.start(start());
    for (const id of ['bad-1', 'bad-2', 'ok-3', 'bad-4']) {
      host.put(id);
      watches.frame(id);
      await until(() => seg.requests.some((r) => r.image === id));
      await sleep(40);
    }
    expect(host.errors).toEqual([
      { code: 'UPSTREAM_UNAVAILABLE', message: 'watch w: segmenter down', ref: 'watch.start' },
      { code: 'UPSTREAM_UNAVAILABLE', message: 'watch w: segmenter down', ref: 'watch.start' },
    ]);
    expect(host.events().map((e) => [e.kind, e.image])).toEqual([['enter', 'ok-3']]);
    watches.close();
  });

  it('stop and replacement close the detection in flight and nothing more is sent for the old watch', async () => {
    const seg = new ScriptedSegmenter(() => 'hang');
    const host = new Host(seg);
    host.put('f1');
    const watches = new SessionWatches(host);
    watches.start(start());
    await until(() => seg.requests.length === 1);
    watches.start(start({ labels: ['cat'] })); // same id: replaces
    await until(() => seg.aborted.length === 1);
    await until(() => seg.requests.length === 2);
    expect(seg.requests[1]!.phrases).toEqual(['cat']);
    watches.stop({ t: 'watch.stop', id: 'w' });
    await until(() => seg.aborted.length === 2);
    expect(watches.size).toBe(0);
    watches.stop({ t: 'watch.stop', id: 'w' });
    expect(host.errors.map((e) => e.code)).toEqual(['INPUT_WATCH_NOT_FOUND']);
    expect(host.frames).toEqual([]);
    expect((await host.ctx.metrics.watchesActive.get()).values[0]?.value).toBe(0);
  });

  it('refuses a watch beyond watchesPerSession, and any watch without a segmenter or with watches off', () => {
    const seg = new ScriptedSegmenter(() => []);
    const host = new Host(seg, 1);
    const watches = new SessionWatches(host);
    watches.start(start({ id: 'a' }));
    watches.start(start({ id: 'b' }));
    watches.start(start({ id: 'a', labels: ['cat'] })); // replacing a running one is not a new watch
    expect(host.errors.map((e) => e.code)).toEqual(['INPUT_WATCH_LIMIT']);
    expect(watches.size).toBe(1);
    watches.close();
    for (const h of [new Host(undefined), new Host(seg, 0)]) {
      new SessionWatches(h).start(start());
      expect(h.errors.map((e) => [e.code, e.ref])).toEqual([['INPUT_WATCH_UNAVAILABLE', 'watch.start']]);
    }
  });
});
