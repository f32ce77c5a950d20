// The in-place float32 frames: byte for byte what ws frames (with a zero masking key) from the old
// conversion, for every length class; buffer reuse only while the socket keeps up; a ws server
// reads them as the samples sent.
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import * as wsModule from 'ws';
import { Float32FrameBuilder, Float32FrameWriter, maskedHeaderBytes, writeMaskedBinaryHeader } from './float32-frame.ts';
import { directWriter, socketFd, streamWriter } from './direct-write.ts';
import type { Socket } from 'node:net';

interface FrameOptions {
  fin: boolean;
  opcode: number;
  mask: boolean;
  readOnly: boolean;
  rsv1: boolean;
  maskBuffer: Buffer;
  generateMask: (mask: Buffer) => void;
}
/** ws's own framing (Sender.frame: exported by ws, not in its type declarations). */
const { Sender } = wsModule as unknown as { Sender: { frame: (data: Buffer, o: FrameOptions) => Buffer[] } };
const wsFrame = (data: Buffer, o: FrameOptions): Buffer[] => Sender.frame(data, o);

/** The old path: samples / 32768 into a Float32Array, framed by ws with a zero masking key. */
function oldFrame(samples: Int16Array): Buffer {
  const f = new Float32Array(samples.length);
  for (let i = 0; i < samples.length; i++) f[i] = (samples[i] as number) / 32768;
  const data = Buffer.from(f.buffer, f.byteOffset, f.byteLength);
  const opts: FrameOptions = { fin: true, opcode: 2, mask: true, readOnly: false, rsv1: false, maskBuffer: Buffer.alloc(4), generateMask: (m) => void m.fill(0) };
  return Buffer.concat(wsFrame(data, opts));
}

function ramp(n: number, seed = 1): Int16Array {
  const s = new Int16Array(n);
  for (let i = 0; i < n; i++) s[i] = ((i * 7919 + seed * 104729) % 65536) - 32768;
  if (n > 0) s[0] = -32768;
  if (n > 1) s[n - 1] = 32767;
  return s;
}

describe('float32 frames', () => {
  it('headers: 6, 8 or 14 bytes by payload length, masking key of zeros', () => {
    expect([0, 125, 126, 65535, 65536].map(maskedHeaderBytes)).toEqual([6, 6, 8, 8, 14]);
    const b = Buffer.alloc(14, 0xff);
    expect(writeMaskedBinaryHeader(b, 0, 70_000)).toBe(14);
    expect([...b]).toEqual([0x82, 0xff, 0, 0, 0, 0, 0, 0x01, 0x11, 0x70, 0, 0, 0, 0]);
  });

  it('are byte for byte the old conversion framed by ws with a zero key, in every length class', () => {
    const builder = new Float32FrameBuilder();
    // 0..31 samples: 7-bit length; 320: 16-bit; 8191 (32 KiB − 4 B): the largest reused; 20000: 64-bit, a one-off buffer.
    for (const n of [0, 1, 31, 32, 320, 321, 8191, 16_383, 16_384, 20_000, 64_000]) {
      const s = ramp(n, n);
      expect(Buffer.compare(builder.build(s), oldFrame(s)), `n=${n}`).toBe(0);
      expect(Buffer.compare(Float32FrameBuilder.oneOff(s), oldFrame(s)), `one-off n=${n}`).toBe(0);
    }
    // Back and forth between sizes reuses the buffer with the right header each time.
    for (const n of [320, 160, 320, 960]) expect(Buffer.compare(builder.build(ramp(n, 3)), oldFrame(ramp(n, 3)))).toBe(0);
  });

  it('reuse the buffer while writes are taken whole, and leave a frame the socket holds untouched', () => {
    const written: Buffer[] = [];
    let whole = true;
    const w = new Float32FrameWriter((bytes) => {
      written.push(bytes as Buffer);
      return whole;
    });
    w.write(ramp(320, 1));
    w.write(ramp(320, 2));
    expect(written[0]?.buffer).toBe(written[1]?.buffer); // one buffer, reused
    whole = false; // the kernel did not take the next one: the socket keeps it
    w.write(ramp(320, 3));
    whole = true;
    w.write(ramp(320, 4));
    expect(written[3]?.buffer).not.toBe(written[2]?.buffer);
    expect(Buffer.compare(written[2] as Buffer, oldFrame(ramp(320, 3)))).toBe(0); // intact
    expect(Buffer.compare(written[3] as Buffer, oldFrame(ramp(320, 4)))).toBe(0);
  });

  for (const how of ['direct', 'stream'] as const) {
    it(`a ws server reads them as the samples sent, interleaved with ws.send frames (${how} writes)`, async () => {
      const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
      await once(wss, 'listening');
      const got: { binary: boolean; data: Buffer }[] = [];
      wss.on('connection', (s) => s.on('message', (data: Buffer, binary: boolean) => got.push({ binary, data: Buffer.from(data) })));
      const ws = new WebSocket(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}`, { perMessageDeflate: false });
      let socket: Socket | undefined;
      ws.once('upgrade', (res: { socket: Socket }) => (socket = res.socket)); // 'open' follows in the same tick
      await once(ws, 'open');
      const sock = socket as Socket;
      const fd = socketFd(sock);
      expect(fd).toBeGreaterThanOrEqual(0);
      const w = new Float32FrameWriter(how === 'direct' ? directWriter(sock, fd as number) : streamWriter(sock));
      const sent = [ramp(320, 1), ramp(16_000, 2), ramp(5, 3)];
      ws.send('{"first": true}');
      for (const s of sent) w.write(s);
      ws.send('last');
      while (got.length < 5) await new Promise((r) => setTimeout(r, 5));
      expect(got.map((g) => g.binary)).toEqual([false, true, true, true, false]);
      sent.forEach((s, k) => {
        const d = (got[k + 1] as { data: Buffer }).data;
        expect(d.length).toBe(s.length * 4);
        for (let i = 0; i < s.length; i++) if (d.readFloatLE(i * 4) !== Math.fround((s[i] as number) / 32768)) throw new Error(`frame ${k} sample ${i}`);
      });
      expect(got[4]?.data.toString()).toBe('last');
      ws.terminate();
      wss.close();
    });
  }
});

describe('what a user can put into a float32 frame (why a zero masking key is safe)', () => {
  it('every possible PCM16 sample becomes a float32 whose first (low) byte is 0x00', () => {
    const all = new Int16Array(65536);
    for (let i = 0; i < all.length; i++) all[i] = i - 32768;
    const frame = Float32FrameBuilder.oneOff(all);
    const payload = frame.subarray(maskedHeaderBytes(all.length * 4));
    expect(payload.length).toBe(all.length * 4);
    let nonZeroLowBytes = 0;
    for (let k = 0; k < payload.length; k += 4) if (payload[k] !== 0) nonZeroLowBytes++;
    expect(nonZeroLowBytes).toBe(0);
    // And the samples survive: the payload decodes to i / 32768.
    const f = new Float32Array(payload.buffer, payload.byteOffset, all.length);
    expect(f[0]).toBe(-1);
    expect(f[65535]).toBeCloseTo(32767 / 32768, 7);
  });
});
