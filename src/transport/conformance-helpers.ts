// Test-only helpers for the transport conformance suite: a recording ConnectionHandler, real `ws`
// clients, a raw-TCP handshake (for clients that must misbehave) and a plain HTTP getter.
import http from 'node:http';
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import { WebSocket } from 'ws';
import type { Connection, ConnectionHandler, ConnectionListener } from './types.ts';

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** What one server-side connection saw. */
export interface Recorded {
  conn: Connection;
  messages: { data: Uint8Array; isBinary: boolean }[];
  closes: { code: number; reason: string }[];
  drains: number;
}

export type MessageBehavior = (rec: Recorded, data: Uint8Array, isBinary: boolean) => void;

/** Echo every message back (the frame is sent while `data` is still valid). */
export const echo: MessageBehavior = (rec, data, isBinary) => {
  rec.conn.send(isBinary ? data : Buffer.from(data).toString('utf8'));
};

/** A ConnectionHandler that records everything and runs `behavior` on each message. */
export function recordingHandler(behavior: MessageBehavior = echo): { handler: ConnectionHandler; seen: Recorded[] } {
  const seen: Recorded[] = [];
  const handler: ConnectionHandler = {
    onOpen(conn): ConnectionListener {
      const rec: Recorded = { conn, messages: [], closes: [], drains: 0 };
      seen.push(rec);
      return {
        onMessage(data, isBinary) {
          rec.messages.push({ data: Uint8Array.from(data), isBinary });
          behavior(rec, data, isBinary);
        },
        onDrain() {
          rec.drains += 1;
        },
        onClose(code, reason) {
          rec.closes.push({ code, reason });
        },
      };
    },
  };
  return { handler, seen };
}

/** Open a `ws` client; rejects with the HTTP status (as `status`) when the handshake is refused. */
export function connect(port: number, path: string, protocols?: string[]): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`, protocols);
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) => {
      res.resume();
      ws.terminate();
      reject(Object.assign(new Error(`handshake refused: ${res.statusCode}`), { status: res.statusCode }));
    });
    ws.once('error', reject);
  });
}

/** HTTP status of a refused handshake (fails the test if it is accepted). */
export async function refusedStatus(port: number, path: string, protocols?: string[]): Promise<number | string> {
  try {
    const ws = await connect(port, path, protocols);
    ws.terminate();
    return 'accepted';
  } catch (err) {
    const e = err as { status?: number; code?: string };
    return e.status ?? e.code ?? 'error';
  }
}

export function closed(ws: WebSocket): Promise<{ code: number; reason: string }> {
  return new Promise((resolve) => {
    if (ws.readyState === WebSocket.CLOSED) resolve({ code: -1, reason: 'already closed' });
    ws.on('error', () => undefined); // e.g. ECONNRESET after an abrupt server close
    ws.once('close', (code, reason) => resolve({ code, reason: reason.toString('utf8') }));
  });
}

export function nextMessage(ws: WebSocket): Promise<{ data: Buffer; isBinary: boolean }> {
  return new Promise((resolve) => {
    ws.once('message', (data, isBinary) => resolve({ data: Buffer.from(data as Buffer), isBinary }));
  });
}

export function httpRequest(
  port: number,
  path: string,
  method = 'GET',
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

/** A raw TCP socket, connected. */
export function rawSocket(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => resolve(s));
    s.once('error', reject);
  });
}

/** Send a WebSocket upgrade request on `socket` and resolve with the response's status line.
 *  The socket is left as is: nothing answers pings, nothing reads further. */
export function rawHandshake(socket: net.Socket, path: string): Promise<string> {
  return new Promise((resolve) => {
    let head = '';
    const onData = (chunk: Buffer): void => {
      head += chunk.toString('latin1');
      const end = head.indexOf('\r\n');
      if (end !== -1) {
        socket.off('data', onData);
        socket.off('close', onClose);
        resolve(head.slice(0, end));
      }
    };
    const onClose = (): void => resolve('closed');
    socket.on('data', onData);
    socket.once('close', onClose);
    socket.on('error', () => undefined);
    socket.write(
      `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    );
  });
}
