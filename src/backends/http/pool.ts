// The keep-alive undici Pool an HTTP upstream adapter sends through: one request per socket at a
// time, and none of undici's header/body timers (each adapter enforces its own deadlines).
import { Pool } from 'undici';

export interface UpstreamPoolOptions {
  /** TCP (+TLS) connect timeout, ms. */
  connectTimeoutMs: number;
  /** Cap on sockets to the server; unset = unlimited. */
  maxConnections?: number;
  /** Idle keep-alive socket lifetime, ms, when the server announces none (undici's default is 4 s). */
  idleSocketMs?: number;
}

export function createUpstreamPool(origin: string, opts: UpstreamPoolOptions): Pool {
  return new Pool(origin, {
    connections: opts.maxConnections ?? null,
    pipelining: 1, // a streaming response occupies its socket; never queue behind one
    connect: { timeout: opts.connectTimeoutMs },
    // The adapter's own deadlines (stall watch, postUnary's single deadline) replace undici's timers.
    headersTimeout: 0,
    bodyTimeout: 0,
    ...(opts.idleSocketMs !== undefined ? { keepAliveTimeout: opts.idleSocketMs, keepAliveMaxTimeout: opts.idleSocketMs } : {}),
  });
}
