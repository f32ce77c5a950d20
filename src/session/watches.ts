// A session's watches (SPEC.md section 9b, watch.start / watch.stop): each runs detection on the
// session's newest image (a camera frame sent with image.put) at most once per interval_ms, one
// detection in flight, tracks which labels are in view (watch-state.ts) and pushes watch.event when
// one enters or leaves; with `ask`, an enter starts a vision turn about that frame, at most once per
// cooldown_ms and only when no other turn runs. Bounded: segmenter.watchesPerSession watches, one
// detection and one waiting frame each; everything stops with the session.
import { VlpError } from '../../protocol/errors.ts';
import type { ServerPayload, WatchStartMsg, WatchStopMsg, WatchTurnSkipped } from '../../protocol/messages.ts';
import { WATCH_LIMITS } from '../../protocol/validate-watch.ts';
import type { SegmenterBackend } from '../backends/segmenter-port.ts';
import type { StoredImage } from '../images/types.ts';
import { safeErrorFields } from '../observability/fatal.ts';
import type { GatewayContext } from './context.ts';
import { fitForSegmenter } from './image-prep.ts';
import type { ErrorCode } from '../../protocol/errors.ts';
import { Presence, type PresenceChange } from './watch-state.ts';

const REF = 'watch.start';

/** What a watch needs from its session. */
export interface WatchHost {
  readonly id: string;
  readonly ctx: GatewayContext;
  send(p: ServerPayload): void;
  sendError(code: ErrorCode, message: string, extra?: { turn?: string; ref?: string; retryable?: boolean }): void;
  /** The stored image now (undefined: never stored, rejected or evicted). */
  peekImage(imageId: string): StoredImage | undefined;
  /** The session's newest image, if any: a new watch starts on it. */
  readonly latestImageId: string | undefined;
  /** Starts a vision turn asking `text` about `imageId`, after `announce(turnId)` has sent the
   *  event that names it; or returns why it cannot start now (another turn runs, or the session
   *  is ending), or the refusal the turn would get (nothing announced, nothing sent). */
  startWatchTurn(text: string, imageId: string, announce: (turn: string) => void): Exclude<WatchTurnSkipped, 'refused'> | VlpError | undefined;
}

interface Watch {
  readonly id: string;
  readonly labels: string[];
  readonly intervalMs: number;
  readonly boxThreshold: number;
  readonly ask: string | undefined;
  readonly cooldownMs: number;
  /** Only image ids starting with it are this watch's frames ('' = every image). */
  readonly framePrefix: string;
  readonly presence: Presence;
  /** The detection in flight, if any. */
  running: AbortController | undefined;
  /** The newest frame not examined yet (a newer one replaces it). */
  pending: string | undefined;
  /** performance.now() of the last detection's start. */
  lastRunAt: number;
  lastTurnAt: number;
  timer: NodeJS.Timeout | undefined;
  /** The last detection failed: the next failure is not reported again (one error per episode). */
  failing: boolean;
  stopped: boolean;
}

export class SessionWatches {
  private readonly watches = new Map<string, Watch>();
  /** performance.now() of the session's latest detection start: a new or replacing watch waits its
   *  interval from there, so restarting watches does not bypass interval_ms. */
  private lastDetectionAt = Number.NEGATIVE_INFINITY;

  constructor(private readonly host: WatchHost) {}

  get size(): number {
    return this.watches.size;
  }

  start(msg: WatchStartMsg): void {
    const { config, segmenter, metrics } = this.host.ctx;
    const max = config.segmenter.watchesPerSession;
    if (!segmenter || max === 0) {
      return this.host.sendError('INPUT_WATCH_UNAVAILABLE', segmenter ? 'watches are turned off on this gateway' : 'watches need a detection service, and none is configured', { ref: REF });
    }
    const old = this.watches.get(msg.id);
    if (!old && this.watches.size >= max) {
      return this.host.sendError('INPUT_WATCH_LIMIT', `this session already runs ${max} watches; stop one with watch.stop first`, { ref: REF });
    }
    if (old) this.end(old);
    const framePrefix = msg.frame_prefix ?? '';
    const latest = this.host.latestImageId;
    const enter = msg.enter_frames ?? WATCH_LIMITS.enterFramesDefault;
    const leave = msg.leave_frames ?? WATCH_LIMITS.leaveFramesDefault;
    const w: Watch = {
      id: msg.id,
      labels: msg.labels,
      intervalMs: msg.interval_ms ?? WATCH_LIMITS.intervalMs.default,
      boxThreshold: msg.box_threshold ?? config.segmenter.boxThreshold,
      ask: msg.ask,
      cooldownMs: msg.cooldown_ms ?? WATCH_LIMITS.cooldownMs.default,
      framePrefix,
      presence: new Presence(msg.labels, enter, leave),
      running: undefined,
      pending: latest !== undefined && latest.startsWith(framePrefix) ? latest : undefined,
      lastRunAt: this.lastDetectionAt,
      lastTurnAt: Number.NEGATIVE_INFINITY,
      timer: undefined,
      failing: false,
      stopped: false,
    };
    this.watches.set(w.id, w);
    metrics.watchesActive.inc();
    this.pump(w, segmenter);
  }

  stop(msg: WatchStopMsg): void {
    const w = this.watches.get(msg.id);
    if (!w) return this.host.sendError('INPUT_WATCH_NOT_FOUND', 'watch.stop names no running watch', { ref: msg.t });
    this.end(w);
  }

