// Public entry of the simulated SageMaker runtime (InvokeEndpoint / InvokeEndpointWithResponseStream).
export { startSageMakerSim } from './server.ts';
export type {
  SageMakerEndpointConfig,
  SageMakerTgiEndpointConfig,
  SageMakerWhisperEndpointConfig,
  SageMakerRequestClosedEvent,
  SageMakerRequestEvent,
  SageMakerRoute,
  SageMakerSim,
  SageMakerSimEvents,
  SageMakerSimOptions,
  SageMakerSimStats,
} from './types.ts';
export { SAGEMAKER_FAULT_KINDS, type SageMakerFaultKind } from './faults.ts';
export { SAGEMAKER_ADMIN_PATH } from './admin.ts';
export { EVENT_STREAM_CONTENT_TYPE } from './eventstream.ts';
