// The SDK's one error type: a protocol error code from the server's error frame, or a client-side
// code (connect failure, timeout, closed socket, slow consumer, audio input) with a retryable flag.
import type { ErrorCode } from '../../protocol/errors.ts';

/** Failures detected by the client itself (never sent by the gateway). */
export type ClientErrorCode =
  | 'CLIENT_CONNECT_FAILED'
  /** The gateway answered the handshake 401: credentials missing, wrong or expired (apiKey, token). */
  | 'CLIENT_UNAUTHORIZED'
  /** The gateway answered the handshake 403 (Origin not allowed). */
  | 'CLIENT_FORBIDDEN'
  | 'CLIENT_TIMEOUT'
  | 'CLIENT_CLOSED'
  | 'CLIENT_SLOW_CONSUMER'
  /** An audio file or stream the SDK cannot read or decode. */
  | 'CLIENT_AUDIO_INVALID'
  /** Decoding this audio needs ffmpeg, and no ffmpeg binary was found. */
  | 'CLIENT_FFMPEG_NOT_FOUND'
  /** The audio ended and no final transcript (asr.final) came back in time. */
  | 'CLIENT_NO_TRANSCRIPT';

export class VlpClientError extends Error {
  readonly code: ErrorCode | ClientErrorCode;
  readonly retryable: boolean;
  /** Turn the error belongs to, when any. */
  readonly turn: string | undefined;
  /** WebSocket close code, when the error comes from a close. */
  readonly closeCode: number | undefined;

  constructor(
    code: ErrorCode | ClientErrorCode,
    message: string,
    opts: { retryable: boolean; turn?: string; closeCode?: number; cause?: unknown },
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'VlpClientError';
    this.code = code;
    this.retryable = opts.retryable;
    this.turn = opts.turn;
    this.closeCode = opts.closeCode;
  }
}
