// One text/vision turn as seen by the client: an async iterable of the turn's frames that ends on
// gen.done, turn.cancelled or an error for the turn, plus text() and cancel() conveniences.
import type { ServerMessage } from '../../protocol/messages.ts';
import { VlpClientError } from './errors.ts';
import { BoundedQueue, DEFAULT_MAX_BACKLOG } from './queue.ts';

/** Server frame types that carry a `turn` and belong to that turn's stream. */
const TURN_TYPES: ReadonlySet<ServerMessage['t']> = new Set<ServerMessage['t']>([
  'turn.started',
  'gen.token',
  'gen.done',
  'turn.cancelled',
  'error',
  'turn.metrics',
  'detect.boxes',
  'mask.frame',
  'plan.step',
  'intent.update',
]);

/** The turn id a frame belongs to, or undefined for session-level frames. */
export function turnOf(msg: ServerMessage): string | undefined {
  if (!TURN_TYPES.has(msg.t)) return undefined;
  return 'turn' in msg ? msg.turn : undefined;
}

/** Frames after which a turn sends nothing more (turn.metrics may still follow; it is not awaited). */
export function isTerminal(msg: ServerMessage): boolean {
  return msg.t === 'gen.done' || msg.t === 'turn.cancelled' || msg.t === 'error';
}

/**
 * A running turn. Iterate it once (for await) or call text() once; both consume the same stream.
 * The iterator ends on gen.done, turn.cancelled or an error for the turn (the error frame is
 * yielded, not thrown); a turn.metrics that arrives after gen.done is only seen by events().
 * If the connection closes before the turn ends, the iterator throws a VlpClientError. Leaving the
 * loop before the turn ends sends turn.cancel (the server then stops generating).
 */
export class TurnHandle implements AsyncIterable<ServerMessage> {
  readonly id: string;
  /** True once turn.started (or any frame of the turn) has arrived. */
  started = false;
  private readonly queue: BoundedQueue<ServerMessage>;
  private readonly sendCancel: (id: string) => void;

  constructor(id: string, sendCancel: (id: string) => void, onDetach: () => void, max = DEFAULT_MAX_BACKLOG) {
    this.id = id;
    this.sendCancel = sendCancel;
    this.queue = new BoundedQueue<ServerMessage>(max, `turn ${id}`, onDetach);
  }

  /** True once the turn's terminal frame was routed (or the handle failed). */
  get finished(): boolean {
    return this.queue.closed;
  }

  /** Router entry point: one frame of this turn. */
  deliver(msg: ServerMessage): void {
    this.started = true;
    this.queue.push(msg);
    if (isTerminal(msg)) this.queue.end();
  }

  /** The connection went away before the turn ended. */
  fail(err: Error): void {
    this.queue.fail(err);
  }

  /** Ask the server to cancel this turn; the stream then ends with turn.cancelled. */
  cancel(): void {
    if (!this.finished) this.sendCancel(this.id);
  }

  /** Leaving the loop early (break, return, throw) before the turn ended cancels the turn. */
  [Symbol.asyncIterator](): AsyncIterator<ServerMessage> {
    const q = this.queue;
    return {
      next: () => q.next(),
      return: () => {
        this.cancel();
        return q.return();
      },
    };
  }

  /**
   * Concatenated gen.token text. Resolves on gen.done, and with the partial text on turn.cancelled;
   * rejects with a VlpClientError on an error frame for the turn or a lost connection.
   */
  async text(): Promise<string> {
    let out = '';
    for await (const msg of this) {
      if (msg.t === 'gen.token') out += msg.text;
      else if (msg.t === 'error') {
        throw new VlpClientError(msg.code, msg.message, { retryable: msg.retryable, turn: this.id });
      }
    }
    return out;
  }
}
