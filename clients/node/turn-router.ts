// Which turn handle a server frame goes to: turns the client asked for (ask()) and turns the server
// started that it follows (followTurn(): voice turns, announced by asr.final, and a watch's turns,
// announced by watch.event). Frames of an announced turn nobody follows yet are kept for
// followTurn() (VoiceTurnBuffers).
import type { ServerMessage } from '../../protocol/messages.ts';
import { VlpClientError } from './errors.ts';
import { TurnHandle, turnOf } from './turn.ts';
import { VoiceTurnBuffers } from './voice-turns.ts';
import { RecentIds } from './recent-ids.ts';

export class TurnRouter {
  private readonly turns = new Map<string, TurnHandle>();
  /** The last 256 turn ids this client used (a generated id skips them). */
  private readonly usedTurnIds = new RecentIds();
  /** The last 256 server-started turn ids followTurn() has handed out (each can be followed once). */
  private readonly followedIds = new RecentIds();
  /** Frames of announced server-started turns nobody follows yet, oldest turn first; bounded. */
  private readonly voiceBuffers: VoiceTurnBuffers;
  private counter: number;

  /** `turnCounter`: turn ids generated so far (a resumed session continues its numbering). */
  constructor(
    private readonly maxBacklog: number,
    turnCounter: number,
    private readonly sendCancel: (id: string) => void,
  ) {
    this.counter = turnCounter;
    this.voiceBuffers = new VoiceTurnBuffers(maxBacklog);
  }

  /** Turn ids generated so far (the next generated id is t{turnCounter + 1}). */
  get turnCounter(): number {
    return this.counter;
  }

  /**
   * A handle for a turn the client starts, its id generated (t1, t2, ...) when omitted. Throws
   * TURN_ID_REUSED while a turn with that id is still tracked. Frames reach it once track()ed.
   */
  asked(id: string | undefined): TurnHandle {
    const tid = id ?? this.nextTurnId();
    if (this.turns.has(tid)) {
      throw new VlpClientError('TURN_ID_REUSED', `turn ${tid} is still running on this client`, { retryable: false, turn: tid });
    }
    this.usedTurnIds.add(tid);
    return this.newHandle(tid);
  }

  /**
   * A handle following a turn the server started, given the frames kept for it. `settled` when
   * those end the turn, or when they were dropped (the handle then fails with CLIENT_SLOW_CONSUMER);
   * otherwise track() it for the turn's next frames. Throws TURN_ID_REUSED for an id already followed.
   */
  followed(id: string): { handle: TurnHandle; settled: boolean } {
    if (this.turns.has(id) || this.followedIds.has(id)) {
      throw new VlpClientError('TURN_ID_REUSED', `turn ${id} is already followed on this client`, { retryable: false, turn: id });
    }
    this.followedIds.add(id);
    const handle = this.newHandle(id);
    return { handle, settled: this.voiceBuffers.handOver(id, handle) };
  }

  /** Route the turn's frames to `handle` from now on (until it ends or its consumer leaves). */
  track(handle: TurnHandle): void {
    this.turns.set(handle.id, handle);
  }

  /** One server frame: delivered to its turn's handle, kept for an announced turn nobody follows
   *  yet, or ignored; asr.final announces the voice turn it starts, a watch.event with `turn` the
   *  turn its watch's `ask` started (the event precedes the turn's frames). */
  route(msg: ServerMessage): void {
    if (msg.t === 'asr.final') {
      this.announceServerTurn(msg.turn);
      return;
    }
    if (msg.t === 'watch.event') {
      if (msg.turn !== undefined) this.announceServerTurn(msg.turn);
      return;
    }
    let id = turnOf(msg);
    // An error for a turn.start the server rejected before it knew the turn id: it belongs to the
    // oldest turn that has not started yet (the server handles messages in order).
    if (id === undefined && msg.t === 'error' && msg.ref === 'turn.start') {
      for (const h of this.turns.values()) {
        if (!h.started && !this.followedIds.has(h.id)) {
          id = h.id;
          break;
        }
      }
    }
    if (id === undefined) return;
    const handle = this.turns.get(id);
    if (handle !== undefined) {
      handle.deliver(msg);
      return;
    }
    this.voiceBuffers.keep(id, msg);
  }

  /** The connection closed: every tracked turn fails with error(turn id). */
  failAll(error: (turn: string) => Error): void {
    for (const h of [...this.turns.values()]) h.fail(error(h.id));
    this.turns.clear();
  }

  /** asr.final or watch.event named a turn the server is starting: keep its frames until
   *  followTurn() takes them. */
  private announceServerTurn(id: string): void {
    if (this.turns.has(id) || this.followedIds.has(id) || this.voiceBuffers.has(id)) return;
    this.voiceBuffers.announce(id);
  }

  private newHandle(id: string): TurnHandle {
    const handle = new TurnHandle(
      id,
      this.sendCancel,
      () => {
        if (this.turns.get(id) === handle) this.turns.delete(id);
      },
      this.maxBacklog,
    );
    return handle;
  }

  private nextTurnId(): string {
    let id: string;
    do {
      this.counter += 1;
      id = `t${this.counter}`;
    } while (this.usedTurnIds.has(id));
    return id;
  }
}
