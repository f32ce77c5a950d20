// Public entry of the simulated TGI server.
export { startTgiSim } from './server.ts';
export type {
  RequestClosedEvent,
  RequestEvent,
  TgiRoute,
  TgiSim,
  TgiSimEvents,
  TgiSimOptions,
  TokenEmittedEvent,
} from './types.ts';
export type { GenerateParameters, GrammarType } from './request.ts';
export { ADMIN_FAULTS_PATH } from './admin.ts';
export { DEFAULT_MODEL_IDS } from './context.ts';
