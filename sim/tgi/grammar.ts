// `parameters.grammar` (TGI guidance; read at the release tags of huggingface/text-generation-inference:
// the router field exists since v1.4.1 and the docs date the feature to 1.4.3; the `json_object`
// alias since v2.1.0, the 'properties' check since v2.3.0, the `json_schema` variant since v3.3.0):
// validation with the router's texts (router/src/validation.rs v3.3.7) and a constrained answer
// that matches the grammar, as outlines' logits processor forces a real model to produce.
//
// Validation, in the router's order (all are `Input validation error: ` + ...):
//   --disable-grammar-support          → "grammar is not supported"
//   json: value neither object nor str → "grammar is not supported"
//   json: string value that is not JSON → "grammar is not valid: <serde_json error>"
//   schema fails the 2020-12 meta-schema → "grammar is not valid: <jsonschema error>" (a subset of
//        the meta-schema is checked: type, properties, required, enum, numeric and count keywords,
//        subschema shapes; texts in jsonschema-rs 0.28's wording)
//   no top-level "properties"          → "grammar is not valid: Grammar must have a 'properties' field"
//   regex: passed to the shard as is (a regex the simulator cannot generate from fails at
//        generation, as an outlines compile error would in the Python shard).
//
// The answer: for a JSON schema, an instance written in property order (`{"a": 1, "b": "x"}`); a
// string enum is chosen by the keyword scorer (../intent-scorer.ts) reading the last user message
// against each option's description when the prompt lists options as `- option: description`
// lines (a `(needs an image)` note on an option's line and "no image" elsewhere in the prompt
// down-weight it); a number property named like a confidence gets that choice's probability (or,
// when it is an enum of numbers, the allowed value nearest it). Numeric bounds are applied here,
// though outlines-core (TGI's schema-to-regex step) does not enforce minimum/maximum. A
// regex answer takes the minimum repetitions, the first character of each class, and picks
// alternatives with the same scorer.
import { stripDirectives } from '../faults.ts';
import { scoreCandidates, softmax } from '../intent-scorer.ts';
import { pickTopic } from './answer.ts';
import { decodeJson, JsonDecodeError, type JsonValue } from './json.ts';
import type { PromptView } from './prompt.ts';
import type { GrammarType } from './request.ts';

type JsonObject = { [key: string]: JsonValue };

export type CompiledGrammar = { kind: 'json'; schema: JsonObject } | { kind: 'regex'; source: string };

export type GrammarCheck = { ok: true; grammar: CompiledGrammar | null } | { ok: false; message: string };

const PREFIX = 'Input validation error: ';
const NOT_SUPPORTED = `${PREFIX}grammar is not supported`;
const invalid = (why: string): GrammarCheck => ({ ok: false, message: `${PREFIX}grammar is not valid: ${why}` });

const isObject = (v: JsonValue | undefined): v is JsonObject =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && typeof v !== 'bigint';

/** serde_json's Display of a Value (compact JSON). */
const show = (v: JsonValue): string => JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? Number(x) : x));

