// The gateway: owns the transport, the session table, the models and the ops routes. Built from
// a validated Config; used by main.ts and, in-process, by the integration tests.
import { createConfiguredAsr } from './asr-backend.ts';
import { Authenticator } from './auth/authenticator.ts';
import { logAuthPosture } from './auth/posture.ts';
import { withoutAuthSecrets } from './auth/redact.ts';
import { createIntentClassifier } from './intent-classifier.ts';
import { preloadAudioCodecs } from './audio/preload.ts';
import type { StaticAwsCredentials } from './backends/sagemaker/index.ts';
import type { Logger } from 'pino';
import type { Config } from './config/schema.ts';
import { createMetrics, type GatewayMetrics } from './observability/metrics.ts';
import { ModelRegistry } from './models.ts';
import { createTransport } from './transport/index.ts';
import type { Connection, ConnectionGrant, ConnectionListener, TransportServer } from './transport/types.ts';
import { createOpsRoutes } from './http/routes.ts';
import { Session, type SessionHost } from './session/session.ts';
import { ConnectionHandlerCtx, type NewSession, type Refusal, type SessionTable } from './session/connection.ts';
import type { GatewayContext } from './session/context.ts';
import { createConfiguredSegmenter } from './segmenter-backend.ts';
import { SessionExpiry } from './session/expiry.ts';
import { safeErrorFields } from './observability/fatal.ts';
import type { CancelReason } from '../protocol/messages.ts';
import { RulesIntentClassifier } from './understanding/rules.ts';

const SWEEP_MS = 1000;
const HEALTH_CACHE_MS = 2000;

export class Gateway implements SessionHost, SessionTable {
  /** The configuration, with the auth secrets replaced by placeholders (auth/redact.ts). */
  readonly config: Config;
  readonly ctx: GatewayContext;
  readonly metrics: GatewayMetrics;
  readonly sessions = new Map<string, Session>();
  private readonly attached = new Map<Session, ConnectionHandlerCtx>();
  private readonly connections = new Set<ConnectionHandlerCtx>();
  /** Open connections that have not sent hello yet, with the time each opened. They count against
   *  limits.maxSessions like sessions do (each may start one), and the sweep closes those older
   *  than limits.helloTimeoutMs. A Map iterates in insertion (= open) order, so the sweep stops at
   *  the first one still within the timeout. Left on bind (hello) or close. */
  private readonly awaitingHello = new Map<ConnectionHandlerCtx, number>();
  private readonly transport: TransportServer;
  private readonly auth: Authenticator;
  private readonly env: Record<string, string | undefined>;
  private draining = false;
  private readonly warmUpIntent: () => void;
  private sweepTimer: NodeJS.Timeout | undefined;
  /** Session durations (limits.maxSessionMs, client-token claims): goaway before, SESSION_EXPIRED
   *  at the end (run by the sweep). */
  private readonly expiry: SessionExpiry<Session>;
  private health: { at: number; value: Promise<{ ok: boolean; detail: Record<string, boolean> }> } | undefined;
  port = 0;

  constructor(
    fullConfig: Config,
    log: Logger,
    /** awsCredentials: static credentials for the SageMaker ASR and segmenter endpoints (the
     *  simulated fleet); absent = the AWS SDK's standard chain. nowMs: the wall clock client
     *  tokens expire by (tests). */
    opts: { defaultMetrics?: boolean; env?: Record<string, string | undefined>; awsCredentials?: StaticAwsCredentials; nowMs?: () => number } = {},
  ) {
    const config = withoutAuthSecrets(fullConfig);
    this.config = config;
    this.expiry = new SessionExpiry<Session>(config.limits.sessionNoticeMs, SWEEP_MS, {
      connectionOf: (s) => this.attached.get(s),
      onFault: (s, err) => log.error({ session: s.id, error: safeErrorFields(err) }, 'ending an expired session failed'),
    });
    this.env = opts.env ?? {};
    this.metrics = createMetrics({ defaultMetrics: opts.defaultMetrics ?? true });
    this.auth = new Authenticator(fullConfig.auth, {
      refused: this.metrics.upgradesRefusedTotal,
      log,
      ...(opts.nowMs !== undefined && { nowMs: opts.nowMs }),
    });
    const models = new ModelRegistry(config, log, opts.env ?? {});
    const segmenter = createConfiguredSegmenter(config, opts.awsCredentials);
    const asr = createConfiguredAsr(config, { metrics: this.metrics, log, ...(opts.awsCredentials !== undefined && { credentials: opts.awsCredentials }) });
    const fastIntent = new RulesIntentClassifier();
    this.warmUpIntent = () => fastIntent.warmUp();
    this.ctx = { config, models, metrics: this.metrics, log, segmenter, intent: createIntentClassifier(config, fastIntent), fastIntent, asr };
    this.transport = createTransport(config.transport, {
      host: config.host,
      port: config.port,
      wsPath: config.wsPath,
      // The library hard cap sits above our limit so an oversized frame gets a typed error first.
      maxPayloadBytes: config.limits.maxFrameBytes * 2,
      highWaterBytes: config.limits.highWaterBytes,
      handler: { onOpen: (conn) => this.onOpen(conn) },
      http: createOpsRoutes({
        accepting: () => !this.draining,
        backendsHealthy: () => this.backendsHealthy(),
        registry: this.metrics.registry,
        auth: this.auth,
      }),
      admit: (req) => this.auth.admit(req),
    });
  }

