// The one place that maps SageMaker runtime failures to stable VlpError codes: SDK exceptions thrown
// by send() before the stream, exception events thrown from the Body iterator, credential/region
// resolution, transport errors, timeouts and protocol faults — for every SageMaker adapter (text
// generation, Whisper ASR, Grounded-SAM). TGI's in-band error events inside the payload are mapped by
// tgi/events.ts, as for the native adapter. Messages never carry credentials, the prompt, or
// container text that could echo it; AWS account ids are masked.
//
// No mapping keeps the SDK error as the cause (logs print the cause chain): its message can quote
// the request (a ValidationError names the offending value, a ModelError carries the container's raw
// answer, a deserialization failure quotes the reply body) and it holds the raw HTTP response in a
// hidden `$response`. What is kept is said in the message: the exception name, the HTTP status and
// the request id (sdkFacts), and a Retry-After as retryAfterS.
import { VlpError } from '../../../protocol/errors.ts';
import type { ErrorCode } from '../../../protocol/errors.ts';
import { cappedRetryAfter, cutText, errorCodeOf, jsonErrorText, UNREACHABLE_CODES } from '../http/upstream-errors.ts';

/** AWS messages name the account ("Endpoint x of account 123456789012 not found."). */
function clean(s: string): string {
  return cutText(s.replace(/\b\d{12}\b/g, '<account>'));
}

/** AWS's member reference in a validation message: " at 'customAttributes' failed to satisfy
 *  constraint". Only that exact template keeps its quoted member name. */
