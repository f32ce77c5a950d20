// The browser client in real Chromium (Debian's, driven by playwright-core): the demo page
// (clients/web) bundled and served by `npm run web`'s server connects to a real gateway on
// loopback, streams a typed answer, uploads an image and draws Grounded-SAM's boxes and masks,
// streams the microphone (Chromium's fake capture device playing a spoken clip) through the
// gateway's VAD and the simulated WhisperLive into a voice turn, and watches the camera (Chromium's
// fake video device) with the simulated Grounded-SAM. .ci/run installs chromium.
import { existsSync } from 'node:fs';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import sharp from 'sharp';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startWebServer, type WebServer } from '../clients/web/serve.ts';
import type { DemoState } from '../clients/web/src/demo-state.ts';
import { clipFiles, ensureAudioClips } from '../sim/asr/index.ts';
import { Session } from '../src/session/session.ts';
import { startStack, type Stack } from './harness.ts';
import { authStack, mintedToken } from './auth-helpers.ts';

/** CHROMIUM_PATH, else Debian's binary (the /usr/bin/chromium wrapper execs it). */
function chromiumPath(): string {
  const candidates = [process.env.CHROMIUM_PATH, '/usr/lib/chromium/chromium', '/usr/bin/chromium', '/usr/bin/chromium-browser'];
  const found = candidates.find((p): p is string => p !== undefined && p !== '' && existsSync(p));
  if (!found) throw new Error('no Chromium found: install Debian\'s chromium (.ci/run does) or set CHROMIUM_PATH');
  return found;
}

// Page-side functions run in Chromium (this file is compiled without the DOM library, so they see
// the page through these structural types). String expressions would need 'unsafe-eval', which
// the page's CSP forbids.
interface CanvasLike {
  width: number;
  height: number;
  getContext(kind: '2d'): { getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } } | null;
}
interface PageGlobals {
  vlpDemo?: DemoState;
  document: { getElementById(id: string): CanvasLike | null };
}

const demo = (page: Page): Promise<DemoState> => page.evaluate(() => (globalThis as unknown as PageGlobals).vlpDemo as DemoState);

