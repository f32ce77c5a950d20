// JSON exactly as Python's `json.dumps(obj)` writes it (what WhisperLive, whisper-asr-webservice and
// the JumpStart container send): ", " and ": " separators, non-ASCII escaped as \uXXXX
// (ensure_ascii), and floats in Python's repr (1.0, 0.25, 1e-05).

/** A float the way Python's repr prints it. */
export function pyFloat(x: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (x === Infinity) return 'Infinity';
  if (x === -Infinity) return '-Infinity';
  if (Object.is(x, -0)) return '-0.0';
  const a = Math.abs(x);
  if (a !== 0 && (a < 1e-4 || a >= 1e16)) {
    const [mant, exp] = x.toExponential().split('e') as [string, string];
    const sign = exp.startsWith('-') ? '-' : '+';
    const digits = exp.replace(/^[+-]/, '').padStart(2, '0');
    return `${mant}e${sign}${digits}`;
  }
  const s = String(x);
  return Number.isInteger(x) ? `${s}.0` : s;
}

const NON_ASCII = /[\u007f-\uffff]/;
const NON_ASCII_ALL = /[\u007f-\uffff]/g;

function pyString(s: string): string {
  // JSON.stringify escapes quotes, backslashes and control characters like Python does; Python
  // also escapes DEL and everything outside ASCII (surrogate pairs as two \u escapes, as JS strings hold them).
  const j = JSON.stringify(s);
  return NON_ASCII.test(j) ? j.replace(NON_ASCII_ALL, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`) : j;
}

/** A value marked as a Python float even when integral (e.g. 0 → "0.0"). */
export class PyFloat {
  constructor(readonly value: number) {}
}

/** Serialise like Python's json.dumps. JS numbers that are integers print as ints unless wrapped
 *  in PyFloat; others print as Python floats. */
export function pyJson(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (v instanceof PyFloat) return pyFloat(v.value);
  switch (typeof v) {
    case 'boolean':
      return v ? 'true' : 'false';
    case 'number':
      return Number.isInteger(v) ? String(v) : pyFloat(v);
    case 'string':
      return pyString(v);
    case 'object': {
      if (Array.isArray(v)) {
        let out = '[';
        for (let i = 0; i < v.length; i++) out += (i === 0 ? '' : ', ') + pyJson(v[i]);
        return `${out}]`;
      }
      let out = '{';
      let first = true;
      for (const k in v as Record<string, unknown>) {
        const x = (v as Record<string, unknown>)[k];
        if (x === undefined) continue;
        out += `${first ? '' : ', '}${pyString(k)}: ${pyJson(x)}`;
        first = false;
      }
      return `${out}}`;
    }
    default:
      return 'null';
  }
}

