// Float formatting as Rust's serde_json/ryu prints it ("1.0", "0.001", "1e-7", "1.8446744073709552e19"),
// so numbers in simulated TGI JSON and in serde error texts match the real bytes.

/** Shortest round-trip digits and decimal exponent: value = 0.d1d2d3... * 10^kk. */
function digitsOf(abs: number): { digits: string; kk: number } {
  const [mant = '0', exp = '0'] = abs.toExponential().split('e');
  const digits = mant.replace('.', '');
  return { digits, kk: Number(exp) + 1 };
}

function pretty(x: number, maxKk: number): string {
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const sign = x < 0 ? '-' : '';
  const { digits, kk } = digitsOf(Math.abs(x));
  const length = digits.length;
  const k = kk - length;
  let body: string;
  if (k >= 0 && kk <= maxKk) body = digits + '0'.repeat(k) + '.0';
  else if (kk > 0 && kk <= maxKk) body = `${digits.slice(0, kk)}.${digits.slice(kk)}`;
  else if (kk > -5 && kk <= 0) body = `0.${'0'.repeat(-kk)}${digits}`;
  else if (length === 1) body = `${digits}e${kk - 1}`;
  else body = `${digits[0]}.${digits.slice(1)}e${kk - 1}`;
  return sign + body;
}

/** ryu's formatting of an f64 (serde_json `Unexpected::Float`, f64 fields). */
export function formatRyu(x: number): string {
  return pretty(x, 16);
}

/** ryu's formatting of an f32 whose shortest f32 digits equal `x`'s shortest f64 digits
 *  (true for values with at most 6 significant digits, e.g. simulated logprobs). */
export function formatF32(x: number): string {
  return pretty(x, 13);
}
