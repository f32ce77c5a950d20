// Field readers shared by the client and server message validators. Each reader returns the typed
// value or throws a FieldFault naming the field path; the validators turn faults into DecodeResults.
import { copyBytes } from './byte-pool.ts';
import type { ErrorCode } from './errors.ts';

export type Rec = Record<string, unknown>;

/** A validation failure inside a validator. Deliberately not an Error: no stack trace is captured
 *  (bad input is routine, not exceptional), and it never escapes the validators. */
export class FieldFault {
  constructor(
    readonly code: ErrorCode,
    readonly message: string,
  ) {}
}

/** A msgpack map / JSON object: a plain object, never an array, Uint8Array, Date or ExtData. */
export function isPlainMap(v: unknown): v is Rec {
  if (typeof v !== 'object' || v === null) return false;
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

export function invalid(path: string, what: string): FieldFault {
  return new FieldFault('PROTO_INVALID_FIELD', `${path} ${what}`);
}

export function tooLarge(path: string, what: string): FieldFault {
  return new FieldFault('PROTO_FIELD_TOO_LARGE', `${path} ${what}`);
}

// Unknown keys are client-chosen text: name them only when they look like a field name.
const PRINTABLE_KEY = /^[A-Za-z_$][A-Za-z0-9_$-]{0,31}$/;

export function unknownField(where: string, key: string): FieldFault {
  return PRINTABLE_KEY.test(key)
    ? invalid(`${where}.${key}`, 'is not a field of vlp.v1 (unknown field)')
    : invalid(where, 'has an unknown field');
}

/** Rejects any own or inherited enumerable key not in `allowed` (covers __proto__, constructor). */
export function checkKeys(o: Rec, allowed: ReadonlySet<string>, where: string): void {
  for (const k in o) {
    if (!allowed.has(k)) throw unknownField(where, k);
  }
}

// Absent = the key is missing or holds undefined (objects built in JS); null is a wrong type.

export function optMap(o: Rec, key: string, where: string): Rec | undefined {
  const v = o[key];
  if (v === undefined) return undefined;
  if (!isPlainMap(v)) throw invalid(`${where}.${key}`, 'must be a map');
  return v;
}

export function reqMap(o: Rec, key: string, where: string): Rec {
  const v = optMap(o, key, where);
  if (v === undefined) throw invalid(`${where}.${key}`, 'is required');
  return v;
}

/** True when `s` has more than `max` Unicode code points. The UTF-16 length is an upper bound, so
 *  code points are only counted for strings that might be over. */
export function longerThan(s: string, max: number): boolean {
  if (s.length <= max) return false;
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    // A high surrogate followed by a low one is one code point.
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
    if (++n > max) return true;
  }
  return false;
}

