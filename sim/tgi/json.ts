// Request-body decoding that reproduces axum 0.7's `Json<T>` rejection texts: a schema-driven JSON
// reader with serde_json's error messages and line/column positions, serde's "invalid type" wording
// and serde_path_to_error's path prefix (e.g. "parameters.stop[0]: invalid type: ... at line 1 column 40").
// Errors surface in document order, as with serde's streaming deserializer.
import { isUtf8 } from 'node:buffer';
import { JsonDecodeError, type FieldSpec, type IntName, type JsonValue, type Schema, type TaggedSchema } from './json-schema.ts';
import { formatRyu } from './numfmt.ts';
import { expectedOf, oneOf, rustDebugStr, unexpectedOf } from './serde-text.ts';

export { JsonDecodeError, type FieldSpec, type IntName, type JsonValue, type Schema, type TaggedSchema };

const INT_MAX: Record<IntName, bigint> = {
  u32: 0xffffffffn,
  u64: 0xffffffffffffffffn,
  usize: 0xffffffffffffffffn,
  i32: 0x7fffffffn,
};
const INT_MIN: Record<IntName, bigint> = { u32: 0n, u64: 0n, usize: 0n, i32: -0x80000000n };
const U64_MAX = 0xffffffffffffffffn;
const I64_MIN_ABS = 0x8000000000000000n;

type ParsedNumber = { kind: 'u64' | 'i64'; int: bigint } | { kind: 'f64'; float: number };

type PathSegment = string | number;

class Reader {
  private i = 0;
  private readonly n: number;
  private readonly path: PathSegment[] = [];

  constructor(private readonly b: Buffer) {
    this.n = b.length;
  }

  // ---- errors -------------------------------------------------------------------------------

  private pathPrefix(): string {
    if (this.path.length === 0) return '';
    let out = '';
    let sep = '';
    for (const seg of this.path) {
      if (typeof seg === 'number') out += `[${seg}]`;
      else out += sep + seg;
      sep = '.';
    }
    return `${out}: `;
  }

  private at(index: number): string {
    const b = this.b;
    let startOfLine = 0;
    let line = 1;
    for (let k = 0; k < index; k++) {
      if (b[k] === 0x0a) {
        line++;
        startOfLine = k + 1;
      }
    }
    return ` at line ${line} column ${index - startOfLine}`;
  }

  /** serde_json `error()`: position of the current index. */
  private err(message: string, category: 'syntax' | 'data' = 'syntax'): JsonDecodeError {
    return new JsonDecodeError(category, this.pathPrefix() + message + this.at(this.i));
  }

  /** serde_json `peek_error()`: position just after the peeked byte. */
  private peekErr(message: string): JsonDecodeError {
    return new JsonDecodeError('syntax', this.pathPrefix() + message + this.at(Math.min(this.n, this.i + 1)));
  }

  // ---- lexing -------------------------------------------------------------------------------

  /** Skip JSON whitespace; return the next byte without consuming it, or -1 at EOF. */
  private ws(): number {
    const b = this.b;
    while (this.i < this.n) {
      const c = b[this.i] as number;
      if (c === 0x20 || c === 0x0a || c === 0x09 || c === 0x0d) this.i++;
      else return c;
    }
    return -1;
  }

  private ident(rest: string): void {
    for (let k = 0; k < rest.length; k++) {
      if (this.i >= this.n) throw this.err('EOF while parsing a value');
      const c = this.b[this.i++];
      if (c !== rest.charCodeAt(k)) throw this.err('expected ident');
    }
  }

  private hex4(): number {
    if (this.n - this.i < 4) {
      this.i = this.n;
      throw this.err('EOF while parsing a string');
    }
    let v = 0;
    for (let k = 0; k < 4; k++) {
      const c = this.b[this.i++] as number;
      let d: number;
      if (c >= 0x30 && c <= 0x39) d = c - 0x30;
      else if (c >= 0x61 && c <= 0x66) d = c - 0x57;
      else if (c >= 0x41 && c <= 0x46) d = c - 0x37;
      else throw this.err('invalid escape');
      v = (v << 4) | d;
    }
    return v;
  }

