// The address half of the image-fetch policy: resolves a hostname once and vets every address
// (no private, loopback, link-local, ... unless allowed). The caller then connects only to these.
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { VlpError } from '../../protocol/errors.ts';
import { addressKind } from './address.ts';
import { normalizeHost } from './hosts.ts';

export interface VettedAddress {
  address: string;
  family: 4 | 6;
}

/** Resolves a hostname to all its addresses (node:dns lookup, i.e. getaddrinfo). Injectable for tests. */
export type HostResolver = (hostname: string) => Promise<VettedAddress[]>;

export const systemResolver: HostResolver = async (hostname) => {
  const found = await lookup(hostname, { all: true, verbatim: true });
  return found.map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));
};

/**
 * The addresses `hostname` resolves to, all of them vetted. Any non-public address fails the
 * whole host (unless `allowPrivate`), so a mixed answer cannot smuggle one in.
 * Throws INPUT_IMAGE_URL_FORBIDDEN (non-public address) or INPUT_IMAGE_INVALID (no address).
 */
export async function resolveVetted(hostname: string, allowPrivate: boolean, resolver: HostResolver = systemResolver): Promise<VettedAddress[]> {
  const host = normalizeHost(hostname);
  const literal = isIP(host);
  let addresses: VettedAddress[];
  if (literal !== 0) {
    addresses = [{ address: host, family: literal === 6 ? 6 : 4 }];
  } else {
    try {
      addresses = await resolver(host);
    } catch (err) {
      throw new VlpError('INPUT_IMAGE_INVALID', 'image URL host could not be resolved', { cause: err });
    }
  }
  if (addresses.length === 0) throw new VlpError('INPUT_IMAGE_INVALID', 'image URL host has no address');
  if (!allowPrivate) {
    for (const a of addresses) {
      const kind = addressKind(a.address);
      if (kind !== 'public') {
        throw new VlpError('INPUT_IMAGE_URL_FORBIDDEN', `image URL refused: host resolves to a non-public address (${kind})`);
      }
    }
  }
  return addresses;
}
