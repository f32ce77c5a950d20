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
  // ModelError carries the container's raw answer (it may quote the prompt) and a protocol fault
  // is about upstream bytes: neither is kept as the cause (logs print the cause chain).
  const withoutCause = (what: string): boolean => what.startsWith('ModelError') || what === 'bad CRC';
  for (const [what, err, phase, code] of table) {
    it(`${what} → ${code}`, () => {
      const e = sageMakerError(err, phase);
      expect(e.code).toBe(code);
      if (withoutCause(what)) expect(e.cause).toBeUndefined();
      else expect(e.cause).toBe(err);
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
});
