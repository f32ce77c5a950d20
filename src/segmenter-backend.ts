// Maps the gateway config's `segmenter` block onto a Grounded-SAM adapter (the HTTP service or a
// SageMaker endpoint), or none when segmentation has no service configured.
import type { Config } from './config/schema.ts';
import { createGroundedSamBackend, createSageMakerSegmenter } from './backends/grounded-sam/index.ts';
import type { StaticAwsCredentials } from './backends/sagemaker/index.ts';
import type { SegmenterBackend } from './backends/segmenter-port.ts';

/** `credentials`: static AWS credentials for the sagemaker backend (the simulated fleet); absent =
 *  the SDK's standard chain. */
export function createConfiguredSegmenter(config: Config, credentials?: StaticAwsCredentials): SegmenterBackend | undefined {
  const seg = config.segmenter;
  switch (seg.backend) {
    case 'http':
      return seg.url === undefined
        ? undefined
        : createGroundedSamBackend({
            url: seg.url,
            hq: seg.hq,
            connectTimeoutMs: config.upstream.connectTimeoutMs,
            firstEventTimeoutMs: seg.firstEventTimeoutMs,
            interEventTimeoutMs: seg.interEventTimeoutMs,
            maxConnections: config.upstream.maxConnectionsPerBackend,
          });
    case 'sagemaker': {
      const sm = seg.sagemaker;
      if (!sm) return undefined;
      return createSageMakerSegmenter({
        endpointName: sm.endpointName,
        ...(sm.region !== undefined ? { region: sm.region } : {}),
        ...(sm.endpointUrl !== undefined ? { endpointUrl: sm.endpointUrl } : {}),
        ...(credentials !== undefined ? { credentials } : {}),
        streaming: sm.streaming,
        hq: seg.hq,
        connectTimeoutMs: config.upstream.connectTimeoutMs,
        firstEventTimeoutMs: seg.firstEventTimeoutMs,
        interEventTimeoutMs: seg.interEventTimeoutMs,
        maxConnections: config.upstream.maxConnectionsPerBackend,
      });
    }
    default: {
      const never: never = seg.backend;
      throw new Error(`unknown segmenter backend ${String(never)}`);
    }
  }
}