  /** Parse a string; the cursor is on the opening quote. */
  private str(): string {
    const b = this.b;
    this.i++;
    const rawStart = this.i;
    let runStart = this.i;
    let out = '';
    for (;;) {
      if (this.i >= this.n) throw this.err('EOF while parsing a string');
      const c = b[this.i] as number;
      if (c === 0x22) {
        if (!isUtf8(b.subarray(rawStart, this.i))) {
          this.i++;
          throw this.err('invalid unicode code point');
        }
        out += b.toString('utf8', runStart, this.i);
        this.i++;
        return out;
      }
      if (c === 0x5c) {
        out += b.toString('utf8', runStart, this.i);
        this.i++;
        if (this.i >= this.n) throw this.err('EOF while parsing a string');
        const e = b[this.i++];
        switch (e) {
          case 0x22: out += '"'; break;
          case 0x5c: out += '\\'; break;
          case 0x2f: out += '/'; break;
          case 0x62: out += '\b'; break;
          case 0x66: out += '\f'; break;
          case 0x6e: out += '\n'; break;
          case 0x72: out += '\r'; break;
          case 0x74: out += '\t'; break;
          case 0x75: {
            const u = this.hex4();
            if (u >= 0xd800 && u <= 0xdbff) {
              if (b[this.i] !== 0x5c || b[this.i + 1] !== 0x75) throw this.err('lone leading surrogate in hex escape');
              this.i += 2;
              const lo = this.hex4();
              if (lo < 0xdc00 || lo > 0xdfff) throw this.err('lone leading surrogate in hex escape');
              out += String.fromCharCode(u, lo);
            } else if (u >= 0xdc00 && u <= 0xdfff) {
              throw this.err('lone leading surrogate in hex escape');
            } else {
              out += String.fromCharCode(u);
            }
            break;
          }
          default:
            throw this.err('invalid escape');
        }
        runStart = this.i;
        continue;
      }
      if (c < 0x20) {
        this.i++;
        throw this.err('control character (\\u0000-\\u001F) found while parsing a string');
      }
      this.i++;
    }
  }

  private isDigit(c: number | undefined): boolean {
    return c !== undefined && c >= 0x30 && c <= 0x39;
  }

  /** Parse a number; the cursor is on '-' or a digit. Mirrors serde_json's integer/float split. */
  private num(): ParsedNumber {
    const b = this.b;
    const start = this.i;
    const negative = b[this.i] === 0x2d;
    if (negative) this.i++;
    if (this.i >= this.n) throw this.err('invalid number');
    const first = b[this.i++] as number;
    if (first === 0x30) {
      if (this.isDigit(b[this.i])) throw this.peekErr('invalid number');
    } else if (first >= 0x31 && first <= 0x39) {
      while (this.isDigit(b[this.i])) this.i++;
    } else {
      throw this.err('invalid number');
    }
    let isFloat = false;
    if (b[this.i] === 0x2e) {
      isFloat = true;
      this.i++;
      if (!this.isDigit(b[this.i])) {
        if (this.i >= this.n) throw this.peekErr('EOF while parsing a value');
        throw this.peekErr('invalid number');
      }
      while (this.isDigit(b[this.i])) this.i++;
    }
    if (b[this.i] === 0x65 || b[this.i] === 0x45) {
      isFloat = true;
      this.i++;
      if (b[this.i] === 0x2b || b[this.i] === 0x2d) this.i++;
      if (this.i >= this.n) throw this.err('EOF while parsing a value');
      const d = b[this.i++];
      if (!this.isDigit(d)) throw this.err('invalid number');
      while (this.isDigit(b[this.i])) this.i++;
    }
    const raw = b.toString('latin1', start, this.i);
    if (isFloat) {
      const float = Number(raw);
      if (!Number.isFinite(float)) throw this.err('number out of range');
      return { kind: 'f64', float };
    }
    const magnitude = BigInt(negative ? raw.slice(1) : raw);
    if (!negative) return magnitude <= U64_MAX ? { kind: 'u64', int: magnitude } : { kind: 'f64', float: Number(raw) };
    if (magnitude === 0n || magnitude > I64_MIN_ABS) return { kind: 'f64', float: -Number(raw.slice(1)) };
    return { kind: 'i64', int: -magnitude };
  }

