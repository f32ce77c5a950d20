// The schema language of the serde-compatible request reader (json.ts): the shapes TGI's request
// types deserialize into, and the error it raises (axum's syntax/data rejection categories).

export type JsonValue = null | boolean | number | bigint | string | JsonValue[] | { [key: string]: JsonValue };

export type IntName = 'u32' | 'u64' | 'usize' | 'i32';

export type Schema =
  | { t: 'string' }
  | { t: 'bool' }
  | { t: 'f32' }
  | { t: 'int'; name: IntName }
  | { t: 'option'; inner: Schema }
  | { t: 'seq'; inner: Schema }
  | { t: 'struct'; name: string; fields: Record<string, FieldSpec> }
  | TaggedSchema
  | { t: 'any' };

/** serde's adjacently tagged enum (`#[serde(tag = "type", content = "value")]`) whose variants all
 *  carry content (newtype variants), decoded to `{ [tag]: variant, [content]: value }`. */
export interface TaggedSchema {
  t: 'tagged';
  name: string;
  tag: string;
  content: string;
  /** Variant names in declaration order (serde's VARIANTS, as listed in "expected one of"). */
  variants: readonly string[];
  /** `#[serde(alias = ...)]`: accepted spelling → variant name. */
  aliases?: Readonly<Record<string, string>>;
  /** Content schema per variant. */
  contents: Readonly<Record<string, Schema>>;
}

export interface FieldSpec {
  schema: Schema;
  /** Value when the key is absent; absent and no default = "missing field". */
  default?: () => JsonValue;
}

/** `syntax` maps to axum's 400 JsonSyntaxError, `data` to the 422 JsonDataError. */
export class JsonDecodeError extends Error {
  constructor(
    readonly category: 'syntax' | 'data',
    message: string,
  ) {
    super(message);
    this.name = 'JsonDecodeError';
  }
}
