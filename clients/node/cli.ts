// `npm run cli -- "prompt"` or `npm run cli -- --audio question.wav`: ask the gateway one question
// (typed or spoken) and stream the answer to stdout. runCli() holds all the logic (testable); the
// entry block only wires process streams and SIGINT. A typed question runs in cli-ask.ts, a spoken
// one in cli-voice.ts; what they print is in cli-output.ts.
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { openAudioFile, openAudioStream, type AudioInput } from './audio-file.ts';
import { parseCliArgs, USAGE } from './cli-args.ts';
import { runTurn } from './cli-ask.ts';
import { EXIT, reportFailure, type CliIo } from './cli-io.ts';
import { runVoice } from './cli-voice.ts';
import { connect, type VlpClient } from './sdk.ts';

export { EXIT, type CliIo } from './cli-io.ts';

export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const parsed = parseCliArgs(argv, io.env ?? process.env);
  if (parsed.kind === 'help') {
    io.stdout.write(`${USAGE}\n`);
    return EXIT.OK;
  }
  if (parsed.kind === 'usage') {
    io.stderr.write(`vlp: ${parsed.error}\n${USAGE}\n`);
    return EXIT.USAGE;
  }
  const cfg = parsed.config;
  const deadline = Date.now() + cfg.timeoutMs;
  // The audio is opened first: an unreadable file or a missing ffmpeg fails before connecting.
  let audio: AudioInput | undefined;
  if (cfg.audio !== undefined) {
    try {
      audio =
        cfg.audio.path === '-'
          ? openAudioStream(io.stdin ?? process.stdin, cfg.audio.format)
          : await openAudioFile(cfg.audio.path, cfg.audio.format !== undefined ? { format: cfg.audio.format } : {});
    } catch (err) {
      return reportFailure(err, io);
    }
  }
  let client: VlpClient;
  try {
    client = await connect(cfg.url, {
      subprotocol: cfg.subprotocol,
      client: 'vlp-cli/0.1',
      connectTimeoutMs: cfg.timeoutMs,
      ...(cfg.apiKey !== undefined && { apiKey: cfg.apiKey }),
      ...(cfg.options !== undefined && { options: cfg.options }),
    });
  } catch (err) {
    audio?.close();
    return reportFailure(err, io);
  }
  try {
    if (io.signal?.aborted === true) return EXIT.INTERRUPTED;
    return audio !== undefined ? await runVoice(client, cfg, audio, io) : await runTurn(client, cfg, io, deadline);
  } catch (err) {
    return reportFailure(err, io);
  } finally {
    audio?.close();
    await client.close();
  }
}

function isEntryModule(): boolean {
  const entry = process.argv[1];
  if (entry === undefined) return false;
  try {
    return import.meta.url === pathToFileURL(realpathSync(entry)).href;
  } catch {
    return false;
  }
}

if (isEntryModule()) {
  const ac = new AbortController();
  let interrupts = 0;
  process.on('SIGINT', () => {
    interrupts += 1;
    if (interrupts > 1) process.exit(EXIT.INTERRUPTED); // second Ctrl-C: do not wait for the grace period
    ac.abort();
  });
  process.exitCode = await runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, signal: ac.signal });
}
