// Public types of the simulated SageMaker runtime: options, the handle returned by
// startSageMakerSim, the typed events tests listen to, and the chunking statistics.
import type { EventEmitter } from 'node:events';
import type { ClipBook } from '../asr/clip-book.ts';
import type { AsrLatency } from '../asr/whisper-asr.ts';
import type { SageMakerFaultKind } from './faults.ts';

export type SageMakerRoute = 'invocations' | 'invocations-response-stream';

/** An endpoint whose container is a TGI server (an LLM/VLM Hugging Face DLC). */
export interface SageMakerTgiEndpointConfig {
  whisper?: false;
  groundedSam?: false;
  /** Base URL of the container behind the endpoint (a TGI server; its `POST /` compat route plays
   *  the container's `/invocations`). */
  tgiUrl: string;
  /** The container supports response streaming (default true). When false the streaming route
   *  answers ValidationError, as SageMaker does for containers without streaming support. */
  streaming?: boolean;
  /** Rewrite a JSON body's top-level `stream` to true on the streaming route (default false: like
   *  SageMaker, the body goes to the container as sent, and without `stream: true` TGI answers its
   *  non-streaming JSON array, relayed as payload parts). */
  forceStream?: boolean;
  /** Production variants (default ["AllTraffic"]); a TargetVariant outside it is a ValidationError. */
  variants?: string[];
}

/** A JumpStart Whisper endpoint (huggingface-asr-whisper-*), simulated in-process: InvokeEndpoint with
 *  `audio/wav` (or the JSON `audio_input` form) answers `{"text": ["..."]}`; no response streaming. */
export interface SageMakerWhisperEndpointConfig {
  whisper: true;
  groundedSam?: false;
  /** Production variants (default ["AllTraffic"]). */
  variants?: string[];
  /** Model latency (default base 150 ms + 40 ms per audio second, ±20 %). */
  latency?: Partial<AsrLatency>;
  /** Longest audio accepted, seconds (default 30: the JumpStart notebook requires < 30 s). */
  maxAudioS?: number;
  /** Registered clips (default: sim/asr/clips.json). */
  clipBook?: ClipBook;
}

/** An endpoint whose container is a Grounded-SAM service (protocol/GROUNDED-SAM.md, "SageMaker"):
 *  the body goes as sent to the container's `POST /detect_segment` (playing `/invocations`);
 *  InvokeEndpoint relays its whole NDJSON body, InvokeEndpointWithResponseStream cuts the NDJSON
 *  bytes into PayloadParts (a stream fault's `after=k` counts lines). Fault directives of SageMaker
 *  kinds are read anywhere in `text_prompt`; Grounded-SAM kinds act in the container. */
export interface SageMakerGroundedSamEndpointConfig {
  groundedSam: true;
  whisper?: false;
  /** Base URL of the Grounded-SAM service behind the endpoint (e.g. the fleet's simulator). */
  groundedSamUrl: string;
  /** The container supports response streaming (default true); false = ValidationError on the
   *  streaming route. */
  streaming?: boolean;
  /** Production variants (default ["AllTraffic"]). */
  variants?: string[];
}

export type SageMakerEndpointConfig = SageMakerTgiEndpointConfig | SageMakerWhisperEndpointConfig | SageMakerGroundedSamEndpointConfig;

export interface SageMakerSimOptions {
  /** Bind address (default 127.0.0.1). */
  host?: string;
  /** Port (default 0 = ephemeral). */
  port?: number;
  endpoints: Record<string, SageMakerEndpointConfig>;
  /** How the container's bytes are cut into PayloadParts. 'awkward' (default): deterministic cuts
   *  inside `data:`, inside JSON (for NDJSON: after each line's "{" and mid-line) and inside
   *  multi-byte UTF-8 characters; 'events': one part per chunk read from the container (TGI writes
   *  one SSE event, Grounded-SAM one line, per chunk). */
  chunking?: 'awkward' | 'events';
  /** Account id in error messages and ARNs (default 123456789012). */
  accountId?: string;
  /** Region in ARNs (default us-east-1). */
  region?: string;
  /** Container events relayed before a mid-stream fault fires, unless the directive says `after=k`
   *  (default 3). */
  faultAfterEvents?: number;
  /** Seed of the extra pseudo-random cut in 'awkward' mode (default 1). */
  seed?: number;
}

export interface SageMakerRequestEvent {
  id: number;
  endpoint: string;
  route: SageMakerRoute;
  /** Content-Type the client sent (forwarded to the container). */
  contentType: string | undefined;
  /** The request carried a SigV4 Authorization header (accepted, never verified). */
  signed: boolean;
  /** Top-level `stream` of a JSON body as sent by the client (null when absent or not JSON). */
  stream: boolean | null;
  targetVariant: string | undefined;
  inferenceComponent: string | undefined;
  /** Fault chosen for this request (SageMaker-level kinds only; TGI and Grounded-SAM kinds travel
   *  in the body to the container). */
  fault: SageMakerFaultKind | null;
}

export interface SageMakerRequestClosedEvent {
  id: number;
  endpoint: string;
  route: SageMakerRoute;
  /** performance.now() when the client-side response closed. */
  atMs: number;
  /** True when the response ran to its natural end (container end, exception event, error reply). */
  completed: boolean;
  /** PayloadPart messages written (0 on the non-streaming route). */
  payloadParts: number;
}

export interface SageMakerSimEvents {
  request: [SageMakerRequestEvent];
  'request-closed': [SageMakerRequestClosedEvent];
}

/** Cumulative counters of the PayloadPart splitter (proof that awkward cuts really happened). */
export interface SageMakerSimStats {
  payloadParts: number;
  exceptionEvents: number;
  /** Cuts that fell between the bytes of one multi-byte UTF-8 character. */
  splitInsideUtf8: number;
  /** Cuts inside the `data:` field name of an SSE line. */
  splitInsideDataPrefix: number;
  /** Cuts inside the JSON of an SSE event or an NDJSON line (other than the two above). */
  splitInsideJson: number;
  /** Cuts anywhere else. */
  splitOther: number;
}

export interface SageMakerSim {
  /** http://127.0.0.1:PORT — give it to the SDK as `endpoint`. */
  url: string;
  port: number;
  endpointNames: string[];
  events: EventEmitter<SageMakerSimEvents>;
  stats(): SageMakerSimStats;
  close(): Promise<void>;
}
