// Generation-parameter range checks (TGI's router/src/validation.rs rules, tightened where TGI
// would fail later anyway) and layering of parameter sets: model defaults < session < turn.
import { VlpError } from '../../protocol/errors.ts';
import type { GenParams } from '../../protocol/messages.ts';

export interface ParamLimits {
  /** Largest accepted max_new_tokens (tokens). */
  maxNewTokens: number;
  /** Most stop sequences per request (TGI's max_stop_sequences, default 4). */
  maxStop: number;
  /** Longest stop sequence, in characters (Unicode code points). */
  maxStopChars: number;
}

/** Every GenParams key, in the order the checked copy lists them. */
const KEYS = [
  'max_new_tokens', 'temperature', 'top_k', 'top_p', 'typical_p', 'repetition_penalty', 'stop', 'seed',
  'do_sample', 'truncate', 'watermark', 'best_of', 'return_full_text', 'decoder_input_details', 'details',
] as const satisfies readonly (keyof GenParams)[];

function outOfRange(field: string, rule: string): VlpError {
  // Messages name the field and its rule only: never the value, so stop strings and other user
  // text are not echoed back (or into logs).
  return new VlpError('INPUT_PARAM_OUT_OF_RANGE', `\`${field}\` must be ${rule}`);
}

function intIn(p: GenParams, field: keyof GenParams, min: number, max: number, rule: string): void {
  const v = p[field];
  if (v === undefined) return;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw outOfRange(field, rule);
}

/** Checks a real number: `lo < v` (or `lo <= v` with loInclusive) and `v < hi` (or `v <= hi`). */
function realIn(p: GenParams, field: keyof GenParams, lo: number, hi: number, hiInclusive: boolean, rule: string): void {
  const v = p[field];
  if (v === undefined) return;
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= lo || (hiInclusive ? v > hi : v >= hi)) {
    throw outOfRange(field, rule);
  }
}

function bool(p: GenParams, field: keyof GenParams): void {
  const v = p[field];
  if (v !== undefined && typeof v !== 'boolean') throw outOfRange(field, 'a boolean');
}

/** Length in Unicode code points; UTF-16 length is an upper bound, so count only when needed. */
function codePoints(s: string, atMost: number): number {
  if (s.length <= atMost) return s.length;
  let n = 0;
  for (const _ of s) n++;
  return n;
}

function checkStop(stop: unknown, limits: ParamLimits): void {
  if (stop === undefined) return;
  const rule = `a list of at most ${limits.maxStop} strings of 1..${limits.maxStopChars} characters`;
  if (!Array.isArray(stop) || stop.length > limits.maxStop) throw outOfRange('stop', rule);
  for (let i = 0; i < stop.length; i++) {
    const s: unknown = stop[i];
    if (typeof s !== 'string' || s.length === 0 || codePoints(s, limits.maxStopChars) > limits.maxStopChars) {
      throw outOfRange(`stop[${i}]`, `1..${limits.maxStopChars} characters long`);
    }
  }
}

/** Validates `p` against TGI's rules and returns a copy holding only the known, defined fields.
 *  Throws VlpError('INPUT_PARAM_OUT_OF_RANGE') naming the first offending field. */
export function checkGenParams(p: GenParams, limits: ParamLimits): GenParams {
  intIn(p, 'max_new_tokens', 1, limits.maxNewTokens, `an integer in 1..${limits.maxNewTokens}`);
  realIn(p, 'temperature', 0, 100, true, '> 0 and <= 100');
  intIn(p, 'top_k', 1, Number.MAX_SAFE_INTEGER, 'an integer >= 1');
  realIn(p, 'top_p', 0, 1, false, '> 0 and < 1');
  realIn(p, 'typical_p', 0, 1, false, '> 0 and < 1');
  realIn(p, 'repetition_penalty', 0, 100, true, '> 0 and <= 100');
  checkStop(p.stop, limits);
  intIn(p, 'seed', 0, Number.MAX_SAFE_INTEGER, `an integer in 0..${Number.MAX_SAFE_INTEGER}`);
  intIn(p, 'truncate', 1, Number.MAX_SAFE_INTEGER, 'an integer >= 1');
  // best_of > 1 and decoder_input_details are rejected by TGI on streaming requests.
  intIn(p, 'best_of', 1, 1, '1 (best_of > 1 is not supported when streaming)');
  bool(p, 'do_sample');
  bool(p, 'watermark');
  bool(p, 'return_full_text');
  bool(p, 'details');
  bool(p, 'decoder_input_details');
  if (p.decoder_input_details === true) throw outOfRange('decoder_input_details', 'false (not supported when streaming)');
  return mergeParams(p);
}

/** Layers parameter sets, later layers winning field by field (model defaults < session < turn).
 *  Undefined fields do not override; `stop` is replaced as a whole, never concatenated. */
export function mergeParams(...layers: (GenParams | undefined)[]): GenParams {
  const out: Record<string, unknown> = {};
  for (const layer of layers) {
    if (layer === undefined) continue;
    for (const k of KEYS) {
      const v = layer[k];
      if (v !== undefined) out[k] = Array.isArray(v) ? [...(v as string[])] : v;
    }
  }
  return out as GenParams;
}
