// Deterministic randomness for the simulators: string hashing, seed mixing and a small fast PRNG.
import { randomBytes } from 'node:crypto';

/** A PRNG returning floats in [0, 1). */
export type Rand = () => number;

/** 32-bit FNV-1a hash of a string's UTF-16 code units. */
export function fnv1a(text: string, start = 0x811c9dc5): number {
  let h = start >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** Mix several 32-bit values into one (murmur3 finaliser on a running combination). */
export function mix32(...parts: number[]): number {
  let h = 0x9e3779b9;
  for (const p of parts) {
    h = Math.imul(h ^ (p >>> 0), 0x85ebca6b) >>> 0;
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35) >>> 0;
    h ^= h >>> 16;
  }
  return h >>> 0;
}

/** Split a u64 seed into two 32-bit halves for mixing. */
export function seedParts(seed: bigint): [number, number] {
  return [Number(seed & 0xffffffffn), Number((seed >> 32n) & 0xffffffffn)];
}

/** mulberry32: tiny, fast and good enough for simulated text and jitter. */
export function mulberry32(seed: number): Rand {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A random u64, like Rust's `thread_rng().gen::<u64>()` that TGI uses when no seed is sent. */
export function randomU64(): bigint {
  return randomBytes(8).readBigUInt64BE(0);
}

/** Integer in [min, max] (inclusive) from a PRNG. */
export function randInt(rand: Rand, min: number, max: number): number {
  return min + Math.floor(rand() * (max - min + 1));
}
