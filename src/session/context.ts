// What sessions and connections need from the gateway that owns them (no globals).
import type { Logger } from 'pino';
import type { Config } from '../config/schema.ts';
import type { GatewayMetrics } from '../observability/metrics.ts';
import type { ModelRegistry } from '../models.ts';
import type { SegmenterBackend } from '../backends/segmenter-port.ts';
import type { IntentClassifier } from '../understanding/classifier-port.ts';
import type { AsrBackend } from '../backends/asr/port.ts';

export interface GatewayContext {
  config: Config;
  models: ModelRegistry;
  metrics: GatewayMetrics;
  log: Logger;
  /** Grounded-SAM; undefined when no segmenter is configured. */
  segmenter: SegmenterBackend | undefined;
  /** Classifier of typed turns and final transcripts (built-in rules, or a model-served one). */
  intent: IntentClassifier;
  /** The built-in rules classifier: partial transcripts, and the fallback of a served classifier. */
  fastIntent: IntentClassifier;
  /** Speech recognition for audio input; undefined when none is configured. */
  asr: AsrBackend | undefined;
}
