// Bytes to a plain TCP socket with one write(2) on its file descriptor (fs.writeSync) instead of
// net.Socket#write: the same bytes, in the same order, without the stream machinery around each
// write (a write request object, a nextTick, the callback bookkeeping: about 1 µs of JS per write,
// on a path that writes 50 000 times a second at 1 000 sessions). Only while the socket's own queue
// is empty, so order is kept; what the kernel does not take at once goes through socket.write()
// and libuv finishes it. TLS sockets (whose descriptor carries ciphertext) and platforms without a
// descriptor use socket.write() throughout.
import { writeSync } from 'node:fs';
import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';

/** Writes one byte string; true when it was handed to the kernel whole (the caller may reuse its
 *  buffer), false when the socket holds on to it (queued until flushed). */
export type ByteWriter = (bytes: Uint8Array) => boolean;

/** What the writers use of a net.Socket. */
export type WritableSocket = Pick<Socket, 'write' | 'writableLength' | 'destroyed'>;

/** socket.write(); the buffer is free again when nothing stayed queued. */
export function streamWriter(socket: WritableSocket): ByteWriter {
  return (bytes) => {
    socket.write(bytes);
    return socket.writableLength === 0;
  };
}

/** The descriptor of a plain TCP socket's libuv handle (`_handle.fd`, Unix), else undefined. */
export function socketFd(socket: Socket): number | undefined {
  if (socket instanceof TLSSocket) return undefined;
  const handle: unknown = (socket as unknown as { _handle?: unknown })._handle;
  const fd: unknown = typeof handle === 'object' && handle !== null ? (handle as { fd?: unknown }).fd : undefined;
  return typeof fd === 'number' && Number.isInteger(fd) && fd >= 0 ? fd : undefined;
}

/** write(2) on `fd` while `socket`'s queue is empty, socket.write() otherwise. `fd` must be the
 *  socket's own (socketFd): it is used only while the socket is not destroyed, because libuv closes
 *  the descriptor on destroy and the number may then be reused by another connection. */
export function directWriter(socket: WritableSocket, fd: number, write: typeof writeSync = writeSync): ByteWriter {
  return (bytes) => {
    if (socket.writableLength !== 0 || socket.destroyed) {
      socket.write(bytes);
      return socket.writableLength === 0;
    }
    let n: number;
    try {
      n = write(fd, bytes);
    } catch {
      // EAGAIN (the kernel's buffer is full) or a dead connection (EPIPE, ECONNRESET): the stream
      // write below queues the bytes, or reports the error through the socket as usual.
      n = 0;
    }
    if (n === bytes.length) return true;
    socket.write(n === 0 ? bytes : bytes.subarray(n));
    return false;
  };
}
