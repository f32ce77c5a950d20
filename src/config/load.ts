// Builds the config from (lowest to highest precedence) defaults, a JSON file, environment
// variables and CLI flags; validates it once. The only code that reads process.env.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { z } from 'zod';
import { ConfigSchema, type Config } from './schema.ts';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

type Json = Record<string, unknown>;

/** Env variables we read; any other VLP_* variable is rejected as a probable typo. */
/** How an env variable's or flag's text becomes a config value. */
export type EnvKind = 'string' | 'int' | 'number' | 'list';

/** What convert() makes of each kind. */
export type EnvValue = string | number | string[];

export const ENV_KEYS: Record<string, { path: string[]; kind: EnvKind }> = {
  PORT: { path: ['port'], kind: 'int' },
  VLP_HOST: { path: ['host'], kind: 'string' },
  VLP_TRANSPORT: { path: ['transport'], kind: 'string' },
  VLP_LOG_LEVEL: { path: ['logLevel'], kind: 'string' },
  VLP_SIM: { path: ['sim'], kind: 'string' },
  VLP_DEFAULT_MODEL: { path: ['defaultModel'], kind: 'string' },
  VLP_DEFAULT_VISION_MODEL: { path: ['defaultVisionModel'], kind: 'string' },
  VLP_IMAGE_HOSTS: { path: ['images', 'allowedHosts'], kind: 'list' },
  VLP_GROUNDED_SAM_URL: { path: ['segmenter', 'url'], kind: 'string' },
  VLP_ASR_BACKEND: { path: ['asr', 'backend'], kind: 'string' },
  VLP_ASR_URL: { path: ['asr', 'url'], kind: 'string' },
  VLP_BARGE_IN: { path: ['audio', 'bargeIn'], kind: 'string' },
  VLP_SYSTEM_PROMPT: { path: ['systemPrompt'], kind: 'string' },
  VLP_TGI_URL: { path: ['@model', 'llama-2-7b-chat', 'urls'], kind: 'list' },
  VLP_IDEFICS_URL: { path: ['@model', 'idefics-9b-instruct', 'urls'], kind: 'list' },
  VLP_MAX_SESSIONS: { path: ['limits', 'maxSessions'], kind: 'int' },
  VLP_RESUME_WINDOW_MS: { path: ['limits', 'resumeWindowMs'], kind: 'int' },
  VLP_SHUTDOWN_GRACE_MS: { path: ['shutdownGraceMs'], kind: 'int' },
  VLP_SIM_TTFT_MS: { path: ['simulator', 'ttftMs'], kind: 'number' },
  VLP_SIM_ITL_MS: { path: ['simulator', 'itlMs'], kind: 'number' },
  VLP_SIM_JITTER: { path: ['simulator', 'jitter'], kind: 'number' },
  // Secrets have no flags: a command line shows in ps and shell history.
  VLP_API_KEYS: { path: ['auth', 'apiKeys'], kind: 'list' },
  VLP_TOKEN_SECRET: { path: ['auth', 'tokenSecret'], kind: 'string' },
  VLP_TOKEN_TTL_S: { path: ['auth', 'tokenTtlS'], kind: 'int' },
  VLP_ALLOWED_ORIGINS: { path: ['auth', 'allowedOrigins'], kind: 'list' },
};
/** Read by others, not by the gateway: the config file's path, and the CLI's URL and API key. */
const ALLOWED_EXTRA_ENV = new Set(['VLP_CONFIG', 'VLP_URL', 'VLP_API_KEY']);
/** List variables that must not be empty when set: an empty VLP_API_KEYS (say, from a missing
 *  secret) would otherwise turn authentication off without a word. */
const NON_EMPTY_LISTS = new Set(['VLP_API_KEYS']);

/** CLI flags; each maps onto the same paths as the env variables. */
export const FLAG_TO_ENV: Record<string, string> = {
  port: 'PORT',
  host: 'VLP_HOST',
  transport: 'VLP_TRANSPORT',
  'log-level': 'VLP_LOG_LEVEL',
  sim: 'VLP_SIM',
  'tgi-url': 'VLP_TGI_URL',
  'idefics-url': 'VLP_IDEFICS_URL',
  'asr-backend': 'VLP_ASR_BACKEND',
  'asr-url': 'VLP_ASR_URL',
};

/** Exported for tests. Throws ConfigError for a number that does not parse; a kind without a case
 *  (a new EnvKind) fails at compile time, and at run time throws instead of returning undefined. */
export function convert(name: string, raw: string, kind: EnvKind): EnvValue {
  switch (kind) {
    case 'string':
      return raw;
    case 'int':
    case 'number': {
      const n = Number(raw);
      if (raw.trim() === '' || !Number.isFinite(n)) throw new ConfigError(`${name} must be a number, got "${raw}"`);
      return n;
    }
    case 'list':
      return raw
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s.length > 0);
    default: {
      const never: never = kind;
      throw new Error(`${name}: unhandled env kind ${String(never)}`);
    }
  }
}

