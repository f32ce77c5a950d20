// The OpusHead identification header (RFC 7845 §5.1), as Ogg pages and WebM CodecPrivate carry it.

export interface OpusHead {
  channels: number;
  /** Samples (at 48 kHz) to discard from the start of the decoded stream: encoder delay. */
  preSkip48k: number;
  /** The rate of the audio before encoding (informational; Opus always decodes at our rate). */
  inputSampleRate: number;
}

const MAGIC = 'OpusHead';

/** Parses OpusHead; throws an Error describing what is wrong or unsupported. */
export function parseOpusHead(b: Uint8Array): OpusHead {
  if (b.length < 19) throw new Error(`OpusHead is ${b.length} bytes, at least 19 expected`);
  for (let i = 0; i < MAGIC.length; i++) {
    if (b[i] !== MAGIC.charCodeAt(i)) throw new Error('codec header is not OpusHead');
  }
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const version = dv.getUint8(8);
  if (version >> 4 !== 0) throw new Error(`OpusHead version ${version} is not supported`);
  const channels = dv.getUint8(9);
  const preSkip48k = dv.getUint16(10, true);
  const inputSampleRate = dv.getUint32(12, true);
  const family = dv.getUint8(18);
  if (channels < 1 || channels > 2) throw new Error(`Opus stream has ${channels} channels; mono or stereo expected`);
  if (family !== 0) {
    // Families 1 and 255 describe multistream layouts; one coupled/uncoupled stream is still a
    // plain Opus stream, anything more needs a multistream decoder.
    const streams = b.length > 19 ? dv.getUint8(19) : 0;
    if (streams !== 1) throw new Error(`multistream Opus (mapping family ${family}, ${streams} streams) is not supported`);
  }
  return { channels, preSkip48k, inputSampleRate };
}
