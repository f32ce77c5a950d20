// Classifies an IP address as public or as one of the non-public kinds an image fetch must not
// reach (SSRF guard). Parses addresses itself so IPv4-mapped and 6to4/NAT64 forms are unwrapped.
import { isIPv4, isIPv6 } from 'node:net';

export type AddressKind =
  | 'public'
  | 'unspecified'
  | 'loopback'
  | 'private'
  | 'link-local'
  | 'shared' // RFC 6598 carrier-grade NAT, 100.64.0.0/10
  | 'multicast'
  | 'unique-local' // IPv6 fc00::/7
  | 'reserved' // documentation, benchmarking, broadcast, deprecated and other special-purpose ranges
  | 'invalid';

/** IPv4 special-purpose ranges (IANA registry), as [first octets, prefix bits, kind]. */
const V4_RANGES: ReadonlyArray<readonly [readonly number[], number, AddressKind]> = [
  [[0], 8, 'unspecified'], // "this network"
  [[10], 8, 'private'],
  [[100, 64], 10, 'shared'],
  [[127], 8, 'loopback'],
  [[169, 254], 16, 'link-local'],
  [[172, 16], 12, 'private'],
  [[192, 0, 0], 24, 'reserved'], // IETF protocol assignments
  [[192, 0, 2], 24, 'reserved'], // TEST-NET-1
  [[192, 88, 99], 24, 'reserved'], // 6to4 relay anycast
  [[192, 168], 16, 'private'],
  [[198, 18], 15, 'reserved'], // benchmarking
  [[198, 51, 100], 24, 'reserved'], // TEST-NET-2
  [[203, 0, 113], 24, 'reserved'], // TEST-NET-3
  [[224], 4, 'multicast'],
  [[240], 4, 'reserved'], // includes 255.255.255.255
];

/** IPv6 ranges denied inside 2000::/3 (everything outside it is non-public too). */
const V6_RANGES: ReadonlyArray<readonly [readonly number[], number, AddressKind]> = [
  [[0x20, 0x01, 0x00], 23, 'reserved'], // IETF protocol assignments, incl. Teredo 2001::/32
  [[0x20, 0x01, 0x0d, 0xb8], 32, 'reserved'], // documentation
  [[0x3f, 0xff, 0x00], 20, 'reserved'], // documentation
];

function inPrefix(bytes: Uint8Array, prefix: readonly number[], bits: number): boolean {
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if (((bytes[i] ?? 0) & mask) !== ((prefix[i] ?? 0) & mask)) return false;
  }
  return true;
}

function parseIPv4(s: string): Uint8Array | undefined {
  if (!isIPv4(s)) return undefined;
  return Uint8Array.from(s.split('.'), Number);
}

/** 16 bytes of an IPv6 address (zone id ignored; a dotted IPv4 tail allowed). */
export function parseIPv6(s: string): Uint8Array | undefined {
  const zone = s.indexOf('%');
  const addr = zone >= 0 ? s.slice(0, zone) : s;
  if (!isIPv6(addr)) return undefined;
  let text = addr;
  const lastColon = text.lastIndexOf(':');
  const tail = text.slice(lastColon + 1);
  if (tail.includes('.')) {
    const v4 = parseIPv4(tail);
    if (v4 === undefined) return undefined;
    const hi = ((v4[0] ?? 0) << 8) | (v4[1] ?? 0);
    const lo = ((v4[2] ?? 0) << 8) | (v4[3] ?? 0);
    text = `${text.slice(0, lastColon + 1)}${hi.toString(16)}:${lo.toString(16)}`;
  }
  const [head = '', rest] = text.split('::');
  const headGroups = head === '' ? [] : head.split(':');
  const restGroups = rest === undefined || rest === '' ? [] : rest.split(':');
  const zeros = rest === undefined ? 0 : 8 - headGroups.length - restGroups.length;
  const groups = [...headGroups, ...Array<string>(zeros).fill('0'), ...restGroups];
  if (groups.length !== 8) return undefined;
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    const v = parseInt(g, 16);
    out[2 * i] = v >> 8;
    out[2 * i + 1] = v & 0xff;
  });
  return out;
}

function v4Kind(b: Uint8Array): AddressKind {
  for (const [prefix, bits, kind] of V4_RANGES) if (inPrefix(b, prefix, bits)) return kind;
  return 'public';
}

function v6Kind(b: Uint8Array): AddressKind {
  const firstTen = b.subarray(0, 10).every((x) => x === 0);
  if (firstTen && b[10] === 0xff && b[11] === 0xff) return v4Kind(b.subarray(12)); // ::ffff:a.b.c.d
  if (b.every((x) => x === 0)) return 'unspecified';
  if (b.subarray(0, 15).every((x) => x === 0) && b[15] === 1) return 'loopback';
  if (inPrefix(b, [0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0], 96)) return v4Kind(b.subarray(12)); // NAT64
  if (inPrefix(b, [0x20, 0x02], 16)) return v4Kind(b.subarray(2, 6)); // 6to4
  if (inPrefix(b, [0xfc], 7)) return 'unique-local';
  if (inPrefix(b, [0xfe, 0x80], 10)) return 'link-local';
  if (inPrefix(b, [0xfe, 0xc0], 10)) return 'private'; // deprecated site-local
  if (inPrefix(b, [0xff], 8)) return 'multicast';
  if (!inPrefix(b, [0x20], 3)) return 'reserved'; // not global unicast (incl. ::a.b.c.d, 64:ff9b:1::/48, 100::/64)
  for (const [prefix, bits, kind] of V6_RANGES) if (inPrefix(b, prefix, bits)) return kind;
  return 'public';
}

/** What kind of address `ip` is (IPv4 dotted quad or IPv6 text, brackets allowed). */
export function addressKind(ip: string): AddressKind {
  const v4 = parseIPv4(ip);
  if (v4 !== undefined) return v4Kind(v4);
  const bare = ip.startsWith('[') && ip.endsWith(']') ? ip.slice(1, -1) : ip;
  const v6 = parseIPv6(bare);
  return v6 === undefined ? 'invalid' : v6Kind(v6);
}

export function isPublicAddress(ip: string): boolean {
  return addressKind(ip) === 'public';
}
