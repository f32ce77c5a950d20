// Public entry of the simulated SageMaker runtime (InvokeEndpoint / InvokeEndpointWithResponseStream)
// in front of TGI, Grounded-SAM and JumpStart Whisper containers.
export { startSageMakerSim } from './server.ts';
export type {
  SageMakerEndpointConfig,
  SageMakerGroundedSamEndpointConfig,
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