  async start(): Promise<number> {
    // One-time costs paid before the first client, not inside some session's turn while others
    // stream: the audio WASM modules and the intent classifier's first run.
    await preloadAudioCodecs();
    this.warmUpIntent();
    logAuthPosture(this.ctx.log, this.config.auth, this.env);
    this.port = await this.transport.listen();
    this.sweepTimer = setInterval(() => this.sweep(), SWEEP_MS);
    this.sweepTimer.unref();
    return this.port;
  }

  // --- SessionTable -------------------------------------------------------------------------
  create(grant?: ConnectionGrant): NewSession {
    // The open-time check already counted this connection; checked again here so that no path
    // (or a hello that arrives while draining) can start a session past the cap.
    const refused = this.refusal(this.sessions.size);
    if (refused) return { ok: false, ...refused };
    const s = new Session(this.ctx, this, grant);
    this.sessions.set(s.id, s);
    this.metrics.sessionsActive.inc();
    return { ok: true, session: s };
  }

  get(id: string): Session | undefined {
    return this.sessions.get(id);
  }

  connectionOf(session: Session): ConnectionHandlerCtx | undefined {
    return this.attached.get(session);
  }

  bind(session: Session, conn: ConnectionHandlerCtx | undefined): void {
    if (conn) {
      this.attached.set(session, conn);
      // A connection is bound once its hello (new or resume) succeeded.
      this.awaitingHello.delete(conn);
    } else this.attached.delete(session);
  }

  isDraining(): boolean {
    return this.draining;
  }

  // --- SessionHost --------------------------------------------------------------------------
  onSlowConsumer(session: Session): void {
    const conn = this.attached.get(session);
    // Which bound tripped: the frames and estimated bytes waiting (counts only, no content).
    const { pending, pendingBytes } = session.outbox;
    this.ctx.log.warn({ session: session.id, pendingFrames: pending, pendingBytes }, 'slow consumer: outbox overflowed, closing connection');
    conn?.fail('SESSION_SLOW_CONSUMER', 'the client reads too slowly; resume to get the frames it missed');
  }

  onClosed(session: Session, reason: CancelReason): void {
    this.sessions.delete(session.id);
    this.attached.delete(session);
    this.metrics.sessionsActive.dec();
    this.metrics.sessionsTotal.inc({ outcome: reason === 'max_session' ? 'expired' : 'closed' });
  }

  attachedTo(session: Session): void {
    if (!this.draining) this.expiry.check(session, performance.now());
  }

  isExpired(session: Session): boolean {
    return performance.now() >= session.expiresAt;
  }

  // --- connections --------------------------------------------------------------------------
  /** Why the gateway refuses to start one more session when `open` sessions (plus connections
   *  that may still start one) exist, if it does. */
  private refusal(open: number): Refusal | undefined {
    if (this.draining) return { code: 'SERVER_SHUTTING_DOWN', message: 'the gateway is shutting down' };
    if (open >= this.config.limits.maxSessions) return { code: 'SERVER_AT_CAPACITY', message: 'the gateway is at max_sessions' };
    return undefined;
  }