describe('browser demo in Chromium', () => {
  let stack: Stack;
  let web: WebServer;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    await ensureAudioClips();
    stack = await startStack('uws', { asr: 'whisperlive' });
    web = await startWebServer({ port: 0 });
    browser = await chromium.launch({
      executablePath: chromiumPath(),
      args: [
        '--no-sandbox',
        '--use-fake-ui-for-media-stream',
        '--use-fake-device-for-media-stream',
        // Played once: a looping clip would speak again (barge-in) while the answer streams.
        `--use-file-for-fake-audio-capture=${clipFiles().wav['hello-how-are-you']}%noloop`,
        '--autoplay-policy=no-user-gesture-required',
      ],
    });
    page = await browser.newPage();
    const consoleErrors: string[] = [];
    page.on('pageerror', (e) => consoleErrors.push(e.message));
    await page.goto(`${web.url}?gw=${encodeURIComponent(stack.url)}`);
    await page.waitForFunction(() => (globalThis as unknown as PageGlobals).vlpDemo?.status === 'ready', undefined, { timeout: 15_000 });
    expect(consoleErrors).toEqual([]);
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await web?.close();
    await stack?.close();
  });

  it('serves the page with a CSP and the bundle without Node APIs', async () => {
    const res = await fetch(web.url);
    expect(res.headers.get('content-security-policy')).toMatch(/connect-src 'self' ws: wss:/);
    expect(res.headers.get('content-security-policy')).not.toMatch(/unsafe-eval/);
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    const js = await (await fetch(`${web.url}app.js`)).text();
    expect(js).not.toMatch(/require\(["']node:|from ?["']node:/);
    expect((await fetch(`${web.url}nope`)).status).toBe(404);
  });

  it('serves the SDK as an ES module that a page of your own can import', async () => {
    // A page of another origin (about:blank, no CSP) imports it with a module script.
    const other = await browser.newPage();
    await other.addScriptTag({ type: 'module', content: `import * as m from '${web.url}vlp-browser.js'; globalThis.sdkNames = Object.keys(m).sort();` });
    await other.waitForFunction(() => (globalThis as unknown as { sdkNames?: string[] }).sdkNames !== undefined, undefined, { timeout: 5000 });
    const names = await other.evaluate(() => (globalThis as unknown as { sdkNames: string[] }).sdkNames);
    expect(names).toEqual(['CAMERA_FRAME_PREFIX', 'VlpBrowserClient', 'VlpBrowserError', 'drawBoxes', 'drawMask', 'startCamera', 'startMicrophone']);
    await other.close();
  });

  it('streams a typed answer into the page', async () => {
    await page.fill('#question', 'hello there, how are you?');
    await page.click('#send');
    await page.waitForFunction((turn) => (globalThis as unknown as PageGlobals).vlpDemo?.frames.some((f) => f.t === 'gen.done' && f.turn === turn) === true, 't1', { timeout: 15_000 });
    const s = await demo(page);
    const tokens = s.frames.filter((f) => f.t === 'gen.token' && f.turn === 't1').length;
    expect(tokens).toBeGreaterThan(0);
    expect(s.answers.t1?.length).toBeGreaterThan(0);
    expect(await page.textContent('#answer')).toBe(s.answers.t1);
    expect(s.error).toBeUndefined();
  }, 30_000);

  it('uploads an image and draws the boxes and masks of a segmentation turn', async () => {
    const png = await sharp({ create: { width: 320, height: 240, channels: 3, background: 'white' } }).png().toBuffer();
    await page.setInputFiles('#image', { name: 'photo.png', mimeType: 'image/png', buffer: png });
    await page.waitForFunction(() => (globalThis as unknown as PageGlobals).document.getElementById('canvas')?.width === 320, undefined, { timeout: 5000 });
    await page.fill('#question', 'segment the dog in this picture');
    await page.click('#send');
    await page.waitForFunction(() => ((globalThis as unknown as PageGlobals).vlpDemo?.masksDrawn ?? 0) > 0, undefined, { timeout: 15_000 });
    const s = await demo(page);
    expect(s.frames.some((f) => f.t === 'detect.boxes')).toBe(true);
    // The canvas now holds colored (non-white) pixels: boxes and masks over the white picture.
    const colored = await page.evaluate(() => {
      const c = (globalThis as unknown as PageGlobals).document.getElementById('canvas');
      const d = c?.getContext('2d')?.getImageData(0, 0, c.width, c.height).data ?? new Uint8ClampedArray(0);
      let n = 0;
      for (let i = 0; i < d.length; i += 4) if (d[i] !== 255 || d[i + 1] !== 255 || d[i + 2] !== 255) n++;
      return n;
    });
    expect(colored).toBeGreaterThan(100);
  }, 30_000);

  it('re-encodes a photo over max_image_bytes instead of losing the session to it', async () => {
    // 1500×1500 of noise: about 6.8 MB as PNG, over the default 6 MiB image limit.
    const side = 1500;
    const noise = Buffer.alloc(side * side * 3);
    for (let i = 0; i < noise.length; i++) noise[i] = (i * 2654435761) >>> 24;
    const png = await sharp(noise, { raw: { width: side, height: side, channels: 3 } }).png({ compressionLevel: 0 }).toBuffer();
    expect(png.length).toBeGreaterThan(6 << 20);
    const before = (await demo(page)).frames.length;
    await page.setInputFiles('#image', { name: 'big.png', mimeType: 'image/png', buffer: png });
    await page.waitForFunction((w) => (globalThis as unknown as PageGlobals).document.getElementById('canvas')?.width === w, side, { timeout: 15_000 });
    await page.fill('#question', 'what is in this image?');
    await page.click('#send');
    await page.waitForFunction((n) => (globalThis as unknown as PageGlobals).vlpDemo?.frames.slice(n).some((f) => f.t === 'gen.done') === true, before, { timeout: 20_000 });
    const s = await demo(page);
    expect(s.status).toBe('ready');
    expect(s.frames.slice(before).filter((f) => f.t === 'error')).toEqual([]);
  }, 40_000);

  it('streams the microphone: partial and final transcripts, then a spoken turn\'s answer', async () => {
    const wl = stack.asr?.whisperLive;
    if (!wl) throw new Error('stack without WhisperLive');
    await page.click('#mic');
    await page.waitForFunction(() => ((globalThis as unknown as PageGlobals).vlpDemo?.finals.length ?? 0) > 0, undefined, { timeout: 20_000 });
    await page.waitForFunction(
      () => (globalThis as unknown as PageGlobals).vlpDemo?.frames.some((f) => f.t === 'gen.done' && f.turn?.startsWith('v') === true) === true,
      undefined,
      { timeout: 20_000 },
    );
    await page.click('#mic'); // stop: audio.end
    const s = await demo(page);
    expect(s.frames.some((f) => f.t === 'vad')).toBe(true);
    expect(s.frames.some((f) => f.t === 'asr.partial')).toBe(true);
    expect(s.finals[0]?.trim().length).toBeGreaterThan(0);
    // The audio really reached the recognizer as 16 kHz samples.
    expect(wl.stats().frames).toBeGreaterThan(0);
    expect(s.error).toBeUndefined();
  }, 60_000);

  it('speaks answers and, stopped mid-speech, tells the gateway how much was heard (playback.truncate)', async () => {
    const p = await browser.newPage();
    // A stand-in for the Web Speech API (headless Chromium has no voices): one word boundary every
    // 30 ms, utterances in order, cancel() stops everything.
    await p.addInitScript(() => {
      type U = { text: string; onboundary: ((e: { charIndex: number }) => void) | null; onend: (() => void) | null };
      const queue: U[] = [];
      let timer: ReturnType<typeof setTimeout> | undefined;
      const run = (): void => {
        const u = queue[0];
        if (!u) return (timer = undefined);
        const words = [...u.text.matchAll(/\S+/g)].map((m) => m.index ?? 0);
        let k = 0;
        const step = (): void => {
          if (queue[0] !== u) return;
          if (k < words.length) {
            u.onboundary?.({ charIndex: words[k++] as number });
            timer = setTimeout(step, 30);
          } else {
            queue.shift();
            u.onend?.();
            run();
          }
        };
        step();
      };
      const g = globalThis as unknown as Record<string, unknown>;
      Object.defineProperty(globalThis, 'SpeechSynthesisUtterance', { configurable: true, writable: true, value: undefined });
      g.SpeechSynthesisUtterance = class {
        onboundary = null;
        onend = null;
        constructor(readonly text: string) {}
      };
      // An own property shadows the browser's read-only accessor.
      Object.defineProperty(globalThis, 'speechSynthesis', {
        configurable: true,
        value: {
          speak(u: U) {
            queue.push(u);
            if (timer === undefined) run();
          },
          cancel() {
            queue.length = 0;
            if (timer !== undefined) clearTimeout(timer);
            timer = undefined;
          },
          getVoices: () => [{ name: 'test voice' }],
        },
      });
    });
    await p.goto(`${web.url}?gw=${encodeURIComponent(stack.url)}`);
    await p.waitForFunction(() => (globalThis as unknown as PageGlobals).vlpDemo?.status === 'ready', undefined, { timeout: 15_000 });
    expect(await p.isChecked('#speak')).toBe(true);
    await p.fill('#question', 'tell me something long');
    await p.click('#send');
    await p.waitForFunction(() => (globalThis as unknown as PageGlobals).vlpDemo?.frames.some((f) => f.t === 'gen.done') === true, undefined, { timeout: 15_000 });
    await new Promise((r) => setTimeout(r, 200)); // a few words spoken, far from all of them
    await p.click('#cancel');
    const s = await demo(p);
    const answerLength = [...(s.answers.t1 ?? '')].length;
    expect(s.truncations).toHaveLength(1);
    const cut = s.truncations[0];
    expect(cut?.turn).toBe('t1');
    expect(cut?.heard).toBeGreaterThan(0);
    expect(cut?.heard).toBeLessThan(answerLength);
    // The gateway took it (no TURN_NOT_FOUND / TURN_BUSY) and the session goes on.
    await new Promise((r) => setTimeout(r, 100));
    expect((await demo(p)).frames.filter((f) => f.t === 'error')).toEqual([]);
    await p.close();
  }, 30_000);

  it('watches the camera: a frame a second as image.put, the enter event shown and drawn, its ask turn streamed; Stop ends the frames and the camera', async () => {
    // Counted where the gateway handles them: every image.put of a camera frame (ids cam-0…cam-3).
    const puts = vi.spyOn(Session.prototype, 'putImage');
    const cameraPuts = (): number => puts.mock.calls.filter(([m]) => m.id.startsWith('cam-')).length;
    const watchesActive = async (): Promise<string | undefined> => /^vlp_watches_active (\d+)$/m.exec(await (await fetch(`${stack.httpBase}/metrics`)).text())?.[1];
    const p = await browser.newPage();
    try {
      const pageErrors: string[] = [];
      p.on('pageerror', (e) => pageErrors.push(e.message));
      // Keeps the streams the page gets, to check their tracks once it stopped the camera.
      await p.addInitScript(() => {
        const g = globalThis as unknown as { vlpStreams: { getTracks(): { readyState: string }[] }[]; navigator: { mediaDevices: { getUserMedia(c: unknown): Promise<{ getTracks(): { readyState: string }[] }> } } };
        const devices = g.navigator.mediaDevices;
        const original = devices.getUserMedia.bind(devices);
        g.vlpStreams = [];
        devices.getUserMedia = async (c: unknown) => {
          const stream = await original(c);
          g.vlpStreams.push(stream);
          return stream;
        };
      });
      await p.goto(`${web.url}?gw=${encodeURIComponent(stack.url)}`);
      await p.waitForFunction(() => (globalThis as unknown as PageGlobals).vlpDemo?.status === 'ready', undefined, { timeout: 15_000 });
      // The simulated Grounded-SAM finds a dog in every frame: the watch's first frame has one.
      await p.fill('#watch-labels', 'dog');
      await p.fill('#watch-ask', 'A {label} came in. What is the {label} doing?');
      await p.click('#watch-start');
      await p.waitForFunction(() => (globalThis as unknown as PageGlobals).vlpDemo?.frames.some((f) => f.t === 'gen.done' && f.turn === 'w1') === true, undefined, { timeout: 15_000 });
      let s = await demo(p);
      expect(s.camera).toBe('on');
      expect(await watchesActive()).toBe('1');
      const enter = s.watchEvents[0];
      expect(enter).toMatchObject({ watch: 'camera', kind: 'enter', label: 'dog', turn: 'w1' });
      expect(enter?.count).toBeGreaterThan(0);
      expect(enter?.image).toMatch(/^cam-[0-3]$/);
      expect(s.watchDrawn).toBe(1);
      expect(s.frames.findIndex((f) => f.t === 'watch.event')).toBeLessThan(s.frames.findIndex((f) => f.t === 'turn.started' && f.turn === 'w1'));
      expect(s.frames.filter((f) => f.t === 'gen.token' && f.turn === 'w1').length).toBeGreaterThan(0);
      expect(s.answers.w1?.length).toBeGreaterThan(0);
      expect(await p.textContent('#answer')).toBe(s.answers.w1);
      expect(await p.textContent('#transcript')).toMatch(/^camera: dog came into view \(\d+\), asking about it$/);
      expect(await p.textContent('#log')).toMatch(/watch\.event w1 enter dog ×\d+ \(cam-[0-3]\)/);
      // The canvas holds the frame the event named: the fake camera's 640×480 (at most 640 px a side).
      const size = await p.evaluate(() => {
        const c = (globalThis as unknown as PageGlobals).document.getElementById('canvas');
        return [c?.width, c?.height];
      });
      expect(size).toEqual([640, 480]);
      // Frames keep going up, one a second, while the watch runs.
      await expect.poll(cameraPuts, { timeout: 5000 }).toBeGreaterThanOrEqual(2);
      // A hidden page sends none; shown again, it goes on.
      const setHidden = (hidden: boolean): Promise<void> =>
        p.evaluate((h) => {
          Object.defineProperty((globalThis as unknown as { document: object }).document, 'hidden', { value: h, configurable: true });
        }, hidden);
      await setHidden(true);
      await new Promise((r) => setTimeout(r, 200));
      const hiddenAt = cameraPuts();
      await new Promise((r) => setTimeout(r, 1500));
      expect(cameraPuts()).toBe(hiddenAt);
      await setHidden(false);
      await expect.poll(cameraPuts, { timeout: 3000 }).toBeGreaterThan(hiddenAt);

      await p.click('#watch-stop');
      await p.waitForFunction(() => (globalThis as unknown as PageGlobals).vlpDemo?.camera === 'off', undefined, { timeout: 5000 });
      await new Promise((r) => setTimeout(r, 200)); // a frame sent just before Stop reaches the gateway
      const atStop = cameraPuts();
      await new Promise((r) => setTimeout(r, 1500)); // more than a frame interval
      expect(cameraPuts()).toBe(atStop);
      s = await demo(p);
      expect(s.cameraFrames).toBe(atStop); // each frame the page sent reached the gateway; none after Stop
      expect(await watchesActive()).toBe('0'); // the watch.stop was taken
      const tracks = await p.evaluate(() =>
        (globalThis as unknown as { vlpStreams: { getTracks(): { readyState: string }[] }[] }).vlpStreams.flatMap((m) => m.getTracks().map((t) => t.readyState)),
      );
      expect(tracks.length).toBeGreaterThan(0);
      expect(tracks.every((r) => r === 'ended')).toBe(true);
      expect(s.frames.filter((f) => f.t === 'error')).toEqual([]);
      expect(pageErrors).toEqual([]);
    } finally {
      puts.mockRestore();
      await p.close();
    }
  }, 30_000);

  describe('against a gateway with client authentication', () => {
    let secured: Stack;
    beforeAll(async () => {
      secured = await authStack('ws');
    });
    afterAll(async () => {
      await secured.close();
    });

    it('connects with a minted client token in ?token=, and fails visibly without one', async () => {
      const { token } = await mintedToken(secured);
      const withToken = await browser.newPage();
      await withToken.goto(`${web.url}?gw=${encodeURIComponent(secured.url)}&token=${encodeURIComponent(token)}`);
      await withToken.waitForFunction(() => (globalThis as unknown as PageGlobals).vlpDemo?.status === 'ready', undefined, { timeout: 15_000 });
      await withToken.close();

      const without = await browser.newPage();
      await without.goto(`${web.url}?gw=${encodeURIComponent(secured.url)}`);
      await without.waitForFunction(() => (globalThis as unknown as PageGlobals).vlpDemo?.status === 'failed', undefined, { timeout: 15_000 });
      expect(await without.textContent('#status')).toMatch(/could not connect/);
      await without.close();
    }, 40_000);
  });

  describe('a dropped connection', () => {
    let slow: Stack;
    let proxy: net.Server;
    const sockets = new Set<net.Socket>();
    /** Where the proxy sends new connections (switched to another gateway: a "restart"). */
    let target = 0;
    beforeAll(async () => {
      // 40 tokens at 40 ms each: the connection drops in the middle of the answer.
      slow = await startStack('uws', { sim: { ttftMs: 20, itlMs: 40, jitter: 0 } });
      target = Number(new URL(slow.url).port);
      proxy = net.createServer((client) => {
        const upstream = net.connect(target, '127.0.0.1');
        sockets.add(client).add(upstream);
        client.pipe(upstream);
        upstream.pipe(client);
        const end = (): void => {
          client.destroy();
          upstream.destroy();
        };
        for (const s of [client, upstream]) {
          s.on('error', end);
          s.on('close', end);
        }
      });
      await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', () => r()));
    });
    afterAll(async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => proxy.close(r));
      await slow.close();
    });

    it('is resumed by the SDK: the answer continues with every frame exactly once, in seq order', async () => {
      const port = (proxy.address() as AddressInfo).port;
      const p = await browser.newPage();
      await p.goto(`${web.url}?gw=${encodeURIComponent(`ws://127.0.0.1:${port}/v1/ws`)}`);
      await p.waitForFunction(() => (globalThis as unknown as PageGlobals).vlpDemo?.status === 'ready', undefined, { timeout: 15_000 });
      await p.fill('#question', 'tell me a story');
      await p.click('#send');
      await p.waitForFunction(() => ((globalThis as unknown as PageGlobals).vlpDemo?.frames.filter((f) => f.t === 'gen.token').length ?? 0) >= 5, undefined, { timeout: 15_000 });
      // The network drops (no close frame): the browser sees 1006.
      for (const s of sockets) s.destroy();
      sockets.clear();
      await p.waitForFunction(() => (globalThis as unknown as PageGlobals).vlpDemo?.frames.some((f) => f.t === 'gen.done') === true, undefined, { timeout: 20_000 });
      const s = await demo(p);
      expect(s.resumes).toBe(1);
      expect(s.status).toBe('ready');
      // Every seq from the first ready to the last frame exactly once: the frames delivered (no
      // duplicate from the replay) and the two readys (the resumed one precedes the replay).
      const delivered = s.frames.map((f) => f.seq).filter((q) => q > 0);
      expect(new Set(delivered).size).toBe(delivered.length);
      const all = [...delivered, ...s.readySeqs].sort((a, b) => a - b);
      expect(s.readySeqs).toHaveLength(2);
      expect(all).toEqual(Array.from({ length: all.length }, (_, i) => (all[0] as number) + i));
      expect(s.error).toBeUndefined();
      await p.close();
    }, 40_000);

    it('gives up with 4001 when the gateway no longer knows the session (a restart), and says so', async () => {
      const port = (proxy.address() as AddressInfo).port;
      const p = await browser.newPage();
      target = Number(new URL(slow.url).port);
      await p.goto(`${web.url}?gw=${encodeURIComponent(`ws://127.0.0.1:${port}/v1/ws`)}`);
      await p.waitForFunction(() => (globalThis as unknown as PageGlobals).vlpDemo?.status === 'ready', undefined, { timeout: 15_000 });
      // The connection drops and the next one reaches another gateway: the resume is refused.
      target = Number(new URL(stack.url).port);
      for (const s of sockets) s.destroy();
      sockets.clear();
      await p.waitForFunction(() => (globalThis as unknown as PageGlobals).vlpDemo?.status === 'closed', undefined, { timeout: 15_000 });
      expect(await p.textContent('#status')).toMatch(/closed \(4001 SESSION_RESUME_FAILED\)/);
      expect(await p.isDisabled('#send')).toBe(true);
      const s = await demo(p);
      expect(s.resumes).toBe(0);
      await p.close();
    }, 40_000);
  });
});