function setPath(target: Json, path: string[], value: EnvValue): void {
  if (path[0] === '@model') {
    // Model URLs: patch the default model list (or the file's list) by id.
    const id = path[1] as string;
    const key = path[2] as string;
    const models = (target.models ?? defaultModels()) as Json[];
    const model = models.find((m) => m.id === id);
    if (!model) throw new ConfigError(`no model "${id}" in the configured models to set ${key} on`);
    model[key] = value;
    target.models = models;
    return;
  }
  let node = target;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (typeof next !== 'object' || next === null) node[key] = {};
    node = node[key] as Json;
  }
  node[path[path.length - 1] as string] = value;
}

function defaultModels(): Json[] {
  const parsed = ConfigSchema.parse({});
  return parsed.models.map((m) => ({ ...m, urls: [...m.urls], params: { ...m.params } }));
}

function formatIssues(err: z.ZodError): string {
  return err.issues
    .map((i) => {
      const where = i.path.length > 0 ? i.path.join('.') : '(root)';
      return `  - ${where}: ${i.message}`;
    })
    .join('\n');
}

export interface LoadOptions {
  argv?: string[];
  env?: Record<string, string | undefined>;
}

/** Load and validate; throws ConfigError with a readable, multi-line message. */
export function loadConfig(opts: LoadOptions = {}): Config {
  const env = opts.env ?? {};
  let flags: Record<string, string | undefined>;
  try {
    const parsed = parseArgs({
      args: opts.argv ?? [],
      strict: true,
      allowPositionals: false,
      // Every flag that maps to an env key, plus --config: one list, so a flag cannot be mapped
      // and yet refused.
      options: Object.fromEntries(['config', ...Object.keys(FLAG_TO_ENV)].map((f) => [f, { type: 'string' as const }])),
    });
    flags = parsed.values as Record<string, string | undefined>;
  } catch (err) {
    throw new ConfigError(`bad command line: ${(err as Error).message}`);
  }

  let raw: Json = {};
  const file = flags.config ?? env.VLP_CONFIG;
  if (file) {
    try {
      raw = JSON.parse(readFileSync(file, 'utf8')) as Json;
    } catch (err) {
      throw new ConfigError(`cannot read config file ${file}: ${(err as Error).message}`);
    }
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ConfigError(`config file ${file} must hold a JSON object`);
  }

  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) continue;
    const spec = ENV_KEYS[name];
    if (spec) {
      const converted = convert(name, value, spec.kind);
      if (NON_EMPTY_LISTS.has(name) && Array.isArray(converted) && converted.length === 0) {
        throw new ConfigError(`${name} is set but holds no value; unset it to run without client authentication`);
      }
      setPath(raw, spec.path, converted);
    } else if (name.startsWith('VLP_') && !ALLOWED_EXTRA_ENV.has(name)) {
      throw new ConfigError(`unknown environment variable ${name} (known: ${[...Object.keys(ENV_KEYS), ...ALLOWED_EXTRA_ENV].join(', ')})`);
    }
  }
  for (const [flag, envName] of Object.entries(FLAG_TO_ENV)) {
    const value = flags[flag];
    const spec = ENV_KEYS[envName];
    if (value !== undefined && spec) setPath(raw, spec.path, convert(`--${flag}`, value, spec.kind));
  }

  const result = ConfigSchema.safeParse(raw);
  if (!result.success) throw new ConfigError(`invalid configuration:\n${formatIssues(result.error)}`);
  const config = result.data;
  const ids = new Set<string>();
  for (const m of config.models) {
    if (ids.has(m.id)) throw new ConfigError(`invalid configuration:\n  - models: duplicate model id "${m.id}"`);
    ids.add(m.id);
  }
  for (const m of config.models) {
    if (m.fallback !== undefined && (!ids.has(m.fallback) || m.fallback === m.id)) {
      throw new ConfigError(`invalid configuration:\n  - models.${m.id}.fallback: "${m.fallback}" is not another configured model`);
    }
  }
  const vlm = config.models.find((m) => m.id === config.defaultVisionModel);
  if (vlm !== undefined && vlm.kind !== 'vlm') {
    throw new ConfigError(`invalid configuration:\n  - defaultVisionModel: "${config.defaultVisionModel}" is not a vlm`);
  }
  if (!ids.has(config.defaultModel)) {
    throw new ConfigError(`invalid configuration:\n  - defaultModel: "${config.defaultModel}" is not one of the models (${[...ids].join(', ')})`);
  }
  return config;
}
