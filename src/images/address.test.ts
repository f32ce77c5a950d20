// The SSRF address classifier: every special-purpose IPv4/IPv6 range, IPv4-mapped, NAT64 and
// 6to4 forms unwrapped, and the IPv6 parser.
import { describe, expect, it } from 'vitest';
import { addressKind, isPublicAddress, parseIPv6 } from './address.ts';

describe('addressKind', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.255.0.9', 'loopback'],
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['169.254.169.254', 'link-local'], // cloud metadata
    ['100.64.0.1', 'shared'],
    ['100.127.255.255', 'shared'],
    ['0.0.0.0', 'unspecified'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['255.255.255.255', 'reserved'],
    ['192.0.2.10', 'reserved'],
    ['198.18.0.1', 'reserved'],
  ])('IPv4 %s is %s', (ip, kind) => {
    expect(addressKind(ip)).toBe(kind);
  });

  it.each(['8.8.8.8', '1.1.1.1', '172.32.0.1', '100.128.0.1', '192.169.0.1', '172.15.255.255'])('IPv4 %s is public', (ip) => {
    expect(isPublicAddress(ip)).toBe(true);
  });

  it.each([
    ['::1', 'loopback'],
    ['[::1]', 'loopback'],
    ['0:0:0:0:0:0:0:1', 'loopback'],
    ['::', 'unspecified'],
    ['fe80::1', 'link-local'],
    ['fe80::1%eth0', 'link-local'],
    ['fc00::1', 'unique-local'],
    ['fd12:3456:789a::1', 'unique-local'],
    ['ff02::1', 'multicast'],
    ['fec0::1', 'private'],
    ['2001:db8::1', 'reserved'],
    ['2001::1', 'reserved'], // Teredo
    ['100::1', 'reserved'],
    ['::7f00:1', 'reserved'], // IPv4-compatible (deprecated)
  ])('IPv6 %s is %s', (ip, kind) => {
    expect(addressKind(ip)).toBe(kind);
  });

  it('unwraps IPv4-mapped IPv6, in dotted and hex form', () => {
    expect(addressKind('::ffff:127.0.0.1')).toBe('loopback');
    expect(addressKind('::ffff:7f00:1')).toBe('loopback');
    expect(addressKind('::FFFF:10.0.0.1')).toBe('private');
    expect(addressKind('::ffff:169.254.169.254')).toBe('link-local');
    expect(addressKind('0:0:0:0:0:ffff:c0a8:0101')).toBe('private');
    expect(addressKind('::ffff:8.8.8.8')).toBe('public');
  });

  it('unwraps NAT64 and 6to4 addresses', () => {
    expect(addressKind('64:ff9b::127.0.0.1')).toBe('loopback');
    expect(addressKind('64:ff9b::8.8.8.8')).toBe('public');
    expect(addressKind('2002:0a00:0001::1')).toBe('private');
    expect(addressKind('2002:0808:0808::1')).toBe('public');
  });

  it('accepts global unicast IPv6', () => {
    expect(addressKind('2606:4700:4700::1111')).toBe('public');
    expect(addressKind('2a00:1450:4001:81a::200e')).toBe('public');
  });

  it('calls anything else invalid', () => {
    for (const s of ['', 'localhost', '1.2.3', '256.1.1.1', '::g', '1.2.3.4.5', '01.2.3.4x']) expect(addressKind(s)).toBe('invalid');
  });
});

describe('parseIPv6', () => {
  it('expands "::" and dotted tails to 16 bytes', () => {
    expect(Array.from(parseIPv6('1::2') ?? [])).toEqual([0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
    expect(Array.from(parseIPv6('::ffff:1.2.3.4') ?? []).slice(10)).toEqual([0xff, 0xff, 1, 2, 3, 4]);
  });
});
