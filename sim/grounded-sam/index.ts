// Public surface of the simulated Grounded-SAM service.
export { DETECT_SEGMENT_PATH, MAX_BODY_BYTES, startGroundedSamSim } from './server.ts';
export type * from './types.ts';