  // ---- generic values -----------------------------------------------------------------------

  /** Parse any JSON value (used for unknown keys and untyped fields). */
  private any(): JsonValue {
    const c = this.ws();
    switch (c) {
      case -1:
        throw this.peekErr('EOF while parsing a value');
      case 0x6e:
        this.i++;
        this.ident('ull');
        return null;
      case 0x74:
        this.i++;
        this.ident('rue');
        return true;
      case 0x66:
        this.i++;
        this.ident('alse');
        return false;
      case 0x22:
        return this.str();
      case 0x5b: {
        this.i++;
        const out: JsonValue[] = [];
        this.seqLoop(() => {
          out.push(this.any());
        });
        return out;
      }
      case 0x7b: {
        this.i++;
        const out: Record<string, JsonValue> = {};
        this.mapLoop((key) => {
          out[key] = this.any();
        });
        return out;
      }
      default:
        if (c === 0x2d || this.isDigit(c)) {
          const n = this.num();
          return n.kind === 'f64' ? n.float : Number(n.int);
        }
        throw this.peekErr('expected value');
    }
  }

  /** Sequence body after '['; calls `element` for each element with the path extended. */
  private seqLoop(element: () => void): void {
    let first = true;
    for (let index = 0; ; index++) {
      this.path.push(index);
      let c = this.ws();
      if (c === 0x5d) {
        this.path.pop();
        this.i++;
        return;
      }
      if (c === 0x2c && !first) {
        this.i++;
        c = this.ws();
      } else if (c === -1) {
        throw this.peekErr('EOF while parsing a list');
      } else if (!first) {
        throw this.peekErr('expected `,` or `]`');
      }
      first = false;
      if (c === 0x5d) throw this.peekErr('trailing comma');
      if (c === -1) throw this.peekErr('EOF while parsing a value');
      element();
      this.path.pop();
    }
  }

  /** Object body after '{'; `entry` is called with the cursor on the value (colon consumed),
   *  `onKey` right after a key is read. Returns with the closing brace consumed. */
  private mapLoop(entry: (key: string) => void, onKey?: (key: string) => void): void {
    let first = true;
    for (;;) {
      let c = this.ws();
      if (c === 0x7d) {
        this.i++;
        return;
      }
      if (c === 0x2c && !first) {
        this.i++;
        c = this.ws();
      } else if (c === -1) {
        throw this.peekErr('EOF while parsing an object');
      } else if (!first) {
        throw this.peekErr('expected `,` or `}`');
      }
      first = false;
      if (c !== 0x22) {
        if (c === 0x7d) throw this.peekErr('trailing comma');
        if (c === -1) throw this.peekErr('EOF while parsing a value');
        throw this.peekErr('key must be a string');
      }
      const key = this.str();
      onKey?.(key);
      this.path.push(key);
      const colon = this.ws();
      if (colon === -1) throw this.peekErr('EOF while parsing an object');
      if (colon !== 0x3a) throw this.peekErr('expected `:`');
      this.i++;
      entry(key);
      this.path.pop();
    }
  }

  // ---- typed values -------------------------------------------------------------------------

  private invalidType(schema: Schema): JsonDecodeError {
    return this.invalidTypeExpecting(expectedOf(schema));
  }

