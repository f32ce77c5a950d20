// Model registry: builds each configured model's backend (replicas of one vendor adapter behind
// the router, plus an optional fallback model, all behind the token cap) and answers lookups by
// id. The session asks for a model by id and reads its capabilities; it never sees vendor details.
import type { ModelInfo } from '../protocol/messages.ts';
import type { Config, ModelConfig } from './config/schema.ts';
import type { ChatMessage, TextGenBackend } from './backends/ports.ts';
import { createTgiBackend } from './backends/tgi/index.ts';
import { createOpenAiBackend } from './backends/openai/index.ts';
import { createSageMakerBackend } from './backends/sagemaker/index.ts';
import { createRoutedBackend } from './backends/router/index.ts';
import { withTokenCap } from './backends/token-cap.ts';
import type { Logger } from './observability/log.ts';

export interface ModelEntry {
  config: ModelConfig;
  backend: TextGenBackend;
}

function fewShotOf(m: ModelConfig): ChatMessage[] | undefined {
  if (m.fewShot.length === 0) return undefined;
  return m.fewShot.map((f) => (f.images ? { role: f.role, content: f.content, images: f.images } : { role: f.role, content: f.content }));
}

/** One adapter instance per replica of a model. */
function buildReplicas(m: ModelConfig, config: Config, env: Record<string, string | undefined>): TextGenBackend[] {
  const up = config.upstream;
  const timeouts = { firstTokenTimeoutMs: up.firstTokenTimeoutMs, interTokenTimeoutMs: up.interTokenTimeoutMs };
  const vision = m.kind === 'vlm';
  const fewShot = fewShotOf(m);
  switch (m.backend) {
    case 'tgi': {
      if (m.template === 'server') throw new Error(`model ${m.id}: template "server" needs backend "openai"`);
      const template = m.template;
      return m.urls.map((url) =>
        createTgiBackend({ url, template, vision, connectTimeoutMs: up.connectTimeoutMs, ...timeouts, maxConnections: up.maxConnectionsPerBackend, idleSocketMs: up.idleSocketMs, ...(fewShot ? { fewShot } : {}) }),
      );
    }
    case 'openai': {
      const apiKey = m.apiKeyEnv !== undefined ? env[m.apiKeyEnv] : undefined;
      return m.urls.map((url) =>
        createOpenAiBackend({
          url,
          vision,
          connectTimeoutMs: up.connectTimeoutMs,
          ...timeouts,
          maxConnections: up.maxConnectionsPerBackend,
          idleSocketMs: up.idleSocketMs,
          ...(m.remoteModel !== undefined ? { model: m.remoteModel } : {}),
          ...(apiKey !== undefined ? { apiKey } : {}),
        }),
      );
    }
    case 'sagemaker': {
      const sm = m.sagemaker;
      if (!sm) throw new Error(`model ${m.id}: backend "sagemaker" needs a sagemaker block`);
      if (m.template === 'server') throw new Error(`model ${m.id}: template "server" needs backend "openai"`);
      return [
        createSageMakerBackend({
          endpointName: sm.endpointName,
          streaming: sm.streaming,
          template: m.template,
          vision,
          ...timeouts,
          maxConnections: up.maxConnectionsPerBackend,
          ...(sm.region !== undefined ? { region: sm.region } : {}),
          ...(sm.endpointUrl !== undefined ? { endpointUrl: sm.endpointUrl } : {}),
          ...(sm.targetVariant !== undefined ? { targetVariant: sm.targetVariant } : {}),
          ...(sm.inferenceComponent !== undefined ? { inferenceComponent: sm.inferenceComponent } : {}),
          ...(fewShot ? { fewShot } : {}),
        }),
      ];
    }
    default: {
      const never: never = m.backend;
      throw new Error(`unknown backend ${String(never)}`);
    }
  }
}

export class ModelRegistry {
  private readonly byId = new Map<string, ModelEntry>();
  private readonly owned: TextGenBackend[] = [];

  constructor(config: Config, log: Logger, env: Record<string, string | undefined> = {}) {
    const replicas = new Map<string, TextGenBackend[]>();
    for (const m of config.models) {
      const r = buildReplicas(m, config, env);
      if (r.length === 0) throw new Error(`model ${m.id} has no backend URL (configure one, or let the simulator serve it)`);
      replicas.set(m.id, r);
    }
    // A fallback is one level deep (its own fallback is not followed) and shares the fallback
    // model's replica adapters (connection pools) but not their ownership: only the model's own
    // router closes them.
    const borrowed = (b: TextGenBackend): TextGenBackend => ({
      id: b.id,
      capabilities: b.capabilities,
      generate: (r) => b.generate(r),
      probe: (t) => b.probe(t),
      close: async () => undefined,
    });
    const route = (m: ModelConfig, withFallback: boolean): TextGenBackend => {
      const fb = withFallback && m.fallback !== undefined ? config.models.find((x) => x.id === m.fallback) : undefined;
      const own = replicas.get(m.id) ?? [];
      const backend = createRoutedBackend({
        id: m.id,
        replicas: withFallback ? own : own.map(borrowed),
        ...(fb ? { fallback: route(fb, false) } : {}),
        maxAttempts: config.upstream.maxAttempts,
        maxRetryAfterMs: config.upstream.maxRetryAfterMs,
        log: (e) => log.warn({ model: m.id, backend: e.backend, code: e.code, event: e.kind }, 'backend routing event'),
      });
      return backend;
    };
    for (const m of config.models) {
      // The token cap is outermost, so it covers the fallback too and every consumer of the entry
      // (turns, speculation, planning, image descriptions): see backends/token-cap.ts.
      const backend = withTokenCap(route(m, true), config.limits.maxNewTokens);
      this.owned.push(backend);
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
    await Promise.all(this.owned.map((b) => b.close()));
  }
}
