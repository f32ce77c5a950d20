// Direct writes keep the bytes and their order: write(2) only while the socket's queue is empty,
// the rest (partial writes, EAGAIN, errors, a destroyed socket) through socket.write().
import { describe, expect, it } from 'vitest';
import { directWriter, streamWriter, type WritableSocket } from './direct-write.ts';

class FakeSocket implements WritableSocket {
  queued: Uint8Array[] = [];
  destroyed = false;
  write(chunk: Uint8Array | string): boolean {
    this.queued.push(chunk as Uint8Array);
    return false;
  }
  get writableLength(): number {
    return this.queued.reduce((a, c) => a + c.length, 0);
  }
}

const bytes = (...v: number[]): Uint8Array => new Uint8Array(v);

describe('directWriter', () => {
  it('writes whole frames with write(2) while the socket queue is empty', () => {
    const sock = new FakeSocket();
    const sys: Uint8Array[] = [];
    const w = directWriter(sock, 7, (fd, b) => {
      expect(fd).toBe(7);
      sys.push((b as Uint8Array).slice());
      return (b as Uint8Array).length;
    });
    expect(w(bytes(1, 2, 3))).toBe(true);
    expect(sys).toEqual([bytes(1, 2, 3)]);
    expect(sock.queued).toEqual([]);
  });

  it('queues the rest of a partial write, then keeps queueing behind it (order)', () => {
    const sock = new FakeSocket();
    const sys: Uint8Array[] = [];
    const w = directWriter(sock, 7, (_fd, b) => {
      sys.push((b as Uint8Array).slice(0, 2));
      return 2;
    });
    expect(w(bytes(1, 2, 3, 4))).toBe(false);
    expect(sock.queued).toEqual([bytes(3, 4)]);
    expect(w(bytes(5, 6))).toBe(false); // the socket's queue is not empty: no write(2)
    expect(sys).toEqual([bytes(1, 2)]);
    expect(sock.queued).toEqual([bytes(3, 4), bytes(5, 6)]);
  });

  it('EAGAIN or a dead connection: the bytes go through socket.write (which reports errors)', () => {
    const sock = new FakeSocket();
    const w = directWriter(sock, 7, () => {
      throw Object.assign(new Error('EAGAIN'), { code: 'EAGAIN' });
    });
    expect(w(bytes(9))).toBe(false);
    expect(sock.queued).toEqual([bytes(9)]);
  });

  it('never touches the descriptor of a destroyed socket (libuv closed it; the number may be reused)', () => {
    const sock = new FakeSocket();
    sock.destroyed = true;
    const w = directWriter(sock, 7, () => {
      throw new Error('write(2) on a closed descriptor');
    });
    w(bytes(1));
    expect(sock.queued).toEqual([bytes(1)]);
  });
});

describe('streamWriter', () => {
  it('reports the buffer free only when nothing stayed queued', () => {
    const flushed = new FakeSocket();
    flushed.write = (chunk) => {
      void chunk; // taken by the kernel at once: nothing stays queued
      return true;
    };
    expect(streamWriter(flushed)(bytes(1))).toBe(true);
    expect(streamWriter(new FakeSocket())(bytes(2))).toBe(false);
  });
});
