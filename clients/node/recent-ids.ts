// A set of the most recent ids, bounded: the oldest is forgotten once `max` are held. The server
// remembers the last 256 turn ids of a session (TURN_ID_REUSED), and the client no more.
export class RecentIds {
  private readonly ids = new Set<string>();

  constructor(private readonly max = 256) {}

  has(id: string): boolean {
    return this.ids.has(id);
  }

  add(id: string): void {
    if (this.ids.has(id)) return;
    this.ids.add(id);
    if (this.ids.size > this.max) {
      // A Set iterates in insertion order: the first id is the oldest.
      const oldest = this.ids.values().next();
      if (oldest.done !== true) this.ids.delete(oldest.value);
    }
  }

  get size(): number {
    return this.ids.size;
  }
}
