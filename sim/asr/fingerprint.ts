// Acoustic fingerprint of a speech clip, robust to what happens to audio on its way to an ASR:
// resampling (22.05/48 kHz → 16 kHz), an Opus round trip, different leading silence and different
// chunking. It is the log-energy envelope of the speech in 20 ms frames, taken from the speech onset.
//
// Everything is built on 5 ms "sub-frames" (80 samples at 16 kHz) of mean-square energy, which a
// stream can accumulate on the fly at a few operations per sample (EnergyTrack); a 20 ms frame is any
// window of 4 consecutive sub-frames, so the envelope can be read at 5 ms alignment steps. Matching
// takes the smallest gain-normalised mean absolute dB difference over small shifts (±60 ms).

/** Samples per sub-frame at 16 kHz (5 ms). */
export const SUB_SAMPLES = 80;
/** Sub-frames per second. */
export const SUBS_PER_SECOND = 200;
/** Sub-frames per envelope frame (20 ms). */
export const FRAME_SUBS = 4;
/** A 20 ms window at or above this level (dBFS) is speech: the onset is the first such window. */
export const ONSET_DB = -42;
/** Envelope values are clamped to this floor (dBFS) before comparing. */
export const FLOOR_DB = -55;
/** Shift search, in sub-frames each way (12 × 5 ms = ±60 ms = ±3 frames). */
export const MAX_SHIFT_SUBS = 12;
/** Accept a match at or under this distance (mean |ΔdB| over the compared frames). */
export const MATCH_THRESHOLD_DB = 3.5;

/** ONSET_DB as a mean-square energy (compare energies, skip the logarithm). */
export const ONSET_ENERGY = 10 ** (ONSET_DB / 10);

/** Energy (mean square, full scale = 1) → dBFS, with a -120 dB floor for digital silence. */
export function toDb(meanSquare: number): number {
  return meanSquare <= 1e-12 ? -120 : 10 * Math.log10(meanSquare);
}

/**
 * Sub-frame energies of a stream, accumulated as samples arrive (O(1) per sample, no re-scans).
 * Indices are absolute sub-frame numbers since the stream began; `trim()` forgets old ones so
 * memory stays bounded on long streams.
 */
export class EnergyTrack {
  private buf: Float32Array;
  /** Absolute index of buf[0]. */
  private base = 0;
  /** Sub-frames completed (absolute end index). */
  private end = 0;
  private acc = 0;
  private accN = 0;

  constructor(initialSubs = 400) {
    this.buf = new Float32Array(Math.max(16, initialSubs));
  }

  /** Absolute index of the first sub-frame still held. */
  get first(): number {
    return this.base;
  }

  /** Number of complete sub-frames since the stream began (absolute end, exclusive). */
  get length(): number {
    return this.end;
  }

  /** Samples since the stream began (complete sub-frames plus the partial one). */
  get samples(): number {
    return this.end * SUB_SAMPLES + this.accN;
  }

  /** Mean-square energy of sub-frame `i` (absolute); 0 outside what is held. */
  at(i: number): number {
    const k = i - this.base;
    return k >= 0 && i < this.end ? (this.buf[k] as number) : 0;
  }

  /** Mean-square energy of the 20 ms window starting at sub-frame `i` (absolute). */
  windowEnergy(i: number): number {
    const k = i - this.base;
    if (k < 0 || i + FRAME_SUBS > this.end) return (this.at(i) + this.at(i + 1) + this.at(i + 2) + this.at(i + 3)) / FRAME_SUBS;
    const b = this.buf;
    return ((b[k] as number) + (b[k + 1] as number) + (b[k + 2] as number) + (b[k + 3] as number)) / FRAME_SUBS;
  }

  /** Mean dB of the 20 ms window starting at sub-frame `i` (absolute). */
  windowDb(i: number): number {
    return toDb((this.at(i) + this.at(i + 1) + this.at(i + 2) + this.at(i + 3)) / FRAME_SUBS);
  }

  /** Append float samples in [-1, 1]. Calls `onSub(index)` after each completed sub-frame. */
  pushFloat(x: Float32Array, onSub?: (index: number) => void): void {
    let acc = this.acc;
    let n = this.accN;
    let i = 0;
    const len = x.length;
    while (i < len) {
      const end = Math.min(len, i + (SUB_SAMPLES - n));
      n += end - i;
      for (; i < end; i++) {
        const v = x[i] as number;
        acc += v * v;
      }
      if (n === SUB_SAMPLES) {
        this.append(acc / SUB_SAMPLES);
        acc = 0;
        n = 0;
        if (onSub) onSub(this.end - 1);
      }
    }
    this.acc = acc;
    this.accN = n;
  }

  /** Append PCM16 samples. */
  pushInt16(x: Int16Array, onSub?: (index: number) => void): void {
    let acc = this.acc;
    let n = this.accN;
    let i = 0;
    const len = x.length;
    const k = 1 / (32768 * 32768);
    while (i < len) {
      const end = Math.min(len, i + (SUB_SAMPLES - n));
      n += end - i;
      let part = 0;
      for (; i < end; i++) {
        const v = x[i] as number;
        part += v * v;
      }
      acc += part * k;
      if (n === SUB_SAMPLES) {
        this.append(acc / SUB_SAMPLES);
        acc = 0;
        n = 0;
        if (onSub) onSub(this.end - 1);
      }
    }
    this.acc = acc;
    this.accN = n;
  }

  private append(e: number): void {
    const k = this.end - this.base;
    if (k >= this.buf.length) {
      const grown = new Float32Array(this.buf.length * 2);
      grown.set(this.buf);
      this.buf = grown;
    }
    this.buf[k] = e;
    this.end++;
  }

