// The SageMaker-runtime TextGenBackend: a TGI container behind a SageMaker endpoint, reached with
// the AWS SDK v3 (SigV4, standard credential/region chains, keep-alive agent), streamed via
// InvokeEndpointWithResponseStream or answered whole via InvokeEndpoint.
import { SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import type { SageMakerRuntimeClientConfig } from '@aws-sdk/client-sagemaker-runtime';
import type { ChatMessage, TextGenBackend } from '../ports.ts';
import { stopSequencesFor, templateSupportsImages } from '../prompt/index.ts';
import type { PromptTemplate } from '../prompt/index.ts';
import type { InvokeTarget, SageMakerContext } from './context.ts';
import { streamGeneration } from './stream.ts';
import { unaryGeneration } from './unary.ts';

/** Static credentials (tests, tools). In production leave them out: the SDK's default chain
 *  (env, SSO, shared files, web identity, ECS/EC2 roles) resolves and refreshes them. */
export interface StaticAwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface SageMakerBackendOptions {
  endpointName: string;
  /** Default: the SDK's region chain (AWS_REGION, AWS_DEFAULT_REGION via profile, ~/.aws/config). */
  region?: string;
  /** Runtime URL override (the fleet simulator, a VPC endpoint); default from the region. */
  endpointUrl?: string;
  /** true: InvokeEndpointWithResponseStream (token by token); false: InvokeEndpoint (one answer). */
  streaming: boolean;
  template: PromptTemplate;
  vision: boolean;
  targetVariant?: string;
  inferenceComponent?: string;
  /** From send() (signing, connect, headers, first event) to the first token, ms → UPSTREAM_TIMEOUT.
   *  In non-streaming mode it bounds the whole call. */
  firstTokenTimeoutMs: number;
  /** Longest wait for the next event after a token, ms → UPSTREAM_TIMEOUT. */
  interTokenTimeoutMs: number;
  /** TCP connect timeout, ms (default: none besides the first-token deadline). */
  connectTimeoutMs?: number;
  /** Cap on sockets to the runtime endpoint; unset = unlimited (the SDK's default of 50 would
   *  queue streams behind each other). */
  maxConnections?: number;
  fewShot?: ChatMessage[];
  credentials?: StaticAwsCredentials;
}

function clientConfig(opts: SageMakerBackendOptions): SageMakerRuntimeClientConfig {
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

/** Resolves `p` or false after `ms`. */
function within(p: Promise<boolean>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
    timer.unref();
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

export function createSageMakerBackend(opts: SageMakerBackendOptions): TextGenBackend {
  if (opts.vision && !templateSupportsImages(opts.template)) {
    throw new Error(`sagemaker backend: template ${opts.template} cannot carry images but vision is set`);
  }
  const client = new SageMakerRuntimeClient(clientConfig(opts));
  const target: InvokeTarget = { EndpointName: opts.endpointName, ContentType: 'application/json' };
  if (opts.targetVariant !== undefined) target.TargetVariant = opts.targetVariant;
  if (opts.inferenceComponent !== undefined) target.InferenceComponentName = opts.inferenceComponent;
  const ctx: SageMakerContext = {
    client,
    target,
    timeouts: { firstTokenTimeoutMs: opts.firstTokenTimeoutMs, interTokenTimeoutMs: opts.interTokenTimeoutMs },
    vision: opts.vision,
    template: opts.template,
    templateStops: stopSequencesFor(opts.template),
    fewShot: opts.fewShot,
  };
  const where = opts.endpointUrl !== undefined ? new URL(opts.endpointUrl).origin : (opts.region ?? 'default-region');
  return {
    id: `sagemaker:${where}/${opts.endpointName}`,
    capabilities: { vision: opts.vision, streaming: opts.streaming },
    generate: (req) => (opts.streaming ? streamGeneration(ctx, req) : unaryGeneration(ctx, req)),
    /**
     * The runtime API has no health call, and DescribeEndpoint needs the control-plane API (another
     * client, another IAM permission). So this is a zero-cost local check: a region and credentials
     * resolve (no request is sent, nothing is billed). Endpoint health shows up as
     * UPSTREAM_OVERLOADED / UNAVAILABLE on real requests, which feed the breaker.
     */
    probe: (timeoutMs) =>
      within(
        (async () => {
          await client.config.region();
          await client.config.credentials();
          return true;
        })().catch(() => false),
        timeoutMs,
      ),
    close: async () => {
      client.destroy(); // destroys the agents and their sockets
    },
  };
}
