// Public constants and types of the simulated WhisperLive server (whisperlive.ts): options, events,
// counters, faults, and the socket a connection talks through.
import type { EventEmitter } from 'node:events';
import type { ClipBook } from './clip-book.ts';

export const END_OF_AUDIO = Buffer.from('END_OF_AUDIO');
export const WHISPERLIVE_ADMIN_PATH = '/__sim/faults';

export const WHISPERLIVE_FAULT_KINDS = [
  'model_load_error', // {"status":"ERROR","message":"Failed to load model: <model>"} instead of SERVER_READY, then close
  'drop', // after k segments messages the TCP connection is destroyed (no close frame: the client sees 1006)
  'stall', // after k segments messages nothing more is sent; audio is still read; the socket stays open
  'disconnect', // after k segments messages {"message":"DISCONNECT"} then close (as after max_connection_time)
  'server_full', // {"status":"WAIT","message":<minutes>} then close, whatever the client count
] as const;
export type WhisperLiveFaultKind = (typeof WHISPERLIVE_FAULT_KINDS)[number];

export interface WhisperLiveFault {
  kind: WhisperLiveFaultKind;
  /** Segments messages sent before drop/stall/disconnect fires (default 1). */
  afterSegments?: number;
}

export interface WhisperLiveSimOptions {
  host?: string;
  /** Default 0 (ephemeral); the real server's default is 9090. */
  port?: number;
  /** Clients served at once before WAIT (real default 4 in run_server.py; the sim's default 1024
   *  lets a benchmark open many sessions — pass 4 to reproduce the real limit). */
  maxClients?: number;
  /** Seconds a client may stay connected before DISCONNECT (run_server.py default 300). */
  maxConnectionTimeS?: number;
  /** Delay from the options frame to SERVER_READY (model load), ms (default 500). */
  modelLoadMs?: number;
  /** Interval between transcriptions once ≥ 1 s of audio is in, ms (default 400; one faster_whisper
   *  pass on a GPU plus the loop's sleeps). */
  partialEveryMs?: number;
  /** Trailing silence after speech that completes a segment, ms (default 500). */
  endSilenceMs?: number;
  /** Extra delay before the completed segment is sent (the final decode), ms (default 250). */
  finalizeDelayMs?: number;
  /** Uniform jitter fraction on every delay (default 0.2; 0 = exact). */
  jitter?: number;
  /** `backend` of SERVER_READY (default faster_whisper). */
  backend?: 'faster_whisper' | 'tensorrt' | 'openvino';
  /** When set, connections need `Authorization: Bearer <key>` or `?token=<key>` (WhisperLive HEAD). */
  apiKey?: string;
  /** A fault applied to every connection (the admin queue wins when it has one). */
  fault?: WhisperLiveFault;
  clipBook?: ClipBook;
  /** Seed of the jitter (mixed with each uid). */
  seed?: number;
  /** Which connections emit `audio` events (decided once, when their options arrive); default:
   *  all of them while someone listens. A benchmark watching a few probe connections among
   *  thousands spares the others an event per frame. */
  watchAudio?: (e: WhisperLiveConnectionEvent) => boolean;
}

export interface WhisperLiveConnectionEvent {
  id: number;
  uid: string;
  options: Record<string, unknown>;
  fault: WhisperLiveFaultKind | null;
  atMs: number;
}

export interface WhisperLiveAudioEvent {
  id: number;
  uid: string;
  /** Frames and bytes of this connection so far (this frame included). */
  frames: number;
  bytes: number;
}

export interface WhisperLiveSegmentsEvent {
  id: number;
  uid: string;
  segments: WhisperLiveSegment[];
}

export type WhisperLiveCloseReason =
  | 'client_closed' // the client closed or vanished
  | 'end_of_audio' // binary END_OF_AUDIO
  | 'invalid_options' // bad JSON or a missing required key: silent close
  | 'server_full' // WAIT sent
  | 'model_load_error' // ERROR sent
  | 'protocol_error' // a text frame or a frame that is not whole float32 samples
  | 'connection_time_exceeded' // DISCONNECT sent
  | 'fault_drop'
  | 'fault_disconnect'
  | 'server_closed';

export interface WhisperLiveClosedEvent {
  id: number;
  uid: string | null;
  reason: WhisperLiveCloseReason;
  /** performance.now() when the socket closed. */
  atMs: number;
  frames: number;
  bytes: number;
}

export interface WhisperLiveSimEvents {
  connection: [WhisperLiveConnectionEvent];
  ready: [{ id: number; uid: string }];
  /** One per audio frame; only emitted while someone listens (no cost otherwise). */
  audio: [WhisperLiveAudioEvent];
  /** One per segments message; only emitted while someone listens. */
  segments: [WhisperLiveSegmentsEvent];
  closed: [WhisperLiveClosedEvent];
}

export interface WhisperLiveSegment {
  start: string;
  end: string;
  text: string;
  completed: boolean;
}

export interface WhisperLiveStats {
  /** WebSocket connections accepted since start. */
  connections: number;
  /** Sockets open now. */
  open: number;
  /** Clients past SERVER_READY and still connected. */
  clients: number;
  frames: number;
  bytes: number;
  segmentsMessages: number;
  endOfAudio: number;
  rejectedFull: number;
}

export interface WhisperLiveClientStats {
  id: number;
  frames: number;
  bytes: number;
  open: boolean;
  closedReason: WhisperLiveCloseReason | null;
  segmentsMessages: number;
}

export interface WhisperLiveSim {
  /** ws://host:port (any path is accepted, as by the real server). */
  url: string;
  port: number;
  events: EventEmitter<WhisperLiveSimEvents>;
  stats(): WhisperLiveStats;
  /** Counters of the latest connection with this uid. */
  client(uid: string): WhisperLiveClientStats | undefined;
  /** Queue a fault for the next `count` connections (what POST /__sim/faults does). */
  queueFault(fault: WhisperLiveFault, count?: number): void;
  clearFaults(): number;
  close(): Promise<void>;
}

/** One WebSocket connection as a Conn sees it (uWebSockets.js underneath; whisperlive.ts). */
export interface WlSocket {
  /** Neither side has started closing. */
  readonly open: boolean;
  /** One text frame. */
  sendText(text: string): void;
  /** Close handshake with `code` (what python-websockets does when the handler returns). */
  end(code: number): void;
  /** Drops the TCP connection without a close frame (the client sees 1006). */
  terminate(): void;
}
