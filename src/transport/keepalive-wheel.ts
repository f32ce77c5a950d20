// Spreads keepalive work over its period. Pinging every connection from one timer callback is a
// burst of one socket write per connection (≈ 20 µs each here, so 30 ms of stalled event loop
// for 1 500 connections, delaying every token in flight). The wheel puts each member in one of
// `slots` buckets, round robin, and every period/slots ms visits one bucket, so each member is
// still visited once per period but the work per timer callback is 1/slots of it.

export interface KeepaliveMember {
  keepaliveTick(): void;
}

export class KeepaliveWheel<T extends KeepaliveMember> {
  private readonly buckets: Set<T>[];
  private readonly slotOf = new Map<T, number>();
  private next = 0;
  private cursor = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly periodMs: number,
    slots = 20,
  ) {
    if (!(periodMs > 0)) throw new RangeError(`keepalive period must be positive, got ${periodMs}`);
    const n = Math.max(1, Math.min(Math.floor(slots), Math.floor(periodMs)));
    this.buckets = Array.from({ length: n }, () => new Set<T>());
  }

  get size(): number {
    return this.slotOf.size;
  }

  add(member: T): void {
    if (this.slotOf.has(member)) return;
    const slot = this.next;
    this.next = (this.next + 1) % this.buckets.length;
    this.buckets[slot]!.add(member);
    this.slotOf.set(member, slot);
  }

  delete(member: T): void {
    const slot = this.slotOf.get(member);
    if (slot === undefined) return;
    this.buckets[slot]!.delete(member);
    this.slotOf.delete(member);
  }

  /** Starts the timer (unref'd: it never keeps the process alive). */
  start(): void {
    if (this.timer !== undefined) return;
    this.timer = setInterval(() => this.tick(), this.periodMs / this.buckets.length);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Visits the next bucket (the timer calls this; tests may too). A member that leaves the
   *  wheel during its own tick (e.g. terminated) is simply skipped afterwards. */
  tick(): void {
    const bucket = this.buckets[this.cursor]!;
    this.cursor = (this.cursor + 1) % this.buckets.length;
    for (const m of [...bucket]) m.keepaliveTick();
  }
}
