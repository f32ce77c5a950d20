// The browser SDK's public surface, bundled as one ES module (dist/web/vlp-browser.js, built by
// `npm run build`): the client, microphone and camera capture, and the overlay drawing of boxes
// and masks.
export { VlpBrowserClient, VlpBrowserError, type AskOptions, type BrowserConnectOptions, type ConnectionState, type WatchOptions } from './sdk.ts';
export { startMicrophone, type Microphone, type MicrophoneOptions } from './mic.ts';
export { startCamera, CAMERA_FRAME_PREFIX, type Camera, type CameraOptions } from './camera.ts';
export { drawBoxes, drawMask } from './overlay.ts';
export type { ServerMessage, ClientMessage, ReadyMsg, WatchEventMsg } from '../../../protocol/messages.ts';