  private invalidTypeExpecting(expected: string): JsonDecodeError {
    const c = this.ws();
    let unexpected: string;
    if (c === 0x6e) {
      this.i++;
      this.ident('ull');
      unexpected = 'null';
    } else if (c === 0x74) {
      this.i++;
      this.ident('rue');
      unexpected = 'boolean `true`';
    } else if (c === 0x66) {
      this.i++;
      this.ident('alse');
      unexpected = 'boolean `false`';
    } else if (c === 0x2d || this.isDigit(c)) {
      const n = this.num();
      unexpected = n.kind === 'f64' ? `floating point \`${formatRyu(n.float)}\`` : `integer \`${n.int}\``;
    } else if (c === 0x22) {
      unexpected = `string ${rustDebugStr(this.str())}`;
    } else if (c === 0x5b) {
      unexpected = 'sequence';
    } else if (c === 0x7b) {
      unexpected = 'map';
    } else {
      return this.peekErr('expected value');
    }
    return this.err(`invalid type: ${unexpected}, expected ${expected}`, 'data');
  }

  /** serde_json `Deserializer::end`: only whitespace may follow the value. */
  end(): void {
    if (this.ws() !== -1) throw this.peekErr('trailing characters');
  }

  value(schema: Schema): JsonValue {
    const c = this.ws();
    if (c === -1) throw this.peekErr('EOF while parsing a value');
    switch (schema.t) {
      case 'any':
        return this.any();
      case 'option':
        if (c === 0x6e) {
          this.i++;
          this.ident('ull');
          return null;
        }
        return this.value(schema.inner);
      case 'string':
        if (c === 0x22) return this.str();
        throw this.invalidType(schema);
      case 'bool':
        if (c === 0x74) {
          this.i++;
          this.ident('rue');
          return true;
        }
        if (c === 0x66) {
          this.i++;
          this.ident('alse');
          return false;
        }
        throw this.invalidType(schema);
      case 'f32': {
        if (c !== 0x2d && !this.isDigit(c)) throw this.invalidType(schema);
        const n = this.num();
        return n.kind === 'f64' ? n.float : Number(n.int);
      }
      case 'int': {
        if (c !== 0x2d && !this.isDigit(c)) throw this.invalidType(schema);
        const n = this.num();
        if (n.kind === 'f64') {
          throw this.err(`invalid type: floating point \`${formatRyu(n.float)}\`, expected ${schema.name}`, 'data');
        }
        if (n.int > INT_MAX[schema.name] || n.int < INT_MIN[schema.name]) {
          throw this.err(`invalid value: integer \`${n.int}\`, expected ${schema.name}`, 'data');
        }
        return schema.name === 'u64' ? n.int : Number(n.int);
      }
      case 'seq': {
        if (c !== 0x5b) throw this.invalidType(schema);
        this.i++;
        const out: JsonValue[] = [];
        this.seqLoop(() => {
          out.push(this.value(schema.inner));
        });
        return out;
      }
      case 'struct':
        if (c !== 0x7b) throw this.invalidType(schema);
        return this.struct(schema);
      case 'tagged':
        if (c !== 0x7b) throw this.invalidType(schema);
        return this.tagged(schema);
    }
  }