  /** A new image was stored (image.put): every watch whose frames it is (frame_prefix) examines it
   *  when its interval allows. Returns true when it is some watch's frame (a camera frame). */
  frame(imageId: string): boolean {
    const seg = this.host.ctx.segmenter;
    if (!seg) return false;
    let taken = false;
    for (const w of this.watches.values()) {
      if (!imageId.startsWith(w.framePrefix)) continue;
      taken = true;
      if (w.pending !== undefined) this.host.ctx.metrics.watchFramesSkippedTotal.inc();
      w.pending = imageId;
      this.pump(w, seg);
    }
    return taken;
  }

  /** The session ends: every watch stops, detections in flight are closed. */
  close(): void {
    for (const w of [...this.watches.values()]) this.end(w);
  }

  private end(w: Watch): void {
    if (w.stopped) return;
    w.stopped = true;
    w.running?.abort();
    if (w.timer) clearTimeout(w.timer);
    w.timer = undefined;
    w.pending = undefined;
    if (this.watches.get(w.id) === w) this.watches.delete(w.id);
    this.host.ctx.metrics.watchesActive.dec();
  }

  /** Runs the waiting frame when the watch is idle and its interval has passed. */
  private pump(w: Watch, seg: SegmenterBackend): void {
    if (w.stopped || w.running || w.pending === undefined || w.timer) return;
    const wait = w.lastRunAt + w.intervalMs - performance.now();
    if (wait > 0) {
      w.timer = setTimeout(() => {
        w.timer = undefined;
        this.pump(w, seg);
      }, wait);
      return;
    }
    const imageId = w.pending;
    w.pending = undefined;
    const img = this.host.peekImage(imageId);
    if (!img) return; // evicted or replaced by a failed put meanwhile: nothing to examine
    const controller = new AbortController();
    w.running = controller;
    w.lastRunAt = performance.now();
    this.lastDetectionAt = w.lastRunAt;
    this.detect(w, seg, imageId, img, controller.signal)
      .catch((err: unknown) => {
        this.host.ctx.log.error({ session: this.host.id, error: safeErrorFields(err) }, 'watch detection could not be handled');
      })
      .finally(() => {
        if (w.running === controller) w.running = undefined;
        this.pump(w, seg);
      });
  }

  private async detect(w: Watch, seg: SegmenterBackend, imageId: string, img: StoredImage, signal: AbortSignal): Promise<void> {
    const { config, metrics, log } = this.host.ctx;
    let result: { size: [number, number]; boxes: PresenceChange['boxes'] } | undefined;
    try {
      const image = await fitForSegmenter(img, config.segmenter.requestLimitBytes);
      if (signal.aborted) return;
      // Only the boxes are needed: leaving after them closes the request (no masks are read).
      for await (const ev of seg.segment({ image, phrases: w.labels, boxThreshold: w.boxThreshold, textThreshold: config.segmenter.textThreshold, signal })) {
        if (ev.kind === 'boxes') {
          result = { size: ev.size, boxes: ev.boxes };
          break;
        }
      }
      if (!result) throw new VlpError('UPSTREAM_PROTOCOL', 'the detection service ended without boxes');
    } catch (err) {
      if (signal.aborted || w.stopped) return;
      metrics.watchDetectionsTotal.inc({ outcome: 'error' });
      const fail = err instanceof VlpError ? err : undefined;
      if (!fail) log.error({ session: this.host.id, error: safeErrorFields(err) }, 'watch detection failed unexpectedly');
      if (!w.failing) {
        w.failing = true;
        // One error per failure episode; the watch goes on with the next frame.
        if (fail) this.host.sendError(fail.code, `watch ${w.id}: ${fail.message}`, { ref: REF });
        else this.host.sendError('SERVER_INTERNAL', `watch ${w.id}: unexpected gateway fault`, { ref: REF });
      }
      return;
    }
    if (w.stopped) return;
    w.failing = false;
    metrics.watchDetectionsTotal.inc({ outcome: 'ok' });
    for (const change of w.presence.frame(result.boxes)) this.emit(w, change, imageId, result.size);
  }

  private emit(w: Watch, change: PresenceChange, image: string, size: [number, number]): void {
    const { metrics } = this.host.ctx;
    const event: Extract<ServerPayload, { t: 'watch.event' }> = {
      t: 'watch.event',
      watch: w.id,
      kind: change.kind,
      label: change.label,
      count: change.boxes.length,
      image,
      size,
      boxes: change.boxes,
    };
    if (change.kind === 'leave' || w.ask === undefined) {
      this.host.send(event);
      metrics.watchEventsTotal.inc({ kind: change.kind, turn: 'none' });
      return;
    }
    const now = performance.now();
    // A replacer function: `$&`-style patterns in the label are text, not replacement patterns.
    const text = w.ask.replaceAll('{label}', () => change.label);
    const outcome = now - w.lastTurnAt < w.cooldownMs ? 'cooldown' : this.host.startWatchTurn(text, image, (turn) => this.host.send({ ...event, turn }));
    const skipped: WatchTurnSkipped | undefined = outcome instanceof VlpError ? 'refused' : outcome;
    if (skipped) this.host.send({ ...event, turn_skipped: skipped });
    else w.lastTurnAt = now;
    if (outcome instanceof VlpError) this.host.sendError(outcome.code, `watch ${w.id}: its ask could not start a turn: ${outcome.message}`, { ref: REF });
    metrics.watchEventsTotal.inc({ kind: change.kind, turn: skipped ?? 'started' });
  }
}