  private onOpen(conn: Connection): ConnectionListener {
    this.metrics.connectionsTotal.inc();
    const ctx = new ConnectionHandlerCtx(conn, this.ctx, this);
    // Every open connection may start a session: count those still awaiting hello too, so that
    // opening many sockets first and sending hello on each later cannot pass max_sessions.
    const refused = this.refusal(this.sessions.size + this.awaitingHello.size);
    if (refused) {
      // Answer with a typed error (seq 0) and close; the listener still has to exist for onClose.
      ctx.fail(refused.code, refused.message);
      return { onMessage: () => undefined, onDrain: () => undefined, onClose: () => undefined };
    }
    this.connections.add(ctx);
    this.awaitingHello.set(ctx, performance.now());
    return {
      onMessage: (d, b) => ctx.onMessage(d, b),
      onDrain: () => ctx.onDrain(),
      onClose: (code, reason) => {
        this.connections.delete(ctx);
        this.awaitingHello.delete(ctx);
        ctx.onClose(code, reason);
      },
    };
  }

  /** Close connections that sent no hello in time, expire detached sessions past the resume
   *  window and idle connected ones. */
  private sweep(): void {
    const now = performance.now();
    const { resumeWindowMs, idleTimeoutMs, helloTimeoutMs } = this.config.limits;
    for (const [conn, openedAt] of this.awaitingHello) {
      if (now - openedAt <= helloTimeoutMs) break; // open order: every later one is younger
      // Stays in the map (and counted) until its close completes; fail() is a no-op once closing.
      conn.fail('SESSION_IDLE_TIMEOUT', `no hello within ${helloTimeoutMs} ms`);
    }
    let detached = 0;
    for (const s of this.sessions.values()) {
      if (s.state === 'detached') {
        if (now - s.lastActivity > resumeWindowMs) s.close('disconnect');
        else detached++;
      } else if (s.state === 'active' && !s.turn && now - s.lastActivity > idleTimeoutMs) {
        this.attached.get(s)?.fail('SESSION_IDLE_TIMEOUT', `no message for ${idleTimeoutMs} ms`);
      }
      // While draining, shutdown's goaway and close govern every session.
      if (!this.draining) this.expiry.check(s, now);
    }
    this.metrics.sessionsDetached.set(detached);
  }

  private backendsHealthy(): Promise<{ ok: boolean; detail: Record<string, boolean> }> {
    const now = performance.now();
    if (this.health && now - this.health.at < HEALTH_CACHE_MS) return this.health.value;
    const value = (async () => {
      const detail: Record<string, boolean> = {};
      await Promise.all([
        ...this.ctx.models.entries().map(async (e) => {
          detail[e.config.id] = await e.backend.probe(1000);
        }),
        ...(this.ctx.segmenter ? [(async () => void (detail.segmenter = await (this.ctx.segmenter as NonNullable<typeof this.ctx.segmenter>).probe(1000)))()] : []),
        ...(this.ctx.asr ? [(async () => void (detail.asr = await (this.ctx.asr as NonNullable<typeof this.ctx.asr>).probe(1000)))()] : []),
      ]);
      return { ok: Object.values(detail).every(Boolean), detail };
    })();
    this.health = { at: now, value };
    return value;
  }

  /** Graceful shutdown: stop accepting, goaway to every client, let turns finish within the
   *  grace period, then cancel what is left and close every connection with 1001. */
  async shutdown(graceMs = this.config.shutdownGraceMs): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    this.ctx.log.info({ sessions: this.sessions.size, graceMs }, 'shutting down');
    await this.transport.stopAccepting();
    for (const s of this.sessions.values()) {
      if (s.state === 'active') s.sendGoaway(graceMs);
    }
    const deadline = performance.now() + graceMs;
    while (performance.now() < deadline) {
      const running = [...this.sessions.values()].filter((s) => s.turn !== undefined);
      if (running.length === 0) break;
      await Promise.race([Promise.all(running.map((s) => s.turnDone)), new Promise((r) => setTimeout(r, Math.max(0, deadline - performance.now())))]);
    }
    for (const s of [...this.sessions.values()]) {
      const conn = this.attached.get(s);
      s.cancelTurn(undefined, 'shutdown');
      if (s.turnDone) await Promise.race([s.turnDone, new Promise((r) => setTimeout(r, 200))]);
      conn?.fail('SERVER_SHUTTING_DOWN', 'the gateway is shutting down');
      s.close('shutdown');
    }
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    await new Promise((r) => setTimeout(r, 50));
    await this.transport.close();
    await this.ctx.models.close();
    await this.ctx.segmenter?.close();
    await this.ctx.asr?.close();
    this.ctx.log.info('shutdown complete');
  }
}
