// Public surface of the ASR adapters (the composition root imports from here): one factory over a
// discriminated config, the three adapters' own factories, and the port types.
import type { AsrBackend } from './port.ts';
import type { AsrBackendConfig } from './config.ts';
import { createSageMakerAsrBackend } from './sagemaker.ts';
import { createWhisperAsrBackend } from './whisper-asr.ts';
import { createWhisperLiveBackend } from './whisperlive.ts';

export type { AsrBackend, AsrCapabilities, AsrEvent, AsrHandlers, AsrOptions, AsrStream } from './port.ts';
export type { AsrBackendConfig, AsrCommonConfig, SageMakerAsrConfig, WhisperAsrConfig, WhisperLiveConfig } from './config.ts';
export { ASR_DEFAULTS } from './config.ts';
export { createSageMakerAsrBackend, createWhisperAsrBackend, createWhisperLiveBackend };

/** Builds the adapter the config names. Throws (at startup) on an invalid URL or option. */
export function createAsrBackend(cfg: AsrBackendConfig): AsrBackend {
  switch (cfg.kind) {
    case 'whisperlive':
      return createWhisperLiveBackend(cfg);
    case 'whisper-asr':
      return createWhisperAsrBackend(cfg);
    case 'sagemaker':
      return createSageMakerAsrBackend(cfg);
    default: {
      const never: never = cfg;
      throw new Error(`unknown asr backend kind ${(never as { kind: string }).kind}`);
    }
  }
}
