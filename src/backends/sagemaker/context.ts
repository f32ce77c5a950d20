// What one SageMaker backend instance shares between its generations: the SDK client, options,
// prompt rendering choices and the invariant part of every Invoke* input.
import type { SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import type { ChatMessage } from '../ports.ts';
import { renderPrompt } from '../prompt/index.ts';
import type { PromptTemplate } from '../prompt/index.ts';
export { hasImages } from '../prompt/images.ts';

export interface SageMakerTimeouts {
  firstTokenTimeoutMs: number;
  interTokenTimeoutMs: number;
}

/** The fields common to InvokeEndpoint and InvokeEndpointWithResponseStream inputs. */
export interface InvokeTarget {
  EndpointName: string;
  ContentType: 'application/json';
  TargetVariant?: string;
  InferenceComponentName?: string;
}

export interface SageMakerContext {
  client: SageMakerRuntimeClient;
  target: InvokeTarget;
  timeouts: SageMakerTimeouts;
  vision: boolean;
  template: PromptTemplate;
  templateStops: readonly string[];
  fewShot: ChatMessage[] | undefined;
}

/** The prompt as TGI's native API wants it (TGI adds BOS itself, as behind /generate_stream). */
export function render(ctx: SageMakerContext, messages: ChatMessage[]): string {
  return renderPrompt(ctx.template, messages, ctx.fewShot === undefined ? { bos: false } : { bos: false, fewShot: ctx.fewShot });
}
