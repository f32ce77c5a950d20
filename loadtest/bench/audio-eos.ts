// The audio benchmark's end-of-speech phase: a few sessions on a fresh ws gateway each speak the
// clip once, then stay silent; reports end of speech (the chunk where the clip's speech ends leaving
// the client) → vad speech_end, → asr.final and → first token, with the simulators' configured
// latencies subtracted.
import type { ClipName } from '../../sim/asr/index.ts';
import type { ServerMessage } from '../../protocol/messages.ts';
import type { GatewayProc } from './gateway-proc.ts';
import { AudioLoad, chunkIndexAt, encodeChunks, type VoiceSession } from './audio-clients.ts';
import type { AudioSimConfig } from './audio-sim.ts';
import type { EosReport } from './audio-report.ts';
import { r2, summarize } from './stats.ts';
import { waitFor } from './audio-sim-proc.ts';
import { printProfile } from './audio-scrape.ts';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A speech clip as 16 kHz PCM16, with its leading silence and speech length (the clip manifest). */
export interface Clip {
  pcm: Int16Array;
  leadMs: number;
  speechMs: number;
}

export interface EosOptions {
  /** Sessions measured (after a warm-up round of 5). */
  sessions: number;
  /** Scheduler tick of the load generator, ms. */
  tickMs: number;
  /** The simulators' configuration (their latencies are subtracted). */
  simConfig: AudioSimConfig;
  /** The gateway's VAD trailing silence (audio.vad.endSilenceMs), ms. */
  vadEndSilenceMs: number;
  /** Name of the clip, for the report. */
  clipName: ClipName;
  /** Starts a fresh gateway process on `transport`. */
  startGateway(transport: 'ws' | 'uws'): Promise<GatewayProc>;
}

interface EosSession {
  vadEndAt?: number;
  vadEndAtMs?: number;
  finalAt?: number;
  turn?: string;
  firstTokenAt?: number;
  marks?: Record<string, number>;
}

async function runEosRound(gw: GatewayProc, n: number, frames: Uint8Array[], clip: Clip, spreadMs: number, tickMs: number): Promise<{ sessions: VoiceSession[]; state: Map<VoiceSession, EosSession>; eosChunk: number }> {
  const state = new Map<VoiceSession, EosSession>();
  const onMessage = (s: VoiceSession, m: ServerMessage, at: number): void => {
    let e = state.get(s);
    if (!e) state.set(s, (e = {}));
    if (m.t === 'vad' && m.event === 'speech_end' && e.vadEndAt === undefined) {
      e.vadEndAt = at;
      e.vadEndAtMs = m.at_ms;
    } else if (m.t === 'asr.final' && e.finalAt === undefined) {
      e.finalAt = at;
      e.turn = m.turn;
    } else if (m.t === 'gen.token' && m.turn === e.turn && e.firstTokenAt === undefined) e.firstTokenAt = at;
    else if (m.t === 'turn.metrics' && m.turn === e.turn) e.marks = m.marks;
  };
  const load = new AudioLoad(gw.url, frames, { loop: false, tickMs, spreadMs, onMessage });
  const sessions = await load.open(n, { language: 'en', trackPerf: true });
  await sleep(1_000);
  load.start();
  await waitFor('end-of-speech sessions to finish', () => load.finished && sessions.every((s) => state.get(s)?.marks !== undefined), 30_000).catch((err: unknown) => console.error(String(err)));
  await load.closeAll();
  return { sessions, state, eosChunk: chunkIndexAt(clip.leadMs + clip.speechMs) };
}

export async function runEos(opts: EosOptions, clip: Clip): Promise<EosReport> {
  const { sessions: n, tickMs, simConfig: sim, vadEndSilenceMs } = opts;
  const gw = await opts.startGateway('ws');
  try {
    // The clip once, then 4 s of silence (the microphone stays open while the answer comes).
    const pcm = new Int16Array(clip.pcm.length + 4 * 16_000);
    pcm.set(clip.pcm);
    const frames = encodeChunks(pcm);
    await runEosRound(gw, 5, frames, clip, 200, tickMs); // warm-up: WASM, JIT, TGI connections
    const { sessions, state, eosChunk } = await runEosRound(gw, n, frames, clip, 1_000, tickMs);
    const vadEnd: number[] = [];
    const vadPos: number[] = [];
    const final: number[] = [];
    const first: number[] = [];
    const gwFinal: number[] = [];
    const gwFirst: number[] = [];
    for (const s of sessions) {
      const e = state.get(s);
      const eos = s.sentPerf?.[eosChunk];
      if (!e || eos === undefined) continue;
      if (e.vadEndAt !== undefined) vadEnd.push(e.vadEndAt - eos);
      if (e.vadEndAtMs !== undefined) vadPos.push(e.vadEndAtMs - (clip.leadMs + clip.speechMs));
      if (e.finalAt !== undefined) final.push(e.finalAt - eos);
      if (e.firstTokenAt !== undefined) first.push(e.firstTokenAt - eos);
      if (e.marks?.asr_final !== undefined) gwFinal.push(e.marks.asr_final);
      if (e.marks?.first_token !== undefined) gwFirst.push(e.marks.first_token);
    }
    const wl = sim.whisperLive.endSilenceMs + sim.whisperLive.finalizeDelayMs;
    const sum = (xs: number[], minus: number) => {
      const s = summarize(xs);
      return { n: s.n, p50: r2(s.p50), p90: r2(s.p90), max: r2(s.max), p50Sub: r2(s.p50 - minus), p90Sub: r2(s.p90 - minus), maxSub: r2(s.max - minus), subtracted: minus };
    };
    const r: EosReport = {
      transport: 'ws',
      sessions: n,
      clip: { name: opts.clipName, leadMs: clip.leadMs, speechMs: clip.speechMs, eosChunk },
      config: { vadEndSilenceMs, wlEndSilenceMs: sim.whisperLive.endSilenceMs, wlFinalizeDelayMs: sim.whisperLive.finalizeDelayMs, tgiTtftMs: sim.tgi.ttftMs },
      eosToVadEnd: sum(vadEnd, vadEndSilenceMs),
      vadEndPositionErrorMs: sum(vadPos, 0),
      eosToFinal: sum(final, Math.max(wl, vadEndSilenceMs)),
      eosToFirstToken: sum(first, Math.max(wl, vadEndSilenceMs) + sim.tgi.ttftMs),
      gatewayMarks: { asrFinal: sum(gwFinal, Math.max(wl, vadEndSilenceMs)), firstToken: sum(gwFirst, Math.max(wl, vadEndSilenceMs) + sim.tgi.ttftMs) },
    };
    console.log(
      `[eos ws ×${n}] end of speech → vad speech_end p50 ${r.eosToVadEnd.p50} ms (−${vadEndSilenceMs}: ${r.eosToVadEnd.p50Sub}); → asr.final p50/p90 ${r.eosToFinal.p50}/${r.eosToFinal.p90} ms (−${r.eosToFinal.subtracted}: ${r.eosToFinal.p50Sub}/${r.eosToFinal.p90Sub}); → first token p50/p90 ${r.eosToFirstToken.p50}/${r.eosToFirstToken.p90} ms (−${r.eosToFirstToken.subtracted}: ${r.eosToFirstToken.p50Sub}/${r.eosToFirstToken.p90Sub})`,
    );
    return r;
  } finally {
    await gw.stop();
    printProfile(gw, 'end-of-speech phase');
  }
}
