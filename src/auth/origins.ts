// The Origin check of WebSocket upgrades: with a non-empty allow-list, a request whose Origin
// header names another origin is refused. A request without Origin (a non-browser client) passes:
// the check keeps other web pages from opening sockets, it is not authentication.

export class OriginPolicy {
  /** Lower-cased allowed origins; undefined = any origin. */
  private readonly allowed: ReadonlySet<string> | undefined;

  constructor(origins: readonly string[]) {
    this.allowed = origins.length === 0 ? undefined : new Set(origins.map((o) => o.toLowerCase()));
  }

  get restricted(): boolean {
    return this.allowed !== undefined;
  }

  allows(origin: string | undefined): boolean {
    if (this.allowed === undefined || origin === undefined || origin === '') return true;
    return this.allowed.has(origin.toLowerCase());
  }
}