const SIMPLE_TYPES = ['array', 'boolean', 'integer', 'null', 'number', 'object', 'string'];
const NUMERIC_KEYWORDS = ['minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'multipleOf'];
const COUNT_KEYWORDS = ['minLength', 'maxLength', 'minItems', 'maxItems', 'minProperties', 'maxProperties'];
const SUBSCHEMA_KEYWORDS = ['items', 'additionalProperties', 'not', 'if', 'then', 'else', 'contains', 'propertyNames'];
const SUBSCHEMA_LIST_KEYWORDS = ['anyOf', 'oneOf', 'allOf', 'prefixItems'];
const SUBSCHEMA_MAP_KEYWORDS = ['properties', '$defs', 'definitions', 'patternProperties'];

const isNumber = (v: JsonValue): boolean => typeof v === 'number' || typeof v === 'bigint';

/** The first meta-schema violation found (a subset of draft 2020-12), or null. */
function metaError(schema: JsonValue): string | null {
  if (typeof schema === 'boolean') return null;
  if (!isObject(schema)) return `${show(schema)} is not of types "boolean", "object"`;
  const t = schema.type;
  if (t !== undefined) {
    const ok =
      (typeof t === 'string' && SIMPLE_TYPES.includes(t)) ||
      (Array.isArray(t) && t.length > 0 && t.every((x) => typeof x === 'string' && SIMPLE_TYPES.includes(x)) && new Set(t).size === t.length);
    if (!ok) return `${show(t)} is not valid under any of the schemas listed in the 'anyOf' keyword`;
  }
  for (const k of SUBSCHEMA_MAP_KEYWORDS) {
    const v = schema[k];
    if (v === undefined) continue;
    if (!isObject(v)) return `${show(v)} is not of type "object"`;
    for (const sub of Object.values(v)) {
      const e = metaError(sub);
      if (e !== null) return e;
    }
  }
  const required = schema.required;
  if (required !== undefined) {
    if (!Array.isArray(required)) return `${show(required)} is not of type "array"`;
    for (const r of required) if (typeof r !== 'string') return `${show(r)} is not of type "string"`;
    if (new Set(required).size !== required.length) return `${show(required)} has non-unique elements`;
  }
  if (schema.enum !== undefined && !Array.isArray(schema.enum)) return `${show(schema.enum)} is not of type "array"`;
  for (const k of NUMERIC_KEYWORDS) {
    const v = schema[k];
    if (v !== undefined && !isNumber(v)) return `${show(v)} is not of type "number"`;
  }
  for (const k of COUNT_KEYWORDS) {
    const v = schema[k];
    if (v === undefined) continue;
    if (!(typeof v === 'bigint' || (typeof v === 'number' && Number.isInteger(v)))) return `${show(v)} is not of type "integer"`;
    if (Number(v) < 0) return `${show(v)} is less than the minimum of 0`;
  }
  for (const k of SUBSCHEMA_KEYWORDS) {
    const v = schema[k];
    if (v === undefined) continue;
    const e = metaError(v);
    if (e !== null) return e;
  }
  for (const k of SUBSCHEMA_LIST_KEYWORDS) {
    const v = schema[k];
    if (v === undefined) continue;
    if (!Array.isArray(v)) return `${show(v)} is not of type "array"`;
    for (const sub of v) {
      const e = metaError(sub);
      if (e !== null) return e;
    }
  }
  return null;
}

function checkSchema(json: JsonValue): GrammarCheck {
  const meta = metaError(json);
  if (meta !== null) return invalid(meta);
  if (!isObject(json) || json.properties === undefined) return invalid("Grammar must have a 'properties' field");
  return { ok: true, grammar: { kind: 'json', schema: json } };
}

/** `Validation::validate`'s grammar step. Runs after the request's other checks. */
export function validateGrammar(grammar: GrammarType | null, disabled: boolean): GrammarCheck {
  if (grammar === null) return { ok: true, grammar: null };
  if (disabled) return { ok: false, message: NOT_SUPPORTED };
  switch (grammar.type) {
    case 'json': {
      let json = grammar.value;
      if (typeof json === 'string') {
        try {
          json = decodeJson(Buffer.from(json), { t: 'any' }, true);
        } catch (err) {
          if (err instanceof JsonDecodeError) return invalid(err.message);
          throw err;
        }
      } else if (!isObject(json)) {
        return { ok: false, message: NOT_SUPPORTED };
      }
      return checkSchema(json);
    }
    case 'json_schema':
      return checkSchema(grammar.value.schema);
    case 'regex':
      return { ok: true, grammar: { kind: 'regex', source: grammar.value } };
  }
}

// ---------------------------------------------------------------------------------------------
// Choosing among options the way a model reading its prompt would.

interface Choice {
  index: number;
  probability: number;
}

/** Thrown when the simulator cannot write text matching a grammar (reported as a generation error). */
export class GrammarGenerationError extends Error {}

const escapeRe = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

class Chooser {
  private readonly userText: string;
  private readonly prompt: string;
  /** Probability of the last choice (for a following confidence field). */
  lastProbability: number | null = null;

  constructor(view: PromptView, inputs: string) {
    this.userText = stripDirectives(view.lastUser);
    this.prompt = inputs;
  }

  choose(options: readonly string[]): Choice {
    if (options.length <= 1) return { index: 0, probability: 1 };
    let rest = this.prompt;
    const texts: string[] = [];
    const needsImage: boolean[] = [];
    for (const option of options) {
      const line = new RegExp(
        `^[ \\t]*(?:[-*•]|\\d+[.)])?[ \\t]*["'\`]?${escapeRe(option)}["'\`]?[ \\t]*(\\([^)\\n]*\\))?[ \\t]*[:–—-][ \\t]*(.+)$`,
        'm',
      ).exec(this.prompt);
      texts.push(line?.[2] ?? option);
      needsImage.push(/needs? an image/i.test(line?.[1] ?? ''));
      if (line) rest = rest.replace(line[0], '');
    }
    const noImage = /\bno image\b|\bnot? (?:have|has) an image\b/i.test(rest);
    let probs = softmax(scoreCandidates(this.userText, texts), 1.2);
    if (noImage) {
      probs = probs.map((p, i) => (needsImage[i] ? p * 0.05 : p));
      const sum = probs.reduce((a, b) => a + b, 0);
      probs = probs.map((p) => p / sum);
    }
    let best = 0;
    probs.forEach((p, i) => {
      if (p > (probs[best] as number)) best = i;
    });
    this.lastProbability = probs[best] as number;
    return { index: best, probability: probs[best] as number };
  }

  topic(): string {
    return pickTopic(this.userText) || 'text';
  }
}

// ---------------------------------------------------------------------------------------------
// JSON schema → instance text

const CONFIDENCE_KEY = /conf|prob|score|certain|likel/i;

function resolveRef(ref: string, root: JsonObject): JsonValue {
  if (!ref.startsWith('#/')) throw new GrammarGenerationError(`Invalid reference path: ${ref}`);
  let node: JsonValue = root;
  for (const part of ref.slice(2).split('/')) {
    if (!isObject(node) || node[part] === undefined) throw new GrammarGenerationError(`Invalid reference path: ${ref}`);
    node = node[part] as JsonValue;
  }
  return node;
}

function numberText(schema: JsonObject, key: string | null, chooser: Chooser, integer: boolean): string {
  const num = (k: string): number | undefined => (isNumber(schema[k] as JsonValue) ? Number(schema[k]) : undefined);
  const min = num('minimum') ?? num('exclusiveMinimum');
  const max = num('maximum') ?? num('exclusiveMaximum');
  let v: number;
  if (!integer && key !== null && CONFIDENCE_KEY.test(key) && chooser.lastProbability !== null) {
    v = Math.round(chooser.lastProbability * 100) / 100;
  } else {
    v = min ?? 0;
  }
  if (min !== undefined) v = Math.max(v, min);
  if (max !== undefined) v = Math.min(v, max);
  if (integer) v = Math.ceil(v);
  return String(v);
}

function instance(schema: JsonValue, key: string | null, root: JsonObject, chooser: Chooser, depth: number): string {
  if (depth > 16) throw new GrammarGenerationError('schema nests too deeply');
  if (schema === true || (isObject(schema) && Object.keys(schema).length === 0)) return 'null';
  if (!isObject(schema)) throw new GrammarGenerationError('unsupported schema');
  if (typeof schema.$ref === 'string') return instance(resolveRef(schema.$ref, root), key, root, chooser, depth + 1);
  if (schema.const !== undefined) return show(schema.const);
  if (Array.isArray(schema.enum)) {
    const values = schema.enum;
    if (values.length === 0) throw new GrammarGenerationError('empty enum');
    if (values.every((v) => typeof v === 'string')) return show(values[chooser.choose(values as string[]).index] as JsonValue);
    const p = chooser.lastProbability;
    if (key !== null && CONFIDENCE_KEY.test(key) && p !== null && values.every((v) => typeof v === 'number')) {
      // A confidence written as one of the allowed values: the one nearest the choice's probability.
      const nums = values as number[];
      return show(nums.reduce((best, v) => (Math.abs(v - p) < Math.abs(best - p) ? v : best), nums[0] as number));
    }
    return show(values[0] as JsonValue);
  }
  for (const k of ['anyOf', 'oneOf', 'allOf'] as const) {
    const list = schema[k];
    if (Array.isArray(list) && list.length > 0) return instance(list[0] as JsonValue, key, root, chooser, depth + 1);
  }
  let type = schema.type;
  if (Array.isArray(type)) type = type.find((t) => t !== 'null') ?? 'null';
  if (type === undefined) type = isObject(schema.properties) ? 'object' : 'string';
  switch (type) {
    case 'object': {
      const props = isObject(schema.properties) ? schema.properties : {};
      const parts = Object.entries(props).map(([k, sub]) => `${JSON.stringify(k)}: ${instance(sub, k, root, chooser, depth + 1)}`);
      return `{${parts.join(', ')}}`;
    }
    case 'array': {
      const prefix = Array.isArray(schema.prefixItems) ? schema.prefixItems : [];
      const minItems = isNumber(schema.minItems as JsonValue) ? Number(schema.minItems) : 0;
      const maxItems = isNumber(schema.maxItems as JsonValue) ? Number(schema.maxItems) : Infinity;
      const n = Math.min(maxItems, Math.max(minItems, 1, prefix.length));
      const items: string[] = [];
      for (let i = 0; i < n; i++) {
        const sub = (prefix[i] ?? schema.items ?? true) as JsonValue;
        items.push(instance(sub, key, root, chooser, depth + 1));
      }
      return `[${items.join(', ')}]`;
    }
    case 'string': {
      if (typeof schema.pattern === 'string') return JSON.stringify(regexText(schema.pattern, chooser));
      let s = chooser.topic();
      const minLength = isNumber(schema.minLength as JsonValue) ? Number(schema.minLength) : 0;
      const maxLength = isNumber(schema.maxLength as JsonValue) ? Number(schema.maxLength) : Infinity;
      while (s.length < minLength) s += 'x';
      return JSON.stringify(s.slice(0, maxLength));
    }
    case 'number':
      return numberText(schema, key, chooser, false);
    case 'integer':
      return numberText(schema, key, chooser, true);
    case 'boolean':
      return 'true';
    case 'null':
      return 'null';
    default:
      throw new GrammarGenerationError(`unsupported type ${show(type)}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Regex → a matching string (a subset: literals, escapes, classes, groups, alternation, quantifiers)

type RNode =
  | { t: 'lit'; s: string }
  | { t: 'seq'; items: RNode[] }
  | { t: 'alt'; options: RNode[] }
  | { t: 'rep'; node: RNode; min: number };

const CLASS_ESCAPES: Record<string, string> = { d: '0', w: 'a', s: ' ', D: 'a', W: ' ', S: 'a' };
const CHAR_ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', f: '\f', v: '\v', '0': '\0' };

class RegexParser {
  private i = 0;

  constructor(private readonly src: string) {}

  parse(): RNode {
    const node = this.alt();
    if (this.i < this.src.length) throw new GrammarGenerationError(`unbalanced ')' at ${this.i}`);
    return node;
  }

  private alt(): RNode {
    const options = [this.seq()];
    while (this.src[this.i] === '|') {
      this.i++;
      options.push(this.seq());
    }
    return options.length === 1 ? (options[0] as RNode) : { t: 'alt', options };
  }

  private seq(): RNode {
    const items: RNode[] = [];
    while (this.i < this.src.length && this.src[this.i] !== '|' && this.src[this.i] !== ')') {
      let atom = this.atom();
      atom = this.quantified(atom);
      items.push(atom);
    }
    return { t: 'seq', items };
  }

  private quantified(atom: RNode): RNode {
    const c = this.src[this.i];
    let min: number | undefined;
    if (c === '*' || c === '?') min = 0;
    else if (c === '+') min = 1;
    if (min !== undefined) {
      this.i++;
    } else if (c === '{') {
      const m = /^\{(\d+)(?:,(\d*))?\}/.exec(this.src.slice(this.i));
      if (!m) return atom;
      min = Number(m[1]);
      this.i += m[0].length;
    } else {
      return atom;
    }
    if (this.src[this.i] === '?' || this.src[this.i] === '+') this.i++; // lazy / possessive
    return { t: 'rep', node: atom, min };
  }

  private atom(): RNode {
    const c = this.src[this.i++] as string;
    switch (c) {
      case '(': {
        if (this.src[this.i] === '?') {
          const m = /^\?(?::|P?<[A-Za-z_][A-Za-z0-9_]*>)/.exec(this.src.slice(this.i));
          if (!m) throw new GrammarGenerationError('lookaround is not supported');
          this.i += m[0].length;
        }
        const inner = this.alt();
        if (this.src[this.i] !== ')') throw new GrammarGenerationError('missing )');
        this.i++;
        return inner;
      }
      case '[':
        return { t: 'lit', s: this.charClass() };
      case '.':
        return { t: 'lit', s: 'a' };
      case '^':
      case '$':
        return { t: 'lit', s: '' };
      case '\\': {
        const e = this.src[this.i++];
        if (e === undefined) throw new GrammarGenerationError('trailing backslash');
        if (/[1-9]/.test(e)) throw new GrammarGenerationError('backreferences are not supported');
        if (e === 'b' || e === 'B' || e === 'A' || e === 'z') return { t: 'lit', s: '' };
        return { t: 'lit', s: CLASS_ESCAPES[e] ?? CHAR_ESCAPES[e] ?? e };
      }
      default:
        return { t: 'lit', s: c };
    }
  }

  /** A representative character of a class (the first one it allows). */
  private charClass(): string {
    const negated = this.src[this.i] === '^';
    if (negated) this.i++;
    const members: string[] = [];
    let first = true;
    while (this.i < this.src.length && (this.src[this.i] !== ']' || first)) {
      first = false;
      let ch = this.src[this.i++] as string;
      if (ch === '\\') {
        const e = this.src[this.i++] as string;
        ch = CLASS_ESCAPES[e] ?? CHAR_ESCAPES[e] ?? e;
      }
      if (this.src[this.i] === '-' && this.src[this.i + 1] !== ']' && this.i + 1 < this.src.length) {
        this.i++;
        let hi = this.src[this.i++] as string;
        if (hi === '\\') hi = this.src[this.i++] as string;
        for (let k = ch.charCodeAt(0); k <= hi.charCodeAt(0) && members.length < 256; k++) members.push(String.fromCharCode(k));
      } else {
        members.push(ch);
      }
    }
    if (this.src[this.i] !== ']') throw new GrammarGenerationError('unclosed character class');
    this.i++;
    if (!negated) return members[0] ?? 'a';
    for (const candidate of 'abcdefghijklmnopqrstuvwxyz0123456789 ') if (!members.includes(candidate)) return candidate;
    throw new GrammarGenerationError('empty character class');
  }
}

function emit(node: RNode, chooser: Chooser): string {
  switch (node.t) {
    case 'lit':
      return node.s;
    case 'seq':
      return node.items.map((n) => emit(n, chooser)).join('');
    case 'rep':
      return emit(node.node, chooser).repeat(node.min);
    case 'alt': {
      const texts = node.options.map((o) => emit(o, chooser));
      return texts[chooser.choose(texts).index] as string;
    }
  }
}

function regexText(source: string, chooser: Chooser): string {
  return emit(new RegexParser(source).parse(), chooser);
}

/** The text a grammar-constrained model writes for this prompt (deterministic). Throws
 *  GrammarGenerationError when the simulator cannot produce a match. */
export function grammarAnswer(grammar: CompiledGrammar, view: PromptView, inputs: string): string {
  const chooser = new Chooser(view, inputs);
  return grammar.kind === 'json' ? instance(grammar.schema, null, grammar.schema, chooser, 0) : regexText(grammar.source, chooser);
}
