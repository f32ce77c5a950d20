// Prometheus metrics (prom-client) on a registry owned by the gateway instance, so tests and
// several gateways in one process never share counters. Hot paths add in bulk (per turn), and the
// two per-event histograms (per token, per audio chunk) are HotHistograms.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { HotHistogram } from './hot-histogram.ts';

export interface GatewayMetrics {
  registry: Registry;
  sessionsActive: Gauge;
  sessionsDetached: Gauge;
  sessionsTotal: Counter<'outcome'>;
  connectionsTotal: Counter;
  upgradesRefusedTotal: Counter<'reason'>;
  turnsTotal: Counter<'outcome'>;
  tokensTotal: Counter;
  ttftSeconds: Histogram;
  turnSeconds: Histogram;
  tokenRelaySeconds: HotHistogram;
  errorsTotal: Counter<'code'>;
  framesSentTotal: Counter;
  backpressureTotal: Counter;
  upstreamRequestsTotal: Counter<'model' | 'outcome'>;
  audioChunksTotal: Counter;
  audioForwardSeconds: HotHistogram;
  audioDroppedMs: Counter;
  asrFinalsTotal: Counter<'empty'>;
  asrHeld: Gauge;
  asrStreamsRefusedTotal: Counter<'code'>;
  bargeInsTotal: Counter;
  voiceStreamsActive: Gauge;
  speculationsTotal: Counter<'outcome'>;
  speechIgnoredTotal: Counter<'reason' | 'stage'>;
  watchesActive: Gauge;
  watchDetectionsTotal: Counter<'outcome'>;
  watchFramesSkippedTotal: Counter;
  watchEventsTotal: Counter<'kind' | 'turn'>;
}

export function createMetrics(opts: { defaultMetrics: boolean }): GatewayMetrics {
  const registry = new Registry();
  if (opts.defaultMetrics) collectDefaultMetrics({ register: registry, prefix: 'vlp_' });
  const r = [registry];
  return {
    registry,
    sessionsActive: new Gauge({ name: 'vlp_sessions_active', help: 'Sessions with a connected client', registers: r }),
    sessionsDetached: new Gauge({ name: 'vlp_sessions_detached', help: 'Sessions waiting for a resume', registers: r }),
    sessionsTotal: new Counter({ name: 'vlp_sessions_total', help: 'Sessions ended, by outcome', labelNames: ['outcome'], registers: r }),
    connectionsTotal: new Counter({ name: 'vlp_connections_total', help: 'WebSocket connections accepted', registers: r }),
    upgradesRefusedTotal: new Counter({
      name: 'vlp_upgrades_refused_total',
      help: 'WebSocket upgrades refused by client authentication, by reason (missing_credentials, invalid_credentials, expired_token, api_key_in_query, origin_not_allowed)',
      labelNames: ['reason'],
      registers: r,
    }),
    turnsTotal: new Counter({ name: 'vlp_turns_total', help: 'Turns ended, by outcome (done, cancelled, error)', labelNames: ['outcome'], registers: r }),
    tokensTotal: new Counter({ name: 'vlp_tokens_total', help: 'Generated tokens relayed to clients', registers: r }),
    ttftSeconds: new Histogram({
      name: 'vlp_ttft_seconds',
      help: 'Time from turn.start to the first token sent, seconds',
      buckets: [0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 2, 5, 10],
      registers: r,
    }),
    turnSeconds: new Histogram({
      name: 'vlp_turn_seconds',
      help: 'Turn duration from turn.start to its end, seconds',
      buckets: [0.25, 0.5, 1, 2, 5, 10, 20, 60],
      registers: r,
    }),
    tokenRelaySeconds: new HotHistogram(
      'vlp_token_relay_seconds',
      'Gateway-internal relay time per token: from reading its bytes off the backend socket to writing its frame to the client socket, seconds',
      [0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1],
      registry,
    ),
    errorsTotal: new Counter({ name: 'vlp_errors_total', help: 'Error frames sent, by stable code', labelNames: ['code'], registers: r }),
    framesSentTotal: new Counter({ name: 'vlp_frames_sent_total', help: 'Server frames written to sockets', registers: r }),
    backpressureTotal: new Counter({ name: 'vlp_backpressure_total', help: 'Sends that hit the socket high-water mark', registers: r }),
    upstreamRequestsTotal: new Counter({
      name: 'vlp_upstream_requests_total',
      help: 'Requests to model backends, by model and outcome',
      labelNames: ['model', 'outcome'],
      registers: r,
    }),
    audioChunksTotal: new Counter({ name: 'vlp_audio_chunks_total', help: 'audio.chunk frames received', registers: r }),
    audioForwardSeconds: new HotHistogram(
      'vlp_audio_forward_seconds',
      'Gateway-internal forwarding time per audio chunk: from its frame arriving to its samples being written to the ASR upstream, seconds',
      [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.003, 0.004, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.1, 0.25],
      registry,
    ),
    audioDroppedMs: new Counter({ name: 'vlp_audio_dropped_ms_total', help: 'Input audio dropped (ASR behind, too fast, no ASR stream), ms', registers: r }),
    asrFinalsTotal: new Counter({ name: 'vlp_asr_finals_total', help: 'Final transcripts, by whether they were empty', labelNames: ['empty'], registers: r }),
    asrHeld: new Gauge({ name: 'vlp_asr_held', help: '1 from a failed ASR stream open until the speech recognizer accepts streams again (new streams are held or tested meanwhile), else 0', registers: r }),
    asrStreamsRefusedTotal: new Counter({ name: 'vlp_asr_streams_refused_total', help: 'ASR streams refused by the gate while the recognizer was held, by the code that holds it', labelNames: ['code'], registers: r }),
    bargeInsTotal: new Counter({ name: 'vlp_barge_ins_total', help: 'Answers cancelled because the user spoke', registers: r }),
    speculationsTotal: new Counter({ name: 'vlp_speculations_total', help: 'Speculative backend calls, by outcome (started, committed, discarded)', labelNames: ['outcome'], registers: r }),
    speechIgnoredTotal: new Counter({ name: 'vlp_speech_ignored_total', help: 'Spoken input taken for the assistant\'s own voice (reason echo, options.echo_guard) or for a backchannel (reason backchannel, options.ignore_backchannels): partials that did not barge in (stage partial), final transcripts that started no turn (stage final)', labelNames: ['reason', 'stage'], registers: r }),
    watchesActive: new Gauge({ name: 'vlp_watches_active', help: 'Running watches (watch.start), over all sessions', registers: r }),
    watchDetectionsTotal: new Counter({ name: 'vlp_watch_detections_total', help: 'Detections run by watches, by outcome (ok, error)', labelNames: ['outcome'], registers: r }),
    watchFramesSkippedTotal: new Counter({ name: 'vlp_watch_frames_skipped_total', help: 'Frames a watch did not examine: a newer frame replaced them while they waited for the interval or a detection in flight', registers: r }),
    watchEventsTotal: new Counter({ name: 'vlp_watch_events_total', help: 'watch.event frames, by kind (enter, leave) and what happened to the watch\'s ask (started, busy, cooldown, none)', labelNames: ['kind', 'turn'], registers: r }),
    voiceStreamsActive: new Gauge({ name: 'vlp_voice_streams_active', help: 'Audio streams not yet closed: open ones, and ended ones still awaiting their final transcripts', registers: r }),
  };
}
