// Duration of a raw Opus packet from its TOC byte (RFC 6716 §3.1), without decoding: lets the
// real-time guard judge an Opus chunk before any CPU is spent on it.

/** Frame duration of each TOC configuration (config = toc >> 3), in 48 kHz samples. */
const FRAME_SAMPLES_48K: readonly number[] = [
  // SILK-only NB, MB, WB: 10, 20, 40, 60 ms
  480, 960, 1920, 2880, 480, 960, 1920, 2880, 480, 960, 1920, 2880,
  // Hybrid SWB, FB: 10, 20 ms
  480, 960, 480, 960,
  // CELT-only NB, WB, SWB, FB: 2.5, 5, 10, 20 ms
  120, 240, 480, 960, 120, 240, 480, 960, 120, 240, 480, 960, 120, 240, 480, 960,
];

/** Longest packet RFC 6716 allows: 120 ms. */
const MAX_PACKET_SAMPLES_48K = 5760;

/** Audio in the packet, in 48 kHz samples; undefined for a packet whose TOC is malformed. */
export function opusPacketSamples48k(packet: Uint8Array): number | undefined {
  const toc = packet[0];
  if (toc === undefined) return undefined;
  const frame = FRAME_SAMPLES_48K[toc >> 3] as number;
  let frames: number;
  switch (toc & 3) {
    case 0:
      frames = 1;
      break;
    case 1:
    case 2:
      frames = 2;
      break;
    default: {
      const count = packet[1];
      if (count === undefined) return undefined;
      frames = count & 0x3f;
      if (frames === 0) return undefined;
    }
  }
  const samples = frames * frame;
  return samples > MAX_PACKET_SAMPLES_48K ? undefined : samples;
}

/** Milliseconds of audio in a raw Opus packet (TOC), undefined when the TOC is malformed. */
export function opusPacketMs(packet: Uint8Array): number | undefined {
  const s = opusPacketSamples48k(packet);
  return s === undefined ? undefined : s / 48;
}
