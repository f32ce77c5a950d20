// TGI request bodies (GenerateRequest / CompatGenerateRequest / GenerateParameters, router/src/lib.rs
// at v3.3.x) as decoding schemas with serde's defaults, plus the typed result.
import { decodeJson, type FieldSpec, type JsonValue, type Schema, type TaggedSchema } from './json.ts';

/** `GrammarType` (router/src/lib.rs v3.3.7, `#[serde(tag = "type", content = "value")]`):
 *  `{"type":"json"|"json_object","value":<schema or string>}`, `{"type":"regex","value":"..."}`,
 *  `{"type":"json_schema","value":{"name"?,"schema"}}`.
 *  Checked further by validateGrammar (grammar.ts) after the request's other validation. */
export type GrammarType =
  | { type: 'json'; value: JsonValue }
  | { type: 'regex'; value: string }
  | { type: 'json_schema'; value: { name: string | null; schema: JsonValue } };

export const GRAMMAR_SCHEMA: TaggedSchema = {
  t: 'tagged',
  name: 'GrammarType',
  tag: 'type',
  content: 'value',
  variants: ['json', 'regex', 'json_schema'],
  aliases: { json_object: 'json' },
  contents: {
    json: { t: 'any' },
    regex: { t: 'string' },
    json_schema: {
      t: 'struct',
      name: 'JsonSchemaConfig',
      fields: { name: { schema: { t: 'option', inner: { t: 'string' } }, default: () => null }, schema: { schema: { t: 'any' } } },
    },
  },
};

export interface GenerateParameters {
  best_of: number | null;
  temperature: number | null;
  repetition_penalty: number | null;
  frequency_penalty: number | null;
  top_k: number | null;
  top_p: number | null;
  typical_p: number | null;
  do_sample: boolean;
  /** null = TGI v3 default: max_total_tokens - input_length. */
  max_new_tokens: number | null;
  return_full_text: boolean | null;
  stop: string[];
  truncate: number | null;
  watermark: boolean;
  details: boolean;
  decoder_input_details: boolean;
  /** u64; a bigint so seeds above 2^53 survive. */
  seed: bigint | null;
  top_n_tokens: number | null;
  /** Constrains the answer (see grammar.ts); null = prose. */
  grammar: GrammarType | null;
  adapter_id: string | null;
}

export interface GenerateRequest {
  inputs: string;
  parameters: GenerateParameters;
  /** Only meaningful on POST / (compat); false elsewhere. */
  stream: boolean;
}

const opt = (inner: Schema): FieldSpec => ({ schema: { t: 'option', inner }, default: () => null });
const f32 = opt({ t: 'f32' });
const flag: FieldSpec = { schema: { t: 'bool' }, default: () => false };

const PARAMETER_FIELDS: Record<string, FieldSpec> = {
  best_of: opt({ t: 'int', name: 'usize' }),
  temperature: f32,
  repetition_penalty: f32,
  frequency_penalty: f32,
  top_k: opt({ t: 'int', name: 'i32' }),
  top_p: f32,
  typical_p: f32,
  do_sample: flag,
  max_new_tokens: opt({ t: 'int', name: 'u32' }),
  return_full_text: opt({ t: 'bool' }),
  stop: { schema: { t: 'seq', inner: { t: 'string' } }, default: () => [] },
  truncate: opt({ t: 'int', name: 'usize' }),
  watermark: flag,
  details: flag,
  decoder_input_details: flag,
  seed: opt({ t: 'int', name: 'u64' }),
  top_n_tokens: opt({ t: 'int', name: 'u32' }),
  grammar: opt(GRAMMAR_SCHEMA),
  adapter_id: opt({ t: 'string' }),
};

/** `default_parameters()`: used when the whole `parameters` key is absent (note do_sample: true,
 *  since TGI v1.4.0); a present `parameters: {}` gets the per-field serde defaults instead. */
export function defaultParameters(): GenerateParameters {
  return {
    best_of: null,
    temperature: null,
    repetition_penalty: null,
    frequency_penalty: null,
    top_k: null,
    top_p: null,
    typical_p: null,
    do_sample: true,
    max_new_tokens: null,
    return_full_text: null,
    stop: [],
    truncate: null,
    watermark: false,
    details: false,
    decoder_input_details: false,
    seed: null,
    top_n_tokens: null,
    grammar: null,
    adapter_id: null,
  };
}

const PARAMETERS_SCHEMA: Schema = { t: 'struct', name: 'GenerateParameters', fields: PARAMETER_FIELDS };

const parametersField: FieldSpec = {
  schema: PARAMETERS_SCHEMA,
  default: () => defaultParameters() as unknown as JsonValue,
};

const GENERATE_SCHEMA: Schema = {
  t: 'struct',
  name: 'GenerateRequest',
  fields: { inputs: { schema: { t: 'string' } }, parameters: parametersField },
};

const COMPAT_SCHEMA: Schema = {
  t: 'struct',
  name: 'CompatGenerateRequest',
  fields: { inputs: { schema: { t: 'string' } }, parameters: parametersField, stream: flag },
};

/** Decode a request body; throws JsonDecodeError with axum's texts. */
export function parseGenerateRequest(body: Buffer, compat: boolean): GenerateRequest {
  const raw = decodeJson(body, compat ? COMPAT_SCHEMA : GENERATE_SCHEMA) as unknown as {
    inputs: string;
    parameters: GenerateParameters;
    stream?: boolean;
  };
  return { inputs: raw.inputs, parameters: raw.parameters, stream: raw.stream === true };
}
