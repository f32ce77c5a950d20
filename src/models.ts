// Model registry: turns configured models into TextGen backends and answers lookups by id.
// The session asks for a model by id and reads its capabilities; it never sees vendor details.
import type { ModelInfo } from '../protocol/messages.ts';
import type { Config, ModelConfig } from './config/schema.ts';
import type { TextGenBackend } from './backends/ports.ts';
import { createTgiBackend } from './backends/tgi/index.ts';

export interface ModelEntry {
  config: ModelConfig;
  backend: TextGenBackend;
}

export class ModelRegistry {
  private readonly byId = new Map<string, ModelEntry>();

  constructor(config: Config) {
    for (const m of config.models) {
      const url = m.urls[0];
      if (url === undefined) throw new Error(`model ${m.id} has no URL (start the simulator or configure one)`);
      let backend: TextGenBackend;
      switch (m.backend) {
        case 'tgi':
          backend = createTgiBackend({
            url,
            template: m.template,
            vision: m.kind === 'vlm',
            connectTimeoutMs: config.upstream.connectTimeoutMs,
            firstTokenTimeoutMs: config.upstream.firstTokenTimeoutMs,
            interTokenTimeoutMs: config.upstream.interTokenTimeoutMs,
            maxConnections: config.upstream.maxConnectionsPerBackend,
          });
          break;
        default: {
          const never: never = m.backend;
          throw new Error(`unknown backend ${String(never)}`);
        }
      }
      this.byId.set(m.id, { config: m, backend });
    }
  }

  get(id: string): ModelEntry | undefined {
    return this.byId.get(id);
  }

  list(): ModelInfo[] {
    return [...this.byId.values()].map((e) => ({ id: e.config.id, kind: e.config.kind }));
  }

  entries(): ModelEntry[] {
    return [...this.byId.values()];
  }

  async close(): Promise<void> {
    await Promise.all([...this.byId.values()].map((e) => e.backend.close()));
  }
}
