// What the simulated whisper-asr-webservice serves at GET /docs and GET /openapi.json: a Swagger UI
// stand-in page and a minimal OpenAPI document naming the engine.
import type { AsrEngine } from './asr-output.ts';

export const DOCS_HTML =
  '<!DOCTYPE html>\n<html>\n<head>\n<title>Whisper Asr Webservice - Swagger UI</title>\n</head>\n<body>\n<div id="swagger-ui"></div>\n<!-- SIMULATED whisper-asr-webservice: no Swagger UI here -->\n</body>\n</html>\n';

export function openapi(engine: AsrEngine): string {
  return JSON.stringify({
    openapi: '3.1.0',
    info: { title: 'Whisper Asr Webservice', description: `SIMULATED whisper-asr-webservice (${engine}); see sim/README.md`, version: '1.10.0-sim' },
    paths: { '/asr': { post: { tags: ['Endpoints'], summary: 'Asr' } }, '/detect-language': { post: { tags: ['Endpoints'], summary: 'Detect Language' } } },
  });
}
