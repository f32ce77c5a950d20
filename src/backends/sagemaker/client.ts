// The SageMaker runtime SDK client as every SageMaker adapter configures it (text generation,
// Grounded-SAM, ASR), and the local probe they share.
import { SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import type { SageMakerRuntimeClientConfig } from '@aws-sdk/client-sagemaker-runtime';

/** Static credentials (tests, tools). In production leave them out: the SDK's default chain
 *  (env, SSO, shared files, web identity, ECS/EC2 roles) resolves and refreshes them. */
export interface StaticAwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface RuntimeClientOptions {
  /** Default: the SDK's region chain (AWS_REGION, AWS_DEFAULT_REGION via profile, ~/.aws/config). */
  region?: string;
  /** Runtime URL override (the fleet simulator, a VPC endpoint); default from the region. */
  endpointUrl?: string;
  credentials?: StaticAwsCredentials;
  /** TCP connect timeout, ms (default: none besides the caller's deadlines). */
  connectTimeoutMs?: number;
  /** Cap on sockets to the runtime endpoint; unset = unlimited (the SDK's default of 50 would
   *  queue streams behind each other). */
  maxConnections?: number;
}

export function runtimeClientConfig(opts: RuntimeClientOptions): SageMakerRuntimeClientConfig {
  const agent = { keepAlive: true, maxSockets: opts.maxConnections ?? Infinity };
  const config: SageMakerRuntimeClientConfig = {
    // One attempt: retries (another replica, a fallback model, backoff on overload) belong to the
    // router, which sees every attempt; SDK retries would hide them and multiply latency.
    maxAttempts: 1,
    requestHandler: {
      httpAgent: agent,
      httpsAgent: agent,
      ...(opts.connectTimeoutMs !== undefined ? { connectionTimeout: opts.connectTimeoutMs } : {}),
    },
  };
  if (opts.region !== undefined) config.region = opts.region;
  if (opts.endpointUrl !== undefined) config.endpoint = opts.endpointUrl;
  if (opts.credentials !== undefined) config.credentials = opts.credentials;
  return config;
}

export function createRuntimeClient(opts: RuntimeClientOptions): SageMakerRuntimeClient {
  return new SageMakerRuntimeClient(runtimeClientConfig(opts));
}

/** Where a client points, for backend ids: the endpoint URL's origin, else the region. */
export function runtimeWhere(opts: Pick<RuntimeClientOptions, 'endpointUrl' | 'region'>): string {
  return opts.endpointUrl !== undefined ? new URL(opts.endpointUrl).origin : (opts.region ?? 'default-region');
}

/** Resolves `p` or false after `ms`. */
function within(p: Promise<boolean>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
    timer.unref();
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

/**
 * The runtime API has no health call, and DescribeEndpoint needs the control-plane API (another
 * client, another IAM permission). So this is a zero-cost local check: a region and credentials
 * resolve (no request is sent, nothing is billed). Endpoint health shows up as
 * UPSTREAM_OVERLOADED / UNAVAILABLE on real requests, which feed the breaker.
 */
export function probeRuntimeClient(client: SageMakerRuntimeClient, timeoutMs: number): Promise<boolean> {
  return within(
    (async () => {
      await client.config.region();
      await client.config.credentials();
      return true;
    })().catch(() => false),
    timeoutMs,
  );
}
