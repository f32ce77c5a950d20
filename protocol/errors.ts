// The one catalog of stable error codes. protocol/ERRORS.md is generated from it and a test keeps
// the two in sync. Codes never change meaning; new ones are only added.

export type ErrorCategory = 'protocol' | 'session' | 'turn' | 'input' | 'upstream' | 'server';

export interface ErrorSpec {
  category: ErrorCategory;
  /** The client may retry the same request later and expect it to work. */
  retryable: boolean;
  /** When set, the server closes the WebSocket with this code right after the error frame. */
  close?: number;
  /** One line, shown in ERRORS.md. */
  summary: string;
  /** 'active' = emitted by this build; 'reserved' = defined by v1, emitted by a later build. */
  status: 'active' | 'reserved';
}

/** WebSocket close codes used by vlp.v1 (4000-4999 are application codes). */
export const CloseCode = {
  NORMAL: 1000,
  GOING_AWAY: 1001,
  PROTOCOL_ERROR: 1002,
  POLICY: 1008,
  TOO_BIG: 1009,
  INTERNAL: 1011,
  RESUME_FAILED: 4001,
  IDLE_TIMEOUT: 4002,
  SESSION_EXPIRED: 4003,
  SLOW_CONSUMER: 4008,
  SESSION_REPLACED: 4009,
} as const;

