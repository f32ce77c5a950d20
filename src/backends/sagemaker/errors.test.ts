// The SageMaker error-mapping table: SDK exception classes (as the SDK builds them), stream exception
// events, credential/region/auth problems and transport errors.
import {
  InternalDependencyException,
  InternalFailure,
  InternalStreamFailure,
  ModelError,
  ModelNotReadyException,
  ModelStreamError,
  SageMakerRuntimeServiceException,
  ServiceUnavailable,
  ValidationError,
} from '@aws-sdk/client-sagemaker-runtime';
import { describe, expect, it } from 'vitest';
import type { ErrorCode } from '../../../protocol/errors.ts';
import { sageMakerError } from './errors.ts';

const meta = { $metadata: {} };
const modelError = (status: number, original = '{"error":"Model is overloaded","error_type":"overloaded"}'): ModelError =>
  new ModelError({ ...meta, message: 'Received client error', OriginalStatusCode: status, OriginalMessage: original });
const named = (name: string, extra: Record<string, unknown> = {}): Error => Object.assign(new Error('m'), { name }, extra);

describe('sageMakerError', () => {
  const table: [string, unknown, 'request' | 'stream', ErrorCode][] = [
    ['ModelStreamError ModelInvocationTimeExceeded', new ModelStreamError({ ...meta, message: 'x', ErrorCode: 'ModelInvocationTimeExceeded' }), 'stream', 'UPSTREAM_TIMEOUT'],
    ['ModelStreamError StreamBroken', new ModelStreamError({ ...meta, message: 'x', ErrorCode: 'StreamBroken' }), 'stream', 'UPSTREAM_RESET'],
    ['ModelStreamError other code', new ModelStreamError({ ...meta, message: 'x', ErrorCode: 'Other' }), 'stream', 'UPSTREAM_GENERATION_FAILED'],
    ['InternalStreamFailure', new InternalStreamFailure({ ...meta, message: 'x' }), 'stream', 'UPSTREAM_GENERATION_FAILED'],
    ['ValidationError', new ValidationError({ ...meta, message: 'Endpoint e of account 123456789012 not found.' }), 'request', 'UPSTREAM_REJECTED'],
    ['ModelError 429', modelError(429), 'request', 'UPSTREAM_OVERLOADED'],
    ['ModelError 503', modelError(503), 'request', 'UPSTREAM_OVERLOADED'],
    ['ModelError 422', modelError(422), 'request', 'UPSTREAM_REJECTED'],
    ['ModelError 400', modelError(400), 'request', 'UPSTREAM_REJECTED'],
    ['ModelError 424', modelError(424), 'request', 'UPSTREAM_GENERATION_FAILED'],
    ['ModelError 0 (no answer)', modelError(0, 'An exception occurred'), 'request', 'UPSTREAM_GENERATION_FAILED'],
    ['ModelNotReadyException', new ModelNotReadyException({ ...meta, message: 'x' }), 'request', 'UPSTREAM_OVERLOADED'],
    ['ServiceUnavailable', new ServiceUnavailable({ ...meta, message: 'x' }), 'request', 'UPSTREAM_OVERLOADED'],
    ['ThrottlingException (unmodeled)', Object.assign(new SageMakerRuntimeServiceException({ ...meta, name: 'ThrottlingException', $fault: 'client', message: 'Rate exceeded' })), 'request', 'UPSTREAM_OVERLOADED'],
    ['InternalFailure', new InternalFailure({ ...meta, message: 'x' }), 'request', 'UPSTREAM_GENERATION_FAILED'],
    ['InternalDependencyException', new InternalDependencyException({ ...meta, message: 'x' }), 'request', 'UPSTREAM_GENERATION_FAILED'],
    ['unmodeled client fault', new SageMakerRuntimeServiceException({ ...meta, name: 'SomethingNew', $fault: 'client', message: 'x' }), 'request', 'UPSTREAM_REJECTED'],
    ['unmodeled server fault', new SageMakerRuntimeServiceException({ ...meta, name: 'SomethingNew', $fault: 'server', message: 'x' }), 'request', 'UPSTREAM_GENERATION_FAILED'],
    ['CredentialsProviderError', named('CredentialsProviderError'), 'request', 'UPSTREAM_UNAVAILABLE'],
    ['Region is missing', new Error('Region is missing'), 'request', 'UPSTREAM_UNAVAILABLE'],
    ['invalid region', new Error('Region not accepted: region="" is not a valid hostname component.'), 'request', 'UPSTREAM_UNAVAILABLE'],
    ['ExpiredTokenException', new SageMakerRuntimeServiceException({ ...meta, name: 'ExpiredTokenException', $fault: 'client', message: 'x' }), 'request', 'UPSTREAM_UNAVAILABLE'],
    ['ECONNREFUSED', Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), 'request', 'UPSTREAM_UNAVAILABLE'],
    ['ENOTFOUND', Object.assign(new Error('getaddrinfo'), { code: 'ENOTFOUND' }), 'request', 'UPSTREAM_UNAVAILABLE'],
    ['ECONNRESET before the stream', Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }), 'request', 'UPSTREAM_RESET'],
    ['ECONNRESET mid-stream', Object.assign(new Error('aborted'), { code: 'ECONNRESET' }), 'stream', 'UPSTREAM_RESET'],
    ['truncated event message', new Error('Truncated event message received.'), 'request', 'UPSTREAM_RESET'],
    ['bad CRC', new Error('The message checksum (1) did not match the expected value of 2'), 'stream', 'UPSTREAM_PROTOCOL'],
    ['TimeoutError', named('TimeoutError'), 'request', 'UPSTREAM_TIMEOUT'],
    // smithy renames a reset socket's error to TimeoutError (transient marking); the code tells.
    ['TimeoutError carrying ECONNRESET', Object.assign(named('TimeoutError'), { code: 'ECONNRESET' }), 'stream', 'UPSTREAM_RESET'],
    ['TimeoutError carrying EPIPE', Object.assign(named('TimeoutError'), { code: 'EPIPE' }), 'request', 'UPSTREAM_RESET'],
  ];
  // No mapping keeps the SDK error as the cause (logs print the cause chain): a ModelError carries
  // the container's raw answer, a ValidationError or an unmodeled exception may quote the request,
  // and every service exception holds the raw HTTP response.
  for (const [what, err, phase, code] of table) {
    it(`${what} → ${code}, without a cause`, () => {
      const e = sageMakerError(err, phase);
      expect(e.code).toBe(code);
      expect(e.cause).toBeUndefined();
    });
  }

  it('masks account ids and never shows container text that is not TGI JSON', () => {
    expect(sageMakerError(new ValidationError({ ...meta, message: 'Endpoint e of account 123456789012 not found.' }), 'request').message).toBe(
      'SageMaker ValidationError: Endpoint e of account <account> not found.',
    );
    expect(sageMakerError(modelError(422, 'Failed to deserialize ... "secret prompt"'), 'request').message).toBe(
      'SageMaker ModelError: the model container answered HTTP 422',
    );
    expect(sageMakerError(modelError(429), 'request').message).toBe('SageMaker ModelError: the model container answered HTTP 429: Model is overloaded');
  });

  it('credential and region errors say what to fix without echoing provider text; a missing region is not retryable', () => {
    const cred = sageMakerError(named('CredentialsProviderError', { message: 'Could not load credentials from profile "prod"' }), 'request');
    expect(cred.message).toBe('SageMaker: AWS credentials could not be resolved (standard provider chain)');
    expect(cred.retryable).toBe(true);
    const region = sageMakerError(new Error('Region is missing'), 'request');
    expect(region.retryable).toBe(false);
    expect(region.message).toMatch(/no AWS region configured/);
  });

  it('withholds request content quoted by AWS messages; keeps the exception name, HTTP status and request id', () => {
    const secret = 'my secret prompt about the patient';
    const withMeta = { $metadata: { httpStatusCode: 400, requestId: 'b7c2-11ef-9a3e' } };
    const validation = sageMakerError(
      new ValidationError({ ...withMeta, message: `1 validation error detected: Value '${secret}' at 'customAttributes' failed to satisfy constraint: Member must have length less than or equal to 1024` }),
      'request',
    );
    expect(validation.code).toBe('UPSTREAM_REJECTED');
    expect(validation.cause).toBeUndefined();
    expect(validation.message).toBe(
      "SageMaker ValidationError: 1 validation error detected: Value '…' at 'customAttributes' failed to satisfy constraint: Member must have length less than or equal to 1024 (HTTP 400, request id b7c2-11ef-9a3e)",
    );
    const unmodeled = sageMakerError(
      new SageMakerRuntimeServiceException({ ...withMeta, name: 'SomethingNew', $fault: 'client', message: `Cannot process "${secret}"` }),
      'request',
    );
    expect(unmodeled.cause).toBeUndefined();
    expect(unmodeled.message).toBe('SageMaker SomethingNew: Cannot process "…" (HTTP 400, request id b7c2-11ef-9a3e)');
    // A quote that never closes ends the text; apostrophes are not quotes.
    const open = sageMakerError(new ValidationError({ ...meta, message: `Endpoint doesn't accept '${secret}` }), 'request');
    expect(open.message).toBe("SageMaker ValidationError: Endpoint doesn't accept …");
    const model = sageMakerError(
      new ModelError({ $metadata: { httpStatusCode: 424, requestId: 'r-1' }, message: `Received client error (422) with message "${secret}"`, OriginalStatusCode: 422, OriginalMessage: secret }),
      'request',
    );
    expect(model.message).toBe('SageMaker ModelError: the model container answered HTTP 422 (request id r-1)');
    // A value holding quotes of its own does not leak its tail (before, the span closed at the
    // first quote followed by a non-word character).
    const nested = sageMakerError(new ValidationError({ ...meta, message: `Value 'She said 'hi' to my secret friend' at 'customAttributes' failed to satisfy constraint: x` }), 'request');
    expect(nested.message).toBe("SageMaker ValidationError: Value '…' at 'customAttributes' failed to satisfy constraint: x");
    const apostrophes = sageMakerError(new ValidationError({ ...meta, message: `Value 'don't tell ' anyone secret' at 'x' failed to satisfy constraint` }), 'request');
    expect(apostrophes.message).toBe("SageMaker ValidationError: Value '…' at 'x' failed to satisfy constraint");
    // "at '…'" inside the value is not a member reference.
    const lookalike = sageMakerError(new ValidationError({ ...meta, message: `Value 'look at 'this' secret' at 'body' failed to satisfy constraint` }), 'request');
    expect(lookalike.message).toBe("SageMaker ValidationError: Value '…' at 'body' failed to satisfy constraint");
    for (const e of [validation, unmodeled, open, model, nested, apostrophes, lookalike]) expect(e.message).not.toContain('secret');
  });

  it('an overload carries the Retry-After of the raw response (at most 300 s)', () => {
    const throttled = (retryAfter: string): unknown => {
      const err = new SageMakerRuntimeServiceException({ $metadata: { httpStatusCode: 400 }, name: 'ThrottlingException', $fault: 'client', message: 'Rate exceeded' });
      Object.defineProperty(err, '$response', { value: { statusCode: 400, headers: { 'retry-after': retryAfter } }, enumerable: false });
      return err;
    };
    expect(sageMakerError(throttled('7'), 'request').retryAfterS).toBe(7);
    expect(sageMakerError(throttled('86400'), 'request').retryAfterS).toBe(300);
    expect(sageMakerError(modelError(422), 'request').retryAfterS).toBeUndefined();
  });

  it('a non-object throw and odd names or request ids are not echoed', () => {
    const thrownString = sageMakerError('raw secret string', 'request');
    expect([thrownString.code, thrownString.message, thrownString.cause]).toEqual(['UPSTREAM_RESET', 'SageMaker request failed', undefined]);
    const odd = new SageMakerRuntimeServiceException({ $metadata: { httpStatusCode: 500, requestId: 'id with secret spaces' }, name: 'secret name with spaces', $fault: 'server', message: 'x' });
    expect(sageMakerError(odd, 'request').message).toBe('SageMaker Error: x (HTTP 500)');
  });
});
