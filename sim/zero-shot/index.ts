// Public entry of the simulated zero-shot-classification server (HF Inference Endpoints /
// Inference API wire format; see server.ts).
export { DEFAULT_ZERO_SHOT_MODEL, startZeroShotSim } from './server.ts';
export { ZERO_SHOT_FAULTS } from './types.ts';
export type {
  ZeroShotClosedEvent,
  ZeroShotFaultKind,
  ZeroShotLatency,
  ZeroShotRequestEvent,
  ZeroShotSim,
  ZeroShotSimEvents,
  ZeroShotSimOptions,
} from './types.ts';
