// The one place that maps SageMaker runtime failures to stable VlpError codes: SDK exceptions thrown
// by send() before the stream, exception events thrown from the Body iterator, credential/region
// resolution, transport errors, timeouts and protocol faults. TGI's in-band error events inside the
// payload are mapped by tgi/events.ts, as for the native adapter. Messages never carry credentials,
// the prompt, or container text that could echo it; AWS account ids are masked.
import { VlpError } from '../../../protocol/errors.ts';
import type { ErrorCode } from '../../../protocol/errors.ts';
import { cutText, errorCodeOf, jsonErrorText, UNREACHABLE_CODES } from '../http/upstream-errors.ts';

/** AWS messages name the account ("Endpoint x of account 123456789012 not found."). */
function clean(s: string): string {
  return cutText(s.replace(/\b\d{12}\b/g, '<account>'));
}

function field(err: object, key: string): unknown {
  return (err as Record<string, unknown>)[key];
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

/** ModelError: the container answered non-2xx; code by its status, as the TGI adapter maps HTTP. */
function modelErrorCode(status: number | undefined): ErrorCode {
  switch (status) {
    case 429:
    case 503:
      return 'UPSTREAM_OVERLOADED';
    case 400:
    case 413:
    case 415:
    case 422:
      return 'UPSTREAM_REJECTED';
    default: // 424 generation, 500, 0 (no answer: container crashed or timed out), anything else
      return 'UPSTREAM_GENERATION_FAILED';
  }
}

/** AWS rejected who we are (bad, expired or unauthorised credentials): a deployment problem. */
const AUTH_REJECTIONS = new Set([
  'UnrecognizedClientException', 'InvalidSignatureException', 'SignatureDoesNotMatch', 'IncompleteSignature',
  'MissingAuthenticationToken', 'InvalidClientTokenId', 'ExpiredTokenException', 'ExpiredToken', 'AccessDeniedException',
]);

/**
 * Maps anything thrown by `client.send()` (phase 'request'; note send() already waits for the first
 * stream event) or by the `Body` iterator (phase 'stream'). Abort and stall are decided by the
 * caller before calling this.
 */
export function sageMakerError(err: unknown, phase: 'request' | 'stream'): VlpError {
  if (typeof err !== 'object' || err === null) return new VlpError('UPSTREAM_RESET', 'SageMaker request failed', { cause: err });
  const name = str(field(err, 'name')) ?? 'Error';
  const message = str(field(err, 'message')) ?? '';
  const opts = { cause: err };
  switch (name) {
    // Exception events of the response stream.
    case 'ModelStreamError': {
      const code = str(field(err, 'ErrorCode'));
      if (code === 'ModelInvocationTimeExceeded') return new VlpError('UPSTREAM_TIMEOUT', 'SageMaker ModelStreamError: the model invocation time limit was exceeded', opts);
      // StreamBroken: the stream from the container broke before it ended, the SageMaker-side
      // equivalent of a reset connection (retryable before the first token, like any reset).
      if (code === 'StreamBroken') return new VlpError('UPSTREAM_RESET', 'SageMaker ModelStreamError: the model stream broke (StreamBroken)', opts);
      return new VlpError('UPSTREAM_GENERATION_FAILED', `SageMaker ModelStreamError (${clean(code ?? 'no ErrorCode')})`, opts);
    }
    case 'InternalStreamFailure':
      return new VlpError('UPSTREAM_GENERATION_FAILED', 'SageMaker InternalStreamFailure: the response stream failed inside SageMaker', opts);
    // Exceptions before the stream.
    case 'ValidationError':
      return new VlpError('UPSTREAM_REJECTED', `SageMaker ValidationError: ${clean(message)}`, opts);
    case 'ModelError': {
      const status = field(err, 'OriginalStatusCode');
      const s = typeof status === 'number' ? status : undefined;
      const text = jsonErrorText(str(field(err, 'OriginalMessage')));
      // No cause: the SDK error's message and OriginalMessage are the container's raw answer, which
      // may quote the request (a deserializer rejecting the prompt) — the case jsonErrorText withholds.
      return new VlpError(modelErrorCode(s), `SageMaker ModelError: the model container answered HTTP ${s ?? '?'}${text === undefined ? '' : `: ${clean(text)}`}`);
    }
    case 'ModelNotReadyException':
    case 'ServiceUnavailable':
    case 'ThrottlingException': // real, not modeled for this API (arrives as a generic service exception)
      return new VlpError('UPSTREAM_OVERLOADED', `SageMaker ${name}: ${clean(message)}`, opts);
    case 'InternalFailure':
    case 'InternalDependencyException':
      return new VlpError('UPSTREAM_GENERATION_FAILED', `SageMaker ${name}: ${clean(message)}`, opts);
    case 'CredentialsProviderError':
    case 'TokenProviderError':
      // The provider's text may name files or profiles; never the secrets, but keep it generic.
      return new VlpError('UPSTREAM_UNAVAILABLE', 'SageMaker: AWS credentials could not be resolved (standard provider chain)', opts);
    case 'TimeoutError': {
      // smithy marks a reset socket as a transient "TimeoutError"; the node code says what it was.
      const code = errorCodeOf(err);
      if (code === 'ECONNRESET' || code === 'EPIPE') {
        return new VlpError('UPSTREAM_RESET', `SageMaker connection closed before the ${phase === 'request' ? 'answer' : 'stream ended'} (${code})`, opts);
      }
      return new VlpError('UPSTREAM_TIMEOUT', 'SageMaker request timed out', opts);
    }
    default:
      break;
  }
  if (message === 'Region is missing' || message.startsWith('expected `region`') || message.includes('Missing Region')) {
    // Configuration errors: another attempt cannot succeed.
    return new VlpError('UPSTREAM_UNAVAILABLE', 'SageMaker: no AWS region configured (set it on the model or AWS_REGION)', { ...opts, retryable: false });
  }
  if (message.startsWith('Region not accepted')) {
    return new VlpError('UPSTREAM_UNAVAILABLE', 'SageMaker: the configured AWS region is not valid', { ...opts, retryable: false });
  }
  if (AUTH_REJECTIONS.has(name)) return new VlpError('UPSTREAM_UNAVAILABLE', `SageMaker rejected the AWS credentials (${name})`, opts);
  const fault = field(err, '$fault');
  if (fault === 'client' || fault === 'server') {
    // An unmodeled service exception: 429/503-like names are overload, others by fault side.
    const meta = field(err, '$metadata');
    const httpStatus = typeof meta === 'object' && meta !== null ? field(meta, 'httpStatusCode') : undefined;
    if (httpStatus === 429 || httpStatus === 503 || /throttl/i.test(name)) return new VlpError('UPSTREAM_OVERLOADED', `SageMaker ${clean(name)}`, opts);
    return new VlpError(fault === 'client' ? 'UPSTREAM_REJECTED' : 'UPSTREAM_GENERATION_FAILED', `SageMaker ${clean(name)}: ${clean(message)}`, opts);
  }
  // Event-stream framing faults raised by the SDK's decoder (send() reads the first event too).
  if (/checksum|Unrecognizable event type|message too short|message length|header type tag/i.test(message)) {
    return sageMakerProtocolError('corrupt event-stream message');
  }
  const code = errorCodeOf(err);
  const truncated = message.startsWith('Truncated event message');
  if (phase === 'request' && !truncated && (code === undefined || UNREACHABLE_CODES.has(code))) {
    return new VlpError('UPSTREAM_UNAVAILABLE', `SageMaker runtime unreachable (${code ?? clean(name)})`, opts);
  }
  return new VlpError('UPSTREAM_RESET', `SageMaker connection closed before the stream ended (${code ?? clean(name)})`, opts);
}

export function sageMakerTimeoutError(kind: 'first-token' | 'inter-token', ms: number): VlpError {
  return new VlpError('UPSTREAM_TIMEOUT', `SageMaker sent no token within the ${kind} timeout of ${ms} ms`);
}

/** The event stream ended cleanly but without TGI's final event. */
export function sageMakerEndedEarlyError(): VlpError {
  return new VlpError('UPSTREAM_RESET', 'SageMaker stream ended without a final event');
}

/** `what` is a fixed description; never pass upstream bytes (they may echo the prompt). Takes no
 *  cause on purpose: a parser's or decoder's error quotes the bytes it failed on. */
export function sageMakerProtocolError(what: string): VlpError {
  return new VlpError('UPSTREAM_PROTOCOL', `SageMaker protocol error: ${what}`);
}