  /** Forget sub-frames before absolute index `keepFrom`. */
  trim(keepFrom: number): void {
    const drop = Math.min(keepFrom, this.end) - this.base;
    if (drop <= 0) return;
    this.buf.copyWithin(0, drop, this.end - this.base);
    this.base += drop;
  }

  /** Copy of sub-frame energies [from, to) (absolute), zeros where nothing is held. */
  slice(from: number, to: number): Float32Array {
    const out = new Float32Array(Math.max(0, to - from));
    for (let i = from; i < to; i++) out[i - from] = this.at(i);
    return out;
  }
}

/** Sub-frame energies of a whole buffer (the partial last sub-frame is dropped). */
export function subEnergies(samples: Int16Array | Float32Array): Float32Array {
  const t = new EnergyTrack(Math.ceil(samples.length / SUB_SAMPLES) + 1);
  if (samples instanceof Int16Array) t.pushInt16(samples);
  else t.pushFloat(samples);
  return t.slice(0, t.length);
}

/** dB of every 20 ms window starting at each sub-frame of `subs` (windows past the end are padded with silence). */
export function windowDbs(subs: Float32Array): Float32Array {
  const n = subs.length;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    out[i] = toDb(((subs[i] ?? 0) + (subs[i + 1] ?? 0) + (subs[i + 2] ?? 0) + (subs[i + 3] ?? 0)) / FRAME_SUBS);
  }
  return out;
}

/** First sub-frame index ≥ from whose 20 ms window is speech, or -1. */
export function findOnset(win: Float32Array, from = 0, to = win.length, onsetDb = ONSET_DB): number {
  for (let i = Math.max(0, from); i < to; i++) if ((win[i] as number) >= onsetDb) return i;
  return -1;
}

/** A speech region in sub-frames: [start, end), end = one past the last sub-frame of speech. */
export interface SpeechRegion {
  start: number;
  end: number;
}

/**
 * Split into speech regions: a region starts at an onset and ends when at least `gapSubs`
 * sub-frames of windows under the onset level follow (end = last speech window's end).
 */
export function speechRegions(win: Float32Array, gapSubs: number, onsetDb = ONSET_DB): SpeechRegion[] {
  const out: SpeechRegion[] = [];
  let i = findOnset(win, 0, win.length, onsetDb);
  while (i >= 0) {
    let lastVoiced = i;
    let j = i;
    for (; j < win.length; j++) {
      if ((win[j] as number) >= onsetDb) lastVoiced = j;
      else if (j - lastVoiced >= gapSubs) break;
    }
    out.push({ start: i, end: Math.min(win.length, lastVoiced + FRAME_SUBS) });
    i = j < win.length ? findOnset(win, j, win.length, onsetDb) : -1;
  }
  return out;
}

/** A clip's reference: the envelope in 20 ms frames from its onset, in dBFS (0.1 dB precision). */
export interface Fingerprint {
  /** Frame length, ms (always 20). */
  frameMs: number;
  /** Envelope values, dBFS, clamped at FLOOR_DB. */
  frames: number[];
}

/** The envelope (frame j = the window at onset + 4j) of a speech region. */
export function envelopeAt(win: Float32Array, onset: number, frames: number): number[] {
  const out: number[] = [];
  for (let j = 0; j < frames; j++) {
    const v = win[onset + j * FRAME_SUBS] ?? -120;
    out.push(Math.round(Math.max(FLOOR_DB, v) * 10) / 10);
  }
  return out;
}

/** Fingerprint of one speech region. */
export function fingerprintRegion(win: Float32Array, region: SpeechRegion): Fingerprint {
  return { frameMs: 20, frames: envelopeAt(win, region.start, Math.ceil((region.end - region.start) / FRAME_SUBS)) };
}

/**
 * Distance between a reference envelope and the audio whose window dBs are `win`, aligned so that
 * reference frame 0 sits at sub-frame `at`: the smallest, over shifts of ±maxShift sub-frames, of
 * the mean |ΔdB| over the first `frames` frames after removing the mean level difference.
 */
export function distanceAt(ref: readonly number[], win: Float32Array, at: number, frames: number, maxShift = MAX_SHIFT_SUBS): { distance: number; shift: number } {
  const m = Math.min(frames, ref.length);
  let best = Infinity;
  let bestShift = 0;
  if (m <= 0) return { distance: best, shift: 0 };
  for (let s = -maxShift; s <= maxShift; s++) {
    const origin = at + s;
    if (origin < 0) continue;
    // Level difference over frames loud in both (robust to a gain change).
    let gsum = 0;
    let gn = 0;
    for (let j = 0; j < m; j++) {
      const x = win[origin + j * FRAME_SUBS] ?? -120;
      const y = ref[j] as number;
      if (x > FLOOR_DB + 8 && y > FLOOR_DB + 8) {
        gsum += x - y;
        gn++;
      }
    }
    let g = gn >= 5 ? gsum / gn : 0;
    if (g > 12) g = 12;
    else if (g < -12) g = -12;
    let d = 0;
    for (let j = 0; j < m; j++) {
      const raw = (win[origin + j * FRAME_SUBS] ?? -120) - g;
      const x = raw < FLOOR_DB ? FLOOR_DB : raw;
      d += Math.abs(x - (ref[j] as number));
      if (d > best * m) break; // cannot win any more
    }
    d /= m;
    if (d < best) {
      best = d;
      bestShift = s;
    }
  }
  return { distance: best, shift: bestShift };
}
