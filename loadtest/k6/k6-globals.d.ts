// Type-checking aid only: k6 provides a global `console`, which @types/k6 (lib ES2020, no DOM)
// does not declare. Not loaded by k6.
declare const console: {
  log(...args: unknown[]): void;
  info(...args: unknown[]): void;
  warn(...args: unknown[]): void;
  error(...args: unknown[]): void;
  debug(...args: unknown[]): void;
};
