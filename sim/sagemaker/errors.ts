// SageMaker runtime error replies as the AWS JS SDK (restJson1) parses them: the error name in the
// `x-amzn-ErrorType` header (the SDK keeps the part before ':'), a JSON body whose members match the
// modeled shape (`Message`, and for ModelError `OriginalStatusCode`, `OriginalMessage`, `LogStreamArn`),
// and the modeled HTTP status. Body member spelling beyond the SDK model is UNVERIFIED.
import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';

const CORAL = 'http://internal.amazon.com/coral/com.amazon.sagemaker.runtime/';

export function sendAwsError(res: ServerResponse, status: number, errorType: string, body: Record<string, unknown>): void {
  const json = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(json),
    'x-amzn-errortype': `${errorType}:${CORAL}`,
    'x-amzn-requestid': randomUUID(),
  });
  res.end(json);
}

/** 400 ValidationError, e.g. "Endpoint foo of account 123456789012 not found." */
export function sendValidationError(res: ServerResponse, message: string): void {
  sendAwsError(res, 400, 'ValidationError', { Message: message });
}

export interface ModelErrorInfo {
  endpoint: string;
  accountId: string;
  region: string;
  /** The container's HTTP status (0 = no answer at all). */
  status: number;
  /** The container's body, or a description when it did not answer. */
  body: string;
}

/** 424 ModelError: the container answered non-2xx (or not at all). Message format as SageMaker
 *  prints it ("Received client error (422) from primary with message ..."). */
export function sendModelError(res: ServerResponse, e: ModelErrorInfo): void {
  const group = `/aws/sagemaker/Endpoints/${e.endpoint}`;
  const kind = e.status >= 400 && e.status < 500 ? 'client' : 'server';
  sendAwsError(res, 424, 'ModelError', {
    Message:
      `Received ${kind} error (${e.status}) from primary with message "${e.body}". See ` +
      `https://${e.region}.console.aws.amazon.com/cloudwatch/home?region=${e.region}#logEventViewer:group=${group} ` +
      `in account ${e.accountId} for more information.`,
    OriginalStatusCode: e.status,
    OriginalMessage: e.body,
    LogStreamArn: `arn:aws:logs:${e.region}:${e.accountId}:log-group:${group}`,
  });
}

/** Service-side refusals that never reach the container. */
export function sendServiceFault(res: ServerResponse, kind: 'throttling' | 'model_not_ready' | 'service_unavailable' | 'internal_failure'): void {
  switch (kind) {
    case 'throttling':
      // Real, but not in this API's model: the SDK builds a generic SageMakerRuntimeServiceException
      // named ThrottlingException.
      return sendAwsError(res, 400, 'ThrottlingException', { message: 'Rate exceeded' });
    case 'model_not_ready':
      return sendAwsError(res, 429, 'ModelNotReadyException', { Message: 'Model is not ready to serve inference requests. (SIMULATED)' });
    case 'service_unavailable':
      return sendAwsError(res, 503, 'ServiceUnavailable', { Message: 'Service is unavailable. Try again later. (SIMULATED)' });
    case 'internal_failure':
      return sendAwsError(res, 500, 'InternalFailure', { Message: 'An internal failure occurred. (SIMULATED)' });
  }
}
