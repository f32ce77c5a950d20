// The SageMaker-runtime TextGenBackend: a TGI container behind a SageMaker endpoint, reached with
// the AWS SDK v3 (SigV4, standard credential/region chains, keep-alive agent), streamed via
// InvokeEndpointWithResponseStream or answered whole via InvokeEndpoint.
import type { ChatMessage, TextGenBackend } from '../ports.ts';
import { stopSequencesFor, templateSupportsImages } from '../prompt/index.ts';
import type { PromptTemplate } from '../prompt/index.ts';
import { createRuntimeClient, probeRuntimeClient, runtimeWhere, type StaticAwsCredentials } from './client.ts';
import type { InvokeTarget, SageMakerContext } from './context.ts';
import { streamGeneration } from './stream.ts';
import { unaryGeneration } from './unary.ts';

export type { StaticAwsCredentials };

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

export function createSageMakerBackend(opts: SageMakerBackendOptions): TextGenBackend {
  if (opts.vision && !templateSupportsImages(opts.template)) {
    throw new Error(`sagemaker backend: template ${opts.template} cannot carry images but vision is set`);
  }
  const client = createRuntimeClient(opts);
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
  const where = runtimeWhere(opts);
  return {
    id: `sagemaker:${where}/${opts.endpointName}`,
    capabilities: { vision: opts.vision, streaming: opts.streaming },
    generate: (req) => (opts.streaming ? streamGeneration(ctx, req) : unaryGeneration(ctx, req)),
    /** A local check that a region and credentials resolve (client.ts). */
    probe: (timeoutMs) => probeRuntimeClient(client, timeoutMs),
    close: async () => {
      client.destroy(); // destroys the agents and their sockets
    },
  };
}