const MEMBER_REF = /\bat (['"`])([A-Za-z][\w.[\]-]{0,63})\1 failed to satisfy constraint/g;
/** A quote opens only after a non-word character, so apostrophes ("doesn't") do not. */
const OPENING_QUOTE = /(?<!\w)['"`]/;

/** AWS's own text for a message: everything between quotes is withheld (it can be request content),
 *  greedily — from an opening quote to the last quote of the same kind before the next member
 *  reference — so a value holding quotes of its own cannot leak its tail; a quote that never
 *  closes ends the text there. Member names of AWS's "at '<member>' failed to satisfy constraint"
 *  are kept. Account ids masked, cut to 200 characters. */
export function awsText(s: string): string {
  let out = '';
  let from = 0;
  for (const m of s.matchAll(MEMBER_REF)) {
    const seg = withhold(s.slice(from, m.index));
    out += seg.text;
    if (seg.cut) return clean(out);
    out += m[0];
    from = m.index + m[0].length;
  }
  return clean(out + withhold(s.slice(from)).text);
}

/** `seg` with its quoted spans withheld; `cut` when a quote opened and never closed. */
function withhold(seg: string): { text: string; cut: boolean } {
  const open = seg.search(OPENING_QUOTE);
  if (open < 0) return { text: seg, cut: false };
  const q = seg[open] as string;
  const close = seg.lastIndexOf(q);
  if (close === open) return { text: `${seg.slice(0, open)}…`, cut: true };
  const rest = withhold(seg.slice(close + 1));
  return { text: `${seg.slice(0, open)}${q}…${q}${rest.text}`, cut: rest.cut };
}

function field(err: object, key: string): unknown {
  return (err as Record<string, unknown>)[key];
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

/** The safe facts of an SDK error: its name (an identifier, else "Error"), the HTTP status and request
 *  id from `$metadata`, and the Retry-After header of the hidden raw response. */
export interface SdkFacts {
  name: string;
  status: number | undefined;
  requestId: string | undefined;
  retryAfter: string | string[] | undefined;
}

const NAME = /^[A-Za-z][\w.:-]{0,79}$/;
const REQUEST_ID = /^[\w.:/+=-]{1,128}$/;

export function sdkFacts(err: object): SdkFacts {
  const rawName = str(field(err, 'name'));
  const meta = field(err, '$metadata');
  const status = typeof meta === 'object' && meta !== null ? field(meta, 'httpStatusCode') : undefined;
  const requestId = typeof meta === 'object' && meta !== null ? str(field(meta, 'requestId')) : undefined;
  const response = field(err, '$response');
  const headers = typeof response === 'object' && response !== null ? field(response, 'headers') : undefined;
  const retryAfter = typeof headers === 'object' && headers !== null ? field(headers, 'retry-after') : undefined;
  return {
    name: rawName !== undefined && NAME.test(rawName) ? rawName : 'Error',
    status: typeof status === 'number' && Number.isInteger(status) ? status : undefined,
    requestId: requestId !== undefined && REQUEST_ID.test(requestId) ? requestId : undefined,
    retryAfter: typeof retryAfter === 'string' || (Array.isArray(retryAfter) && retryAfter.every((v) => typeof v === 'string')) ? (retryAfter as string | string[]) : undefined,
  };
}

/** " (HTTP 400, request id …)", or "" when neither is known. */
function factsSuffix(f: SdkFacts, withStatus: boolean): string {
  const parts: string[] = [];
  if (withStatus && f.status !== undefined) parts.push(`HTTP ${f.status}`);
  if (f.requestId !== undefined) parts.push(`request id ${f.requestId}`);
  return parts.length === 0 ? '' : ` (${parts.join(', ')})`;
}

/** ModelError: the container answered non-2xx; code by its status, as the TGI adapter maps HTTP.
 *  Also the status of an error reply the SDK could not read. */
function statusCode(status: number | undefined): ErrorCode {
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
 * caller before calling this. The result never has a cause (see the top of this file).
 */
export function sageMakerError(err: unknown, phase: 'request' | 'stream'): VlpError {
  if (typeof err !== 'object' || err === null) return new VlpError('UPSTREAM_RESET', 'SageMaker request failed');
  const facts = sdkFacts(err);
  const { name } = facts;
  const message = str(field(err, 'message')) ?? '';
  /** The VlpError: `what` plus the facts; an overload carries the Retry-After (at most 300 s). */
  const fail = (code: ErrorCode, what: string, opts: { retryable?: boolean; withStatus?: boolean } = {}): VlpError => {
    const retryAfterS = code === 'UPSTREAM_OVERLOADED' ? cappedRetryAfter(facts.retryAfter) : undefined;
    return new VlpError(code, `${what}${factsSuffix(facts, opts.withStatus ?? true)}`, {
      ...(opts.retryable === undefined ? {} : { retryable: opts.retryable }),
      ...(retryAfterS === undefined ? {} : { retryAfterS }),
    });
  };
  switch (name) {
    // Exception events of the response stream.
    case 'ModelStreamError': {
      const code = str(field(err, 'ErrorCode'));
      if (code === 'ModelInvocationTimeExceeded') return fail('UPSTREAM_TIMEOUT', 'SageMaker ModelStreamError: the model invocation time limit was exceeded');
      // StreamBroken: the stream from the container broke before it ended, the SageMaker-side
      // equivalent of a reset connection (retryable before the first token, like any reset).
      if (code === 'StreamBroken') return fail('UPSTREAM_RESET', 'SageMaker ModelStreamError: the model stream broke (StreamBroken)');
      return fail('UPSTREAM_GENERATION_FAILED', `SageMaker ModelStreamError (${code === undefined ? 'no ErrorCode' : awsText(code)})`);
    }
    case 'InternalStreamFailure':
      return fail('UPSTREAM_GENERATION_FAILED', 'SageMaker InternalStreamFailure: the response stream failed inside SageMaker');
    // Exceptions before the stream.
    case 'ValidationError':
      return fail('UPSTREAM_REJECTED', `SageMaker ValidationError: ${awsText(message)}`);
    case 'ModelError': {
      const status = field(err, 'OriginalStatusCode');
      const s = typeof status === 'number' ? status : undefined;
      // The SDK error's message and OriginalMessage are the container's raw answer, which may quote
      // the request (a deserializer rejecting the prompt): only TGI's JSON error text is shown.
      const text = jsonErrorText(str(field(err, 'OriginalMessage')));
      // The HTTP status of a ModelError is always 424; the container's is the one that counts.
      return fail(statusCode(s), `SageMaker ModelError: the model container answered HTTP ${s ?? '?'}${text === undefined ? '' : `: ${clean(text)}`}`, { withStatus: false });
    }
    case 'ModelNotReadyException':
    case 'ServiceUnavailable':
    case 'ThrottlingException': // real, not modeled for this API (arrives as a generic service exception)
      return fail('UPSTREAM_OVERLOADED', `SageMaker ${name}: ${awsText(message)}`);
    case 'InternalFailure':
    case 'InternalDependencyException':
      return fail('UPSTREAM_GENERATION_FAILED', `SageMaker ${name}: ${awsText(message)}`);
    case 'CredentialsProviderError':
    case 'TokenProviderError':
      // The provider's text may name files or profiles; never the secrets, but keep it generic.
      return fail('UPSTREAM_UNAVAILABLE', 'SageMaker: AWS credentials could not be resolved (standard provider chain)');
    case 'TimeoutError': {
      // smithy marks a reset socket as a transient "TimeoutError"; the node code says what it was.
      const code = errorCodeOf(err);
      if (code === 'ECONNRESET' || code === 'EPIPE') {
        return fail('UPSTREAM_RESET', `SageMaker connection closed before the ${phase === 'request' ? 'answer' : 'stream ended'} (${code})`);
      }
      return fail('UPSTREAM_TIMEOUT', 'SageMaker request timed out');
    }
    default:
      break;
  }
  if (message === 'Region is missing' || message.startsWith('expected `region`') || message.includes('Missing Region')) {
    // Configuration errors: another attempt cannot succeed.
    return fail('UPSTREAM_UNAVAILABLE', 'SageMaker: no AWS region configured (set it on the model or AWS_REGION)', { retryable: false });
  }
  if (message.startsWith('Region not accepted')) {
    return fail('UPSTREAM_UNAVAILABLE', 'SageMaker: the configured AWS region is not valid', { retryable: false });
  }
  if (AUTH_REJECTIONS.has(name)) return fail('UPSTREAM_UNAVAILABLE', `SageMaker rejected the AWS credentials (${name})`);
  const fault = field(err, '$fault');
  if (fault === 'client' || fault === 'server') {
    // An unmodeled service exception: 429/503-like names are overload, others by fault side.
    if (facts.status === 429 || facts.status === 503 || /throttl/i.test(name)) return fail('UPSTREAM_OVERLOADED', `SageMaker ${name}`);
    return fail(fault === 'client' ? 'UPSTREAM_REJECTED' : 'UPSTREAM_GENERATION_FAILED', `SageMaker ${name}: ${awsText(message)}`);
  }
  // Event-stream framing faults raised by the SDK's decoder (send() reads the first event too).
  if (/checksum|Unrecognizable event type|message too short|message length|header type tag/i.test(message)) {
    return sageMakerProtocolError('corrupt event-stream message');
  }
  if (phase === 'request' && facts.status !== undefined && facts.status >= 300) {
    // An error reply the SDK could not read (a proxy's page, a body that is not AWS JSON: its error
    // quotes that body). The runtime (or something in front of it) answered: map by the status.
    return fail(statusCode(facts.status), `SageMaker answered with an unreadable error reply (${name})`);
  }
  const code = errorCodeOf(err);
  const truncated = message.startsWith('Truncated event message');
  if (phase === 'request' && !truncated && (code === undefined || UNREACHABLE_CODES.has(code))) {
    return fail('UPSTREAM_UNAVAILABLE', `SageMaker runtime unreachable (${code ?? name})`);
  }
  return fail('UPSTREAM_RESET', `SageMaker connection closed before the stream ended (${code ?? name})`);
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
