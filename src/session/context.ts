// What sessions and connections need from the gateway that owns them (no globals).
import type { Logger } from 'pino';
import type { Config } from '../config/schema.ts';
import type { GatewayMetrics } from '../observability/metrics.ts';
import type { ModelRegistry } from '../models.ts';

export interface GatewayContext {
  config: Config;
  models: ModelRegistry;
  metrics: GatewayMetrics;
  log: Logger;
}
