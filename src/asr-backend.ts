// Maps the gateway config's `asr` block onto the ASR adapter config (or none when voice input has
// no service configured).
import type { Config } from './config/schema.ts';
import type { StaticAwsCredentials } from './backends/sagemaker/index.ts';
import { createAsrBackend, type AsrBackend, type AsrBackendConfig } from './backends/asr/index.ts';

export function asrBackendConfig(config: Config, credentials?: StaticAwsCredentials): AsrBackendConfig | undefined {
  const a = config.asr;
  const common = {
    partialIntervalMs: a.partialIntervalMs,
    finalizeTimeoutMs: a.finalizeTimeoutMs,
    requestTimeoutMs: a.requestTimeoutMs,
    maxUtteranceMs: a.maxUtteranceMs,
  };
  switch (a.backend) {
    case 'whisperlive':
      return a.url === undefined ? undefined : { kind: 'whisperlive', url: a.url, model: a.model, ...common };
    case 'whisper-asr':
      return a.url === undefined ? undefined : { kind: 'whisper-asr', url: a.url, ...common };
    case 'sagemaker': {
      const sm = a.sagemaker;
      if (!sm) return undefined;
      return {
        kind: 'sagemaker',
        endpointName: sm.endpointName,
        ...(sm.region !== undefined ? { region: sm.region } : {}),
        ...(sm.endpointUrl !== undefined ? { endpointUrl: sm.endpointUrl } : {}),
        ...(credentials !== undefined ? { credentials } : {}),
        connectTimeoutMs: config.upstream.connectTimeoutMs,
        ...common,
      };
    }
    default: {
      const never: never = a.backend;
      throw new Error(`unknown asr backend ${String(never)}`);
    }
  }
}

export function createConfiguredAsr(config: Config, credentials?: StaticAwsCredentials): AsrBackend | undefined {
  const cfg = asrBackendConfig(config, credentials);
  return cfg === undefined ? undefined : createAsrBackend(cfg);
}
