// Camera frames for a watch (watch.start, SPEC section 9b; the demo's, and exported by the library):
// getUserMedia video → a <video>
// preview → once per interval a JPEG (longest side at most 640 px, quality 0.8) drawn through a
// canvas → the client's image.put. The gateway's watch examines the newest frame; the page draws a
// watch.event's boxes over the frame it names, so each frame sent is handed to onFrame as well.
//
// Frame ids rotate through a small set (cam-0 … cam-3) rather than one id per frame or one id for
// all: re-putting an id replaces that image on the gateway, so the camera takes at most 4 of the
// session's stored images (8 by default) and, once those are in, evicts nothing (a picture the user
// uploaded stays), and the page keeps at most 4 bitmaps; yet the frame an event or an `ask` turn
// names stays the same for at least 4 s after it was sent — far longer than a detection takes —
// where a single reused id could already hold the next frame.
import type { VlpBrowserClient } from './sdk.ts';

/** The prefix of every camera frame's id (watch.start frame_prefix). */
export const CAMERA_FRAME_PREFIX = 'cam-';
const CAMERA_FRAME_IDS: readonly string[] = [0, 1, 2, 3].map((i) => `${CAMERA_FRAME_PREFIX}${i}`);
const FRAME_INTERVAL_MS = 1000;
const MAX_SIDE = 640;
const QUALITIES = [0.8, 0.5];
/** Bytes the socket may still hold unsent before a frame is skipped rather than queued behind them. */
const MAX_BUFFERED_BYTES = 1 << 20;

export interface CameraOptions {
  /** Shows the camera (muted, inline); its current picture is what each frame captures. */
  video: HTMLVideoElement;
  /** Called with each frame sent, under its id; the receiver owns the bitmap (close() it). */
  onFrame?: (id: string, bitmap: ImageBitmap) => void;
  /** Called once capture has stopped, whoever stopped it (stop(), or the connection closing). */
  onStopped?: () => void;
}

export interface Camera {
  /** Frames sent so far. */
  readonly sent: number;
  /** False once stopped (stop(), or the connection closed). */
  readonly active: boolean;
  /** Stops sending frames and releases the camera (its tracks are stopped). Idempotent. */
  stop(): void;
}

/** Asks for the camera and sends one frame at once (so a watch started when this resolves begins
 *  on it), then one a second until stop() or the connection closes. A frame is skipped, not
 *  queued, while the page is hidden, while the previous one is still being encoded, while the socket holds over 1 MiB unsent
 *  (a slow network), while the connection is resuming, or when it does not fit
 *  ready.limits.max_image_bytes even at a lower quality. Rejects, with nothing left open, when the
 *  user denies access or the browser cannot capture. */
export async function startCamera(client: VlpBrowserClient, opts: CameraOptions): Promise<Camera> {
  const { video } = opts;
  const media = await navigator.mediaDevices.getUserMedia({ video: { width: { ideal: 640 }, height: { ideal: 480 } }, audio: false });
  let timer: ReturnType<typeof setInterval> | undefined;
  let offClose: (() => void) | undefined;
  let stopped = false;
  let busy = false;
  let sent = 0;
  const canvas = document.createElement('canvas');

  /** Stops the frames and the camera; true the first time. */
  const release = (): boolean => {
    if (stopped) return false;
    stopped = true;
    clearInterval(timer);
    offClose?.();
    media.getTracks().forEach((t) => t.stop());
    video.pause();
    video.srcObject = null;
    return true;
  };
  const stop = (): void => {
    if (release()) opts.onStopped?.();
  };

  /** Captures the video's current picture and sends it under the next id. */
  const capture = async (): Promise<void> => {
    // A hidden page (another tab, a minimised window) sends no frames: nobody is looking, and each
    // frame costs the fleet a detection.
    if (stopped || busy || document.hidden || !client.open || client.bufferedAmount > MAX_BUFFERED_BYTES) return;
    const w = video.videoWidth;
    const h = video.videoHeight;
    if (w === 0 || h === 0) return; // no picture yet
    busy = true;
    try {
      const scale = Math.min(1, MAX_SIDE / Math.max(w, h));
      canvas.width = Math.max(1, Math.round(w * scale));
      canvas.height = Math.max(1, Math.round(h * scale));
      canvas.getContext('2d')?.drawImage(video, 0, 0, canvas.width, canvas.height);
      const bitmap = await createImageBitmap(canvas);
      const bytes = await encode(canvas, client.ready.limits.max_image_bytes);
      const id = CAMERA_FRAME_IDS[sent % CAMERA_FRAME_IDS.length] as string;
      if (stopped || bytes === undefined || !client.putImage(id, bytes)) {
        bitmap.close();
        return;
      }
      sent++;
      opts.onFrame?.(id, bitmap);
    } finally {
      busy = false;
    }
  };

  try {
    video.muted = true;
    video.playsInline = true;
    video.srcObject = media;
    await video.play();
    if (video.videoWidth === 0) await firstPicture(video);
    if (!client.open) throw new Error('the connection to the gateway is not open');
    // The connection closed: nothing more can be sent, so the camera is released.
    offClose = client.onClose(stop);
    await capture();
    if (!stopped) timer = setInterval(() => void capture(), FRAME_INTERVAL_MS);
  } catch (err) {
    release();
    throw err;
  }
  return {
    get sent() {
      return sent;
    },
    get active() {
      return !stopped;
    },
    stop,
  };
}

/** The canvas as JPEG bytes within `limit`, trying a lower quality once; undefined when neither fits. */
async function encode(canvas: HTMLCanvasElement, limit: number): Promise<Uint8Array | undefined> {
  for (const q of QUALITIES) {
    const blob = await new Promise<Blob | null>((resolve) => canvas.toBlob(resolve, 'image/jpeg', q));
    if (blob !== null && blob.size <= limit) return new Uint8Array(await blob.arrayBuffer());
  }
  return undefined;
}

/** Resolves once the video has a picture (its size is known), or rejects after 5 s. */
function firstPicture(video: HTMLVideoElement): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (): void => {
      if (video.videoWidth === 0) return;
      clearTimeout(t);
      video.removeEventListener('loadeddata', done);
      video.removeEventListener('resize', done);
      resolve();
    };
    const t = setTimeout(() => {
      video.removeEventListener('loadeddata', done);
      video.removeEventListener('resize', done);
      reject(new Error('the camera gave no picture'));
    }, 5000);
    video.addEventListener('loadeddata', done);
    video.addEventListener('resize', done);
  });
}
