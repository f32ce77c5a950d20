// Transport entry point: picks the ws or uWebSockets.js adapter behind the one TransportServer API.
import type { TransportOptions, TransportServer } from './types.ts';
import { createUwsTransport } from './uws.ts';
import { createWsTransport } from './ws.ts';

export type TransportKind = TransportServer['kind'];

export function createTransport(kind: TransportKind, opts: TransportOptions): TransportServer {
  switch (kind) {
    case 'ws':
      return createWsTransport(opts);
    case 'uws':
      return createUwsTransport(opts);
    default: {
      // Unreachable while TransportKind and this switch agree; a config that bypassed the schema
      // (or a new kind without a case) fails here rather than returning undefined.
      const never: never = kind;
      throw new Error(`unknown transport ${String(never)}`);
    }
  }
}

export type * from './types.ts';
export { negotiateSubprotocol } from './types.ts';
