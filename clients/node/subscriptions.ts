// The client's frame subscribers: events() iterators, each its own bounded queue of every server
// frame (the first one pre-created at ready, so a resume's replay is kept), and the asr.final
// queues behind voiceTurns() iterators. All of them end when the connection closes.
import type { AsrFinalMsg, ServerMessage } from '../../protocol/messages.ts';
import { BoundedQueue } from './queue.ts';

export class Subscriptions {
  private readonly subs = new Set<BoundedQueue<ServerMessage>>();
  private readonly finalSubs = new Set<BoundedQueue<AsrFinalMsg>>();
  /** First events() iterator, pre-created so frames right after ready (a resume's replay) are kept. */
  private firstSub: BoundedQueue<ServerMessage> | undefined;
  private ended = false;

  /** `maxBacklog`: per-iterator bound, frames. */
  constructor(private readonly maxBacklog: number) {
    this.firstSub = this.subscribe();
  }

  /** A queue for events(): the pre-created first one while it is still of use, else a new one. */
  events(): BoundedQueue<ServerMessage> {
    const first = this.firstSub;
    this.firstSub = undefined;
    if (first !== undefined && (!first.closed || first.size > 0)) return first;
    return this.subscribe();
  }

  /** A queue of the asr.final frames from now on, for a voiceTurns() iterator. */
  finals(): BoundedQueue<AsrFinalMsg> {
    const q: BoundedQueue<AsrFinalMsg> = new BoundedQueue<AsrFinalMsg>(this.maxBacklog, 'voiceTurns()', () => this.finalSubs.delete(q));
    if (this.ended) q.end();
    else this.finalSubs.add(q);
    return q;
  }

  /** One server frame, to every subscriber that wants it. */
  push(msg: ServerMessage): void {
    if (msg.t === 'asr.final') for (const q of this.finalSubs) q.push(msg);
    for (const q of this.subs) q.push(msg);
  }

  /** The connection closed: every queue ends (after its unread frames); later ones start ended. */
  end(): void {
    this.ended = true;
    for (const q of [...this.subs]) q.end();
    for (const q of [...this.finalSubs]) q.end();
  }

  private subscribe(): BoundedQueue<ServerMessage> {
    const q: BoundedQueue<ServerMessage> = new BoundedQueue<ServerMessage>(this.maxBacklog, 'events()', () =>
      this.subs.delete(q),
    );
    if (this.ended) q.end();
    else this.subs.add(q);
    return q;
  }
}
