// Public types of the simulated Grounded-SAM service: options, the handle of startGroundedSamSim,
// and the typed events tests listen to.
import type { EventEmitter } from 'node:events';

export interface GroundedSamSimOptions {
  /** Bind address (default 127.0.0.1). */
  host?: string;
  /** Port (default 0 = ephemeral). */
  port?: number;
  /** Time from request to the boxes line (Grounding DINO + SAM image embedding), ms (default 120). */
  detectMs?: number;
  /** Time per mask line (one SAM decoder pass + RLE), ms (default 45). */
  perMaskMs?: number;
  /** Uniform jitter fraction (default 0.2 = ±20%), seeded per request; 0 = exact. */
  jitter?: number;
}

export interface GroundedSamRequestEvent {
  id: number;
  phrases: string[];
  boxThreshold: number;
  textThreshold: number;
  hq: boolean;
  maxInstances: number;
  /** Size of the decoded image, bytes. */
  imageBytes: number;
  /** The fault the request carries (from a `[[sim:fault=…]]` directive), if any. */
  fault: string | null;
}

export interface GroundedSamRequestClosedEvent {
  id: number;
  /** performance.now() when the response closed. */
  atMs: number;
  /** True when the stream reached its natural end (done or error line, or an error status). */
  completed: boolean;
}

export interface GroundedSamSimEvents {
  request: [GroundedSamRequestEvent];
  'request-closed': [GroundedSamRequestClosedEvent];
}

export interface GroundedSamSim {
  /** http://127.0.0.1:PORT */
  url: string;
  port: number;
  events: EventEmitter<GroundedSamSimEvents>;
  close(): Promise<void>;
}