/** `maxChars` counts Unicode code points. */
export function optStr(o: Rec, key: string, where: string, maxChars: number): string | undefined {
  const v = o[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw invalid(`${where}.${key}`, 'must be a string');
  if (longerThan(v, maxChars)) throw tooLarge(`${where}.${key}`, `is longer than ${maxChars} characters`);
  return v;
}

export function reqStr(o: Rec, key: string, where: string, maxChars: number): string {
  const v = optStr(o, key, where, maxChars);
  if (v === undefined) throw invalid(`${where}.${key}`, 'is required');
  return v;
}

/** An id: a non-empty string of at most `maxChars`. */
export function optId(o: Rec, key: string, where: string, maxChars: number): string | undefined {
  const v = optStr(o, key, where, maxChars);
  if (v === '') throw invalid(`${where}.${key}`, 'must not be empty');
  return v;
}

export function reqId(o: Rec, key: string, where: string, maxChars: number): string {
  const v = optId(o, key, where, maxChars);
  if (v === undefined) throw invalid(`${where}.${key}`, 'is required');
  return v;
}

export function optBool(o: Rec, key: string, where: string): boolean | undefined {
  const v = o[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'boolean') throw invalid(`${where}.${key}`, 'must be a boolean');
  return v;
}

export function reqBool(o: Rec, key: string, where: string): boolean {
  const v = optBool(o, key, where);
  if (v === undefined) throw invalid(`${where}.${key}`, 'is required');
  return v;
}

/** A finite number (NaN and ±Infinity are rejected). */
export function optNum(o: Rec, key: string, where: string): number | undefined {
  const v = o[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw invalid(`${where}.${key}`, 'must be a finite number');
  return v;
}

export function reqNum(o: Rec, key: string, where: string): number {
  const v = optNum(o, key, where);
  if (v === undefined) throw invalid(`${where}.${key}`, 'is required');
  return v;
}

export function optInt(o: Rec, key: string, where: string): number | undefined {
  const v = o[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v)) throw invalid(`${where}.${key}`, 'must be an integer');
  return v;
}

export function reqInt(o: Rec, key: string, where: string): number {
  const v = optInt(o, key, where);
  if (v === undefined) throw invalid(`${where}.${key}`, 'is required');
  return v;
}

/** A non-negative safe integer (seq numbers, counters). */
export function reqCount(o: Rec, key: string, where: string): number {
  const v = o[key];
  if (v === undefined) throw invalid(`${where}.${key}`, 'is required');
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    throw invalid(`${where}.${key}`, 'must be a non-negative integer');
  }
  return v;
}

/** A positive integer (sample rates, channel counts, server seq). */
export function reqPositiveInt(o: Rec, key: string, where: string): number {
  const v = o[key];
  if (v === undefined) throw invalid(`${where}.${key}`, 'is required');
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) {
    throw invalid(`${where}.${key}`, 'must be a positive integer');
  }
  return v;
}

/** One of a fixed set of strings. */
export function reqEnum<E extends string>(o: Rec, key: string, where: string, values: ReadonlySet<E>): E {
  const v = o[key];
  if (v === undefined) throw invalid(`${where}.${key}`, 'is required');
  if (!isMember(values, v)) throw invalid(`${where}.${key}`, `must be one of ${[...values].join(', ')}`);
  return v;
}

export function optEnum<E extends string>(o: Rec, key: string, where: string, values: ReadonlySet<E>): E | undefined {
  return o[key] === undefined ? undefined : reqEnum(o, key, where, values);
}

export function isMember<E extends string>(values: ReadonlySet<E>, v: unknown): v is E {
  return typeof v === 'string' && (values as ReadonlySet<string>).has(v);
}

/** Binary data as a private, plain Uint8Array (a copy: the input may view a reused transport buffer). */
export function optBin(o: Rec, key: string, where: string, maxBytes: number): Uint8Array | undefined {
  const v = o[key];
  if (v === undefined) return undefined;
  if (!(v instanceof Uint8Array)) throw invalid(`${where}.${key}`, 'must be binary');
  if (v.byteLength > maxBytes) throw tooLarge(`${where}.${key}`, `is larger than ${maxBytes} bytes`);
  return copyBytes(v);
}

export function reqArray(o: Rec, key: string, where: string, maxItems: number): unknown[] {
  const v = optArray(o, key, where, maxItems);
  if (v === undefined) throw invalid(`${where}.${key}`, 'is required');
  return v;
}

export function optArray(o: Rec, key: string, where: string, maxItems: number): unknown[] | undefined {
  const v = o[key];
  if (v === undefined) return undefined;
  if (!Array.isArray(v)) throw invalid(`${where}.${key}`, 'must be an array');
  if (v.length > maxItems) throw tooLarge(`${where}.${key}`, `has more than ${maxItems} entries`);
  return v;
}

/** Sets dst[key] only when value is present, so built messages never carry undefined keys. */
export function put<T extends object, K extends keyof T>(dst: T, key: K, value: T[K] | undefined): void {
  if (value !== undefined) dst[key] = value;
}
