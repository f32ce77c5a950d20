// Microphone capture for the browser SDK: getUserMedia → an AudioContext at 16 kHz (the browser
// resamples the device) → an AudioWorklet that cuts 20 ms frames of PCM16 little-endian → the
// client's audio.start / audio.chunk / audio.end. The gateway runs VAD and endpointing, so the
// page just streams; a spoken question ends when the user stops talking.
import type { VlpBrowserClient } from './sdk.ts';

/** The rates vlp.v1 accepts for pcm16 (SPEC audio.start). */
const PCM_RATES = new Set([8000, 16000, 24000, 48000]);
const FRAME_MS = 20;

// Runs on the audio rendering thread: buffers 128-sample render quanta into FRAME_MS frames,
// converts float [-1, 1] to int16 and posts each frame's bytes (transferred, not copied).
const WORKLET = `
class VlpPcm16Frames extends AudioWorkletProcessor {
  constructor(options) {
    super();
    this.size = options.processorOptions.frameSamples;
    this.frame = new Int16Array(this.size);
    this.fill = 0;
  }
  process(inputs) {
    const ch = inputs[0] && inputs[0][0];
    if (!ch) return true;
    for (let i = 0; i < ch.length; i++) {
      const s = Math.max(-1, Math.min(1, ch[i]));
      this.frame[this.fill++] = s < 0 ? Math.round(s * 32768) : Math.round(s * 32767);
      if (this.fill === this.size) {
        // Transferred: the old array is detached (length 0) once posted.
        this.port.postMessage(this.frame.buffer, [this.frame.buffer]);
        this.frame = new Int16Array(this.size);
        this.fill = 0;
      }
    }
    return true;
  }
}
registerProcessor('vlp-pcm16-frames', VlpPcm16Frames);
`;

export interface Microphone {
  /** The sample rate declared in audio.start. */
  readonly sampleRate: number;
  /** Stops capture and sends audio.end (the utterance in progress is still transcribed); also
   *  runs by itself when the connection closes (then without audio.end). Idempotent. */
  stop(): Promise<void>;
}

export interface MicrophoneOptions {
  language?: string;
  task?: 'transcribe' | 'translate';
  /** Called with each frame's RMS level, 0..1 (for a meter). */
  onLevel?: (rms: number) => void;
  /** Called once capture has stopped, whoever stopped it. */
  onStopped?: () => void;
}

/** Asks for the microphone and streams it to the gateway until stop(). Call it from a user
 *  gesture (a click): the AudioContext is created first, synchronously, so the browser lets it run.
 *  Rejects, with nothing left open, when the user denies access or the browser cannot capture. */
export async function startMicrophone(client: VlpBrowserClient, opts: MicrophoneOptions = {}): Promise<Microphone> {
  let ctx = newContext(16000);
  void ctx.resume().catch(() => undefined);
  let media: MediaStream | undefined;
  try {
    media = await navigator.mediaDevices.getUserMedia({ audio: { channelCount: 1, echoCancellation: true, noiseSuppression: true, autoGainControl: true } });
    let source: MediaStreamAudioSourceNode;
    try {
      source = ctx.createMediaStreamSource(media);
    } catch {
      // Some browsers refuse a context rate other than the device's: capture at the device rate.
      await ctx.close();
      ctx = newContext(undefined);
      void ctx.resume().catch(() => undefined);
      source = ctx.createMediaStreamSource(media);
    }
    const rate = ctx.sampleRate;
    if (!PCM_RATES.has(rate)) throw new Error(`the browser captures at ${rate} Hz; vlp.v1 takes pcm16 at 8, 16, 24 or 48 kHz`);
    const url = URL.createObjectURL(new Blob([WORKLET], { type: 'text/javascript' }));
    try {
      await ctx.audioWorklet.addModule(url);
    } finally {
      URL.revokeObjectURL(url);
    }
    const node = new AudioWorkletNode(ctx, 'vlp-pcm16-frames', { processorOptions: { frameSamples: (rate * FRAME_MS) / 1000 }, numberOfInputs: 1, numberOfOutputs: 0, channelCount: 1 });
    if (!client.open) throw new Error('the connection to the gateway is closed');
    const declare = (): boolean =>
      client.startAudio({ encoding: 'pcm16', sample_rate: rate, channels: 1 }, { ...(opts.language !== undefined && { language: opts.language }), ...(opts.task !== undefined && { task: opts.task }) });
    declare();
    // An audio stream belongs to its connection (SPEC §12): after a resume, declare it again.
    const offState = client.onState((st) => {
      if (st === 'open') declare();
    });
    node.port.onmessage = (ev: MessageEvent<ArrayBuffer>) => {
      client.sendAudio(new Uint8Array(ev.data));
      if (opts.onLevel) opts.onLevel(rms(new Int16Array(ev.data)));
    };
    source.connect(node);
    const capture = { ctx, media };
    let stopped = false;
    const halt = async (sendEnd: boolean): Promise<void> => {
      if (stopped) return;
      stopped = true;
      offClose();
      offState();
      node.port.onmessage = null;
      source.disconnect();
      capture.media.getTracks().forEach((t) => t.stop());
      await capture.ctx.close().catch(() => undefined);
      if (sendEnd) client.endAudio();
      opts.onStopped?.();
    };
    // The connection closed: nothing more can be sent, so the microphone is released.
    const offClose = client.onClose(() => void halt(false));
    return { sampleRate: rate, stop: () => halt(true) };
  } catch (err) {
    media?.getTracks().forEach((t) => t.stop());
    await ctx.close().catch(() => undefined);
    throw err;
  }
}

function newContext(sampleRate: number | undefined): AudioContext {
  if (sampleRate !== undefined) {
    try {
      return new AudioContext({ sampleRate });
    } catch {
      // this browser cannot run a context at that rate: the device's
    }
  }
  return new AudioContext();
}

function rms(pcm: Int16Array): number {
  let sum = 0;
  for (let i = 0; i < pcm.length; i++) {
    const v = (pcm[i] as number) / 32768;
    sum += v * v;
  }
  return Math.sqrt(sum / Math.max(1, pcm.length));
}
