// The outcome of decoding or validating one frame: the typed message, or a stable error code with a
// message that names fields but never echoes their values.
import type { ErrorCode } from './errors.ts';

export type DecodeResult<M> =
  | { ok: true; msg: M }
  | {
      ok: false;
      code: ErrorCode;
      message: string;
      /** The message type `t`, when it was read and is a known type. */
      ref?: string;
    };

export type DecodeFailure = Extract<DecodeResult<never>, { ok: false }>;

export function decodeFailure(code: ErrorCode, message: string, ref?: string): DecodeFailure {
  return ref === undefined ? { ok: false, code, message } : { ok: false, code, message, ref };
}
