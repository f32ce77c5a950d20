// serde's wording in deserialization errors: what a schema expects, what a value is, Rust's
// `{:?}` of a string, and the variant lists of "expected one of" (used by json.ts).
import { formatRyu } from './numfmt.ts';
import type { JsonValue, Schema } from './json-schema.ts';

export function expectedOf(schema: Schema): string {
  switch (schema.t) {
    case 'string':
      return 'a string';
    case 'bool':
      return 'a boolean';
    case 'f32':
      return 'f32';
    case 'int':
      return schema.name;
    case 'option':
      return expectedOf(schema.inner);
    case 'seq':
      return 'a sequence';
    case 'struct':
      return `struct ${schema.name}`;
    case 'tagged':
      return `adjacently tagged enum ${schema.name}`;
    case 'any':
      return 'any value';
  }
}

/** serde's `OneOf` display of expected variant names. */
export function oneOf(names: readonly string[]): string {
  if (names.length === 0) return 'there are no variants';
  if (names.length === 1) return `\`${names[0]}\``;
  if (names.length === 2) return `\`${names[0]}\` or \`${names[1]}\``;
  return `one of ${names.map((n) => `\`${n}\``).join(', ')}`;
}

/** serde's `Unexpected` text for an already parsed value. */
export function unexpectedOf(v: JsonValue): string {
  if (v === null) return 'null';
  if (typeof v === 'boolean') return `boolean \`${v}\``;
  if (typeof v === 'bigint') return `integer \`${v}\``;
  if (typeof v === 'number') return Number.isInteger(v) ? `integer \`${v}\`` : `floating point \`${formatRyu(v)}\``;
  if (typeof v === 'string') return `string ${rustDebugStr(v)}`;
  return Array.isArray(v) ? 'sequence' : 'map';
}

/** Rust's `{:?}` for a str, as used by serde's `Unexpected::Str`. */
export function rustDebugStr(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0) ?? 0;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (c === 0) out += '\\0';
    else if (c < 0x20 || c === 0x7f) out += `\\u{${c.toString(16)}}`;
    else out += ch;
  }
  return out + '"';
}
