// Ogg page checksum: CRC-32, polynomial 0x04c11db7, no reflection, initial value 0, computed over
// the page with its checksum field zeroed (RFC 3533 §6).
const TABLE: Uint32Array = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let r = i << 24;
    for (let k = 0; k < 8; k++) r = r & 0x80000000 ? (r << 1) ^ 0x04c11db7 : r << 1;
    t[i] = r >>> 0;
  }
  return t;
})();

/** CRC of `page` (header + segment table + body) as the page's bytes 22..25 must hold it. */
export function oggPageCrc(page: Uint8Array): number {
  let crc = 0;
  for (let i = 0; i < page.length; i++) {
    const b = i >= 22 && i < 26 ? 0 : (page[i] as number);
    crc = ((crc << 8) ^ (TABLE[((crc >>> 24) ^ b) & 0xff] as number)) >>> 0;
  }
  return crc;
}