export const ERRORS = {
  // protocol: the bytes or shape of a client frame
  PROTO_MALFORMED: {
    category: 'protocol', retryable: false, status: 'active',
    summary: 'The frame is not valid msgpack (or JSON on vlp.v1.json), or not a map with a string `t`.',
  },
  PROTO_UNKNOWN_TYPE: {
    category: 'protocol', retryable: false, status: 'active',
    summary: 'The message type `t` is not a client message type of vlp.v1.',
  },
  PROTO_INVALID_FIELD: {
    category: 'protocol', retryable: false, status: 'active',
    summary: 'A required field is missing, a field has the wrong type, or an unknown field was sent.',
  },
  PROTO_FIELD_TOO_LARGE: {
    category: 'protocol', retryable: false, status: 'active',
    summary: 'A string, binary or array field is longer than its limit (limits are in ready.limits).',
  },
  PROTO_FRAME_TOO_LARGE: {
    category: 'protocol', retryable: false, status: 'active', close: CloseCode.TOO_BIG,
    summary: 'The frame is larger than max_frame_bytes; the connection is closed with 1009.',
  },
  PROTO_BINARY_REQUIRED: {
    category: 'protocol', retryable: false, status: 'active',
    summary: 'A text frame arrived on vlp.v1.msgpack (or a binary frame on vlp.v1.json).',
  },
  PROTO_NOT_IMPLEMENTED: {
    category: 'protocol', retryable: false, status: 'reserved',
    summary: 'The message type is defined in vlp.v1 but this build does not serve it yet; nothing else is affected.',
  },
  PROTO_RATE_LIMITED: {
    category: 'protocol', retryable: true, status: 'active',
    summary: 'The client sends messages faster than the per-session rate limit (the message was dropped), or sent an image.put while `images.checksInFlight` image checks were already running in the session (that image was not stored).',
  },
  // session lifecycle
  SESSION_NOT_STARTED: {
    category: 'session', retryable: false, status: 'active',
    summary: 'A message other than hello arrived before hello; send hello first.',
  },
  SESSION_ALREADY_STARTED: {
    category: 'session', retryable: false, status: 'active',
    summary: 'A second hello arrived on a session that is already started.',
  },
  SESSION_OPTION_INVALID: {
    category: 'session', retryable: false, status: 'active',
    summary: 'A session option in hello or session.update is out of range or unknown.',
  },
  SESSION_RESUME_FAILED: {
    category: 'session', retryable: false, status: 'active', close: CloseCode.RESUME_FAILED,
    summary: 'The session to resume does not exist, has expired, the token is wrong, or the frames after last_seq are no longer buffered.',
  },
  SESSION_SLOW_CONSUMER: {
    category: 'session', retryable: true, status: 'active', close: CloseCode.SLOW_CONSUMER,
    summary: 'The client reads too slowly: the bounded outbox (frames or bytes waiting) overflowed with frames that cannot be dropped, or, before hello, more than `limits.highWaterBytes` of replies were left unread.',
  },
  SESSION_IDLE_TIMEOUT: {
    category: 'session', retryable: true, status: 'active', close: CloseCode.IDLE_TIMEOUT,
    summary: 'No message arrived within the idle timeout, or the connection sent no hello within `limits.helloTimeoutMs` of opening.',
  },
  SESSION_EXPIRED: {
    category: 'session', retryable: true, status: 'active', close: CloseCode.SESSION_EXPIRED,
    summary: 'The session reached its maximum duration (`limits.maxSessionMs`, or its client token\'s `max_session_s` claim; announced by `goaway` reason `max_session`); it cannot be resumed: start a new session.',
  },
  // turns
  TURN_BUSY: {
    category: 'turn', retryable: true, status: 'active',
    summary: 'turn.start arrived while another turn is running; cancel it or wait for gen.done.',
  },
  TURN_NOT_FOUND: {
    category: 'turn', retryable: false, status: 'active',
    summary: 'turn.cancel names a turn that is not running.',
  },
  TURN_ID_REUSED: {
    category: 'turn', retryable: false, status: 'active',
    summary: 'turn.start reuses the id of an earlier turn of this session.',
  },
  // input validation before any upstream call
  INPUT_TEXT_EMPTY: {
    category: 'input', retryable: false, status: 'active',
    summary: 'turn.start text is empty or only whitespace.',
  },
  INPUT_PARAM_OUT_OF_RANGE: {
    category: 'input', retryable: false, status: 'active',
    summary: 'A generation parameter is outside its documented range (the message names it).',
  },
  INPUT_MODEL_UNKNOWN: {
    category: 'input', retryable: false, status: 'active',
    summary: 'The model id is not configured on this gateway (ready.models lists them).',
  },
  INPUT_MODEL_NOT_VISION: {
    category: 'input', retryable: false, status: 'active',
    summary: 'A turn with an image was sent to a text-only (llm) model.',
  },
  INPUT_IMAGE_NOT_FOUND: {
    category: 'input', retryable: false, status: 'active',
    summary: 'turn.start.image names an image id that was not sent with image.put.',
  },
  INPUT_IMAGE_INVALID: {
    category: 'input', retryable: false, status: 'active',
    summary: 'The image bytes are not JPEG, PNG or WebP, or do not decode.',
  },
  INPUT_IMAGE_TOO_LARGE: {
    category: 'input', retryable: false, status: 'active',
    summary: 'The image is over the byte limit or its pixel dimensions are over the limit.',
  },
  INPUT_IMAGE_URL_FORBIDDEN: {
    category: 'input', retryable: false, status: 'active',
    summary: 'The image URL host is not allowed, or resolves to a private or loopback address.',
  },
  INPUT_INTENT_UNSUPPORTED: {
    category: 'input', retryable: false, status: 'active',
    summary: 'The intent (e.g. text-to-image) cannot be served by the configured fleet.',
  },
  INPUT_SEGMENT_NO_IMAGE: {
    category: 'input', retryable: false, status: 'active',
    summary: 'A detection or segmentation turn has no image to work on.',
  },
  INPUT_WATCH_UNAVAILABLE: {
    category: 'input', retryable: false, status: 'active',
    summary: 'watch.start on a gateway with no detection service, or with watches turned off (`segmenter.watchesPerSession` 0).',
  },
  INPUT_WATCH_LIMIT: {
    category: 'input', retryable: false, status: 'active',
    summary: 'watch.start of a new id while the session already runs `segmenter.watchesPerSession` watches; stop one first.',
  },
  INPUT_WATCH_NOT_FOUND: {
    category: 'input', retryable: false, status: 'active',
    summary: 'watch.stop names no running watch of this session.',
  },
  // audio
  AUDIO_FORMAT_MISSING: {
    category: 'input', retryable: false, status: 'active',
    summary: 'audio.chunk arrived before audio.start declared the format.',
  },
  AUDIO_FORMAT_UNSUPPORTED: {
    category: 'input', retryable: false, status: 'active',
    summary: 'The declared encoding, sample rate or channel count is not supported.',
  },
  AUDIO_CHUNK_INVALID: {
    category: 'input', retryable: false, status: 'active',
    summary: 'The chunk cannot be decoded (odd PCM16 byte count, corrupt Opus, bad container).',
  },
  AUDIO_CHUNK_TOO_LARGE: {
    category: 'input', retryable: false, status: 'active',
    summary: 'The chunk is larger than max_audio_chunk_bytes.',
  },
  AUDIO_ASR_UNAVAILABLE: {
    category: 'input', retryable: false, status: 'active',
    summary: 'Voice input needs a speech recognition service and none is configured.',
  },
  AUDIO_TOO_FAST: {
    category: 'input', retryable: true, status: 'active',
    summary: 'Audio arrives faster than real time beyond the allowed factor; excess chunks are dropped.',
  },
  // upstream (model fleet) failures, mapped by each backend adapter
  UPSTREAM_UNAVAILABLE: {
    category: 'upstream', retryable: true, status: 'active',
    summary: 'The backend could not be reached (connection refused, DNS, TLS).',
  },
  UPSTREAM_OVERLOADED: {
    category: 'upstream', retryable: true, status: 'active',
    summary: 'The backend is overloaded (HTTP 429/503, TGI error_type "overloaded", WhisperLive WAIT). The frame names no wait; where the gateway retries on its own (text-model replicas, the speech recognizer) it waits what the backend named (Retry-After, WAIT), at most 300 s.',
  },
  UPSTREAM_REJECTED: {
    category: 'upstream', retryable: false, status: 'active',
    summary: 'The backend rejected the request as invalid (HTTP 4xx or TGI error_type "validation").',
  },
  UPSTREAM_GENERATION_FAILED: {
    category: 'upstream', retryable: true, status: 'active',
    summary: 'The backend failed during generation (TGI error event mid-stream, HTTP 424/500).',
  },
  UPSTREAM_RESET: {
    category: 'upstream', retryable: true, status: 'active',
    summary: 'The backend connection closed before the stream ended.',
  },
  UPSTREAM_TIMEOUT: {
    category: 'upstream', retryable: true, status: 'active',
    summary: 'The backend sent nothing within the first-token or inter-token timeout.',
  },
  UPSTREAM_PROTOCOL: {
    category: 'upstream', retryable: false, status: 'active',
    summary: 'The backend answered in a form the adapter does not understand (malformed SSE or JSON).',
  },
  // server
  SERVER_SHUTTING_DOWN: {
    category: 'server', retryable: true, status: 'active', close: CloseCode.GOING_AWAY,
    summary: 'The gateway is shutting down; reconnect (and resume) elsewhere.',
  },
  SERVER_AT_CAPACITY: {
    category: 'server', retryable: true, status: 'active', close: CloseCode.POLICY,
    summary: 'The gateway has reached `limits.maxSessions`: answered to a new connection (connections awaiting hello count as sessions) and to a hello that would start a session past it; try again later.',
  },
  SERVER_INTERNAL: {
    category: 'server', retryable: true, status: 'active',
    summary: 'An unexpected gateway fault; the session goes on.',
  },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERRORS;

export const ERROR_CODES = Object.keys(ERRORS) as ErrorCode[];

export function errorSpec(code: ErrorCode): ErrorSpec {
  return ERRORS[code];
}

/** A typed failure carrying a stable code; thrown inside the gateway, rendered as an error frame. */
export class VlpError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  /** Seconds the client (or a retry loop) should wait, when the upstream said so. */
  readonly retryAfterS: number | undefined;

  constructor(code: ErrorCode, message: string, opts: { retryAfterS?: number; cause?: unknown; retryable?: boolean } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'VlpError';
    this.code = code;
    this.retryable = opts.retryable ?? ERRORS[code].retryable;
    this.retryAfterS = opts.retryAfterS;
  }
}
