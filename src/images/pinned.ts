// An undici dispatcher whose DNS lookup answers only from addresses vetted beforehand, so DNS
// rebinding cannot switch the target; Host, TLS SNI and certificate checks still use the hostname.
import type { LookupAddress, LookupOptions } from 'node:dns';
import { Agent } from 'undici';
import type { VettedAddress } from './resolve.ts';
import { normalizeHost } from './hosts.ts';

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/** A one-use Agent for `hostname`; destroy it when the request is done. */
export function pinnedAgent(hostname: string, addresses: readonly VettedAddress[], timeoutMs: number): Agent {
  const host = normalizeHost(hostname);
  const lookup = (name: string, options: LookupOptions, callback: LookupCallback): void => {
    const family = options.family === 4 || options.family === 6 ? options.family : 0;
    const usable = family === 0 ? addresses : addresses.filter((a) => a.family === family);
    const first = usable[0];
    if (normalizeHost(name) !== host || first === undefined) {
      const err: NodeJS.ErrnoException = new Error('pinned lookup: no vetted address for this host');
      err.code = 'ENOTFOUND';
      callback(err, '');
    } else if (options.all === true) {
      callback(null, usable.map((a) => ({ address: a.address, family: a.family })));
    } else {
      callback(null, first.address, first.family);
    }
  };
  return new Agent({
    connect: { lookup, timeout: timeoutMs },
    connections: 1,
    pipelining: 0,
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
  });
}
