// Query parameters of the simulated whisper-asr-webservice as FastAPI + pydantic v2 read them: the
// last value of each key, lax booleans and integers, `Literal` enums (only with strictEnums), and
// the validation errors they collect (the `detail` list of a 422).

export interface FieldError {
  type: string;
  loc: (string | number)[];
  msg: string;
  input: unknown;
  ctx?: Record<string, unknown>;
}

const TRUE = new Set(['1', 'on', 't', 'true', 'y', 'yes']);
const FALSE = new Set(['0', 'off', 'f', 'false', 'n', 'no']);

export function lastValues(url: URL): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of url.searchParams) out[k] = v; // Starlette's QueryParams: the last value wins
  return out;
}

/** Validates query parameters one by one; `errors` keeps the failures in call order. */
export class QueryChecks {
  readonly errors: FieldError[] = [];

  constructor(
    readonly query: Record<string, string>,
    readonly strictEnums: boolean,
  ) {}

  bool(name: string, dflt: boolean): boolean {
    const raw = this.query[name];
    if (raw === undefined) return dflt;
    const v = raw.trim().toLowerCase();
    if (TRUE.has(v)) return true;
    if (FALSE.has(v)) return false;
    this.errors.push({ type: 'bool_parsing', loc: ['query', name], msg: 'Input should be a valid boolean, unable to interpret input', input: raw });
    return dflt;
  }

  int(name: string): void {
    const raw = this.query[name];
    if (raw !== undefined && !/^\s*[+-]?\d+(_\d+)*\s*$/.test(raw)) {
      this.errors.push({ type: 'int_parsing', loc: ['query', name], msg: 'Input should be a valid integer, unable to parse string as an integer', input: raw });
    }
  }

  literal(name: string, allowed: readonly string[]): void {
    const raw = this.query[name];
    if (!this.strictEnums || raw === undefined || allowed.includes(raw)) return;
    const expected = allowed.length === 1 ? `'${allowed[0]}'` : `${allowed.slice(0, -1).map((a) => `'${a}'`).join(', ')} or '${allowed[allowed.length - 1]}'`;
    this.errors.push({ type: 'literal_error', loc: ['query', name], msg: `Input should be ${expected}`, input: raw, ctx: { expected } });
  }
}
