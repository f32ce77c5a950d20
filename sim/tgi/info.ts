// GET /info body: TGI HEAD's `Info` struct in serde field order. `docker_label` is "vlp-sim" so a
// client can tell it is talking to the simulator; model_sha and sha are null (not a real build).
import type { ResolvedOptions } from './context.ts';

export const TGI_VERSION = '3.3.7';
/** `docker_label` in /info; the Messages API's system_fingerprint is `{version}-{docker_label}`. */
export const DOCKER_LABEL = 'vlp-sim';

export function infoJson(o: ResolvedOptions): string {
  return JSON.stringify({
    model_id: o.modelId,
    model_sha: null,
    model_pipeline_tag: o.pipelineTag,
    max_concurrent_requests: o.maxConcurrent,
    max_best_of: o.limits.maxBestOf,
    max_stop_sequences: o.limits.maxStopSequences,
    max_input_tokens: o.limits.maxInputTokens,
    max_total_tokens: o.limits.maxTotalTokens,
    validation_workers: 2,
    max_client_batch_size: 4,
    router: 'text-generation-router',
    version: TGI_VERSION,
    sha: null,
    docker_label: DOCKER_LABEL,
  });
}