  /** serde_derive's adjacently tagged `visit_map`: the tag names the variant (unknown spellings
   *  fail with serde's "unknown variant" text at the tag's value); content before the tag is
   *  buffered and checked once the tag is read; other keys are ignored; a repeated tag or content
   *  is a duplicate field; a missing one a missing field. (The `[tag, content]` sequence form is
   *  not simulated.) */
  private tagged(schema: TaggedSchema): JsonValue {
    this.i++;
    let variant: string | null = null;
    let content: { value: JsonValue; buffered: boolean } | null = null;
    this.mapLoop(
      (key) => {
        if (key === schema.tag) {
          const name = this.variantName(schema);
          variant = name;
          if (content?.buffered) content = { value: this.checkBuffered(schema.contents[name] ?? { t: 'any' }, content.value), buffered: false };
        } else if (key === schema.content) {
          content = variant === null ? { value: this.any(), buffered: true } : { value: this.value(schema.contents[variant] ?? { t: 'any' }), buffered: false };
        } else {
          this.any();
        }
      },
      (key) => {
        if ((key === schema.tag && variant !== null) || (key === schema.content && content !== null)) {
          throw this.err(`duplicate field \`${key}\``, 'data');
        }
      },
    );
    if (variant === null) throw this.err(`missing field \`${schema.tag}\``, 'data');
    if (content === null) throw this.err(`missing field \`${schema.content}\``, 'data');
    return { [schema.tag]: variant, [schema.content]: (content as { value: JsonValue }).value };
  }

  private variantName(schema: TaggedSchema): string {
    const c = this.ws();
    if (c === -1) throw this.peekErr('EOF while parsing a value');
    if (c !== 0x22) throw this.invalidTypeExpecting('variant identifier');
    const s = this.str();
    const name = schema.aliases?.[s] ?? (schema.variants.includes(s) ? s : undefined);
    if (name === undefined) throw this.err(`unknown variant \`${s}\`, expected ${oneOf(schema.variants)}`, 'data');
    return name;
  }

  /** Content read before its tag, checked against the variant's schema (no position of its own:
   *  errors are reported where the tag was read). */
  private checkBuffered(schema: Schema, v: JsonValue): JsonValue {
    const invalid = (): JsonDecodeError => this.err(`invalid type: ${unexpectedOf(v)}, expected ${expectedOf(schema)}`, 'data');
    switch (schema.t) {
      case 'any':
        return v;
      case 'option':
        return v === null ? null : this.checkBuffered(schema.inner, v);
      case 'string':
        if (typeof v !== 'string') throw invalid();
        return v;
      case 'struct': {
        if (typeof v !== 'object' || v === null || Array.isArray(v) || typeof v === 'bigint') throw invalid();
        const out: Record<string, JsonValue> = {};
        for (const [name, spec] of Object.entries(schema.fields)) {
          const field = (v as Record<string, JsonValue>)[name];
          if (field !== undefined) out[name] = this.checkBuffered(spec.schema, field);
          else if (spec.default) out[name] = spec.default();
          else throw this.err(`missing field \`${name}\``, 'data');
        }
        return out;
      }
      default:
        // Only the shapes GrammarType's variants use are buffered.
        return v;
    }
  }

  private struct(schema: { t: 'struct'; name: string; fields: Record<string, FieldSpec> }): JsonValue {
    this.i++;
    const out: Record<string, JsonValue> = {};
    const seen = new Set<string>();
    this.mapLoop(
      (key) => {
        const spec = Object.hasOwn(schema.fields, key) ? schema.fields[key] : undefined;
        if (spec) {
          out[key] = this.value(spec.schema);
          seen.add(key);
        } else {
          this.any();
        }
      },
      (key) => {
        if (seen.has(key)) {
          this.ws();
          throw this.err(`duplicate field \`${key}\``, 'data');
        }
      },
    );
    for (const [name, spec] of Object.entries(schema.fields)) {
      if (seen.has(name)) continue;
      if (!spec.default) throw this.err(`missing field \`${name}\``, 'data');
      out[name] = spec.default();
    }
    return out;
  }
}

/** Decode `body` against `schema` like axum's `Json<T>` (serde_json + serde_path_to_error).
 *  Trailing bytes after the value are ignored, as in axum 0.7; `strict` rejects them like
 *  `serde_json::from_str` ("trailing characters"). */
export function decodeJson(body: Buffer, schema: Schema, strict = false): JsonValue {
  const reader = new Reader(body);
  const value = reader.value(schema);
  if (strict) reader.end();
  return value;
}
