// The adapter against a hand-written fake service: lines split at awkward byte boundaries,
// malformed events, oversized lines, early ends, wrong content type and a silent upstream.
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VlpError } from '../../../protocol/errors.ts';
import type { SegmentEvent, SegmentRequest } from '../segmenter-port.ts';
import { createGroundedSamBackend } from './index.ts';

type Script = (res: ServerResponse) => void | Promise<void>;
let script: Script = (res) => {
  res.end();
};
let url = '';
const server = createServer((req, res) => {
  req.resume();
  req.once('end', () => void script(res));
});

beforeAll(async () => {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const image: SegmentRequest['image'] = { bytes: new Uint8Array([1, 2, 3]), mime: 'image/png', width: 4, height: 3 };
const request = (): SegmentRequest => ({ image, phrases: ['dog'], boxThreshold: 0.5, textThreshold: 0.55, signal: new AbortController().signal });

const BOXES = '{"type":"boxes","size":[3,4],"boxes":[{"id":0,"label":"chien → 犬","score":0.52,"box":[0,0,3,3]}]}\n';
const MASK = '{"type":"mask","id":0,"label":"chien → 犬","score":0.52,"rle":{"size":[3,4],"counts":"264"}}\n';
const DONE = '{"type":"done","boxes":1,"masks":1}\n';

function ndjson(res: ServerResponse): void {
  res.writeHead(200, { 'content-type': 'application/x-ndjson' });
}

async function run(timeouts: Partial<{ firstEventTimeoutMs: number; interEventTimeoutMs: number }> = {}): Promise<SegmentEvent[]> {
  const b = createGroundedSamBackend({ url, connectTimeoutMs: 500, firstEventTimeoutMs: 1000, interEventTimeoutMs: 500, ...timeouts });
  try {
    const out: SegmentEvent[] = [];
    for await (const ev of b.segment(request())) out.push(ev);
    return out;
  } finally {
    await b.close();
  }
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    return (e as VlpError).code;
  }
  return 'none';
}

describe('fake service', () => {
  it('reassembles lines written in awkward pieces (mid-token, mid-UTF-8, several per chunk)', async () => {
    const bytes = Buffer.from(BOXES + MASK + DONE);
    const cuts = [1, 7, 40, 41, 42, 43, BOXES.length - 1, Buffer.byteLength(BOXES) + 3, bytes.length - 2];
    script = async (res) => {
      ndjson(res);
      let prev = 0;
      for (const c of [...cuts, bytes.length]) {
        res.write(bytes.subarray(prev, c));
        prev = c;
        await sleep(2);
      }
      res.end();
    };
    const events = await run();
    expect(events.map((e) => e.kind)).toEqual(['boxes', 'mask', 'done']);
    expect(events[0]).toMatchObject({ boxes: [{ label: 'chien → 犬' }] });
  });

  it('accepts everything in one chunk, with CRLF line ends', async () => {
    script = (res) => {
      ndjson(res);
      res.end((BOXES + MASK + DONE).replace(/\n/g, '\r\n'));
    };
    expect((await run()).length).toBe(3);
  });

  it.each([
    ['a non-JSON line', BOXES + 'garbage\n'],
    ['an event of the wrong shape', BOXES + MASK.replace('"264"', '"2 6 4"')],
    ['a box outside the image', BOXES.replace('[0,0,3,3]', '[0,0,30,3]')],
    ['mask size not the image size', BOXES + MASK.replace('"size":[3,4]', '"size":[30,40]')],
    ['a mask first', MASK],
  ])('%s → UPSTREAM_PROTOCOL', async (_name, body) => {
    script = (res) => {
      ndjson(res);
      res.end(body + DONE);
    };
    expect(await codeOf(run())).toBe('UPSTREAM_PROTOCOL');
  });

  it('a line over 8 MiB → UPSTREAM_PROTOCOL without waiting for its end', async () => {
    script = async (res) => {
      ndjson(res);
      res.write(BOXES);
      const chunk = Buffer.alloc(1024 * 1024, 0x30);
      for (let i = 0; i < 9 && !res.destroyed; i++) {
        res.write(chunk);
        await sleep(1);
      }
    };
    expect(await codeOf(run())).toBe('UPSTREAM_PROTOCOL');
  });

  it('a body that ends without done → UPSTREAM_RESET', async () => {
    script = (res) => {
      ndjson(res);
      res.end(BOXES + MASK);
    };
    expect(await codeOf(run())).toBe('UPSTREAM_RESET');
  });

  it('a wrong content type → UPSTREAM_PROTOCOL', async () => {
    script = (res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<html>');
    };
    expect(await codeOf(run())).toBe('UPSTREAM_PROTOCOL');
  });

  it.each([
    [400, 'UPSTREAM_REJECTED'],
    [413, 'UPSTREAM_REJECTED'],
    [422, 'UPSTREAM_REJECTED'],
    [429, 'UPSTREAM_OVERLOADED'],
    [500, 'UPSTREAM_GENERATION_FAILED'],
    [502, 'UPSTREAM_GENERATION_FAILED'],
    [503, 'UPSTREAM_OVERLOADED'],
  ])('HTTP %i → %s', async (status, code) => {
    script = (res) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end('{"error":"nope","error_type":"x"}');
    };
    expect(await codeOf(run())).toBe(code);
  });

  it('headers but no first line → UPSTREAM_TIMEOUT after firstEventTimeoutMs', async () => {
    script = (res) => {
      ndjson(res);
      res.flushHeaders();
    };
    const t0 = performance.now();
    expect(await codeOf(run({ firstEventTimeoutMs: 150 }))).toBe('UPSTREAM_TIMEOUT');
    expect(performance.now() - t0).toBeGreaterThanOrEqual(140);
  });

  it('a partial line does not count as progress', async () => {
    script = async (res) => {
      ndjson(res);
      res.write(BOXES);
      for (let i = 0; i < 20 && !res.destroyed; i++) {
        res.write('{');
        await sleep(20);
      }
    };
    expect(await codeOf(run({ interEventTimeoutMs: 100 }))).toBe('UPSTREAM_TIMEOUT');
  });
});
