// POST /v1/chat/completions (TGI's Messages API, v3.3.7) and GET /v1/models: decodes the chat body,
// applies the model's chat template, maps it to generate parameters as TGI does, then runs the same
// generation, latency and fault machinery as the native routes with the Messages API wire format.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { SimContext } from './context.ts';
import { parseChatRequest, toGenerateParameters } from './chat-request.ts';
import { applyChatTemplate, TemplateError } from './chat-template.ts';
import { chatCompletionJson, chatWire, modelsJson, type ChatWireOptions } from './chat-wire.ts';
import {
  BODY_TOO_LARGE,
  isJsonContentType,
  MISSING_JSON_CONTENT_TYPE,
  readBody,
  sendError,
  sendJson,
  sendJsonRejection,
  sendText,
} from './http.ts';
import { DOCKER_LABEL, TGI_VERSION } from './info.ts';
import { JsonDecodeError } from './json.ts';
import { prepare } from './prepare.ts';
import { answerProxyFault } from './proxy-faults.ts';
import { serveStream } from './stream.ts';
import { serveUnary } from './unary.ts';

export const CHAT_PATH = '/v1/chat/completions';
export const MODELS_PATH = '/v1/models';

export async function handleChat(ctx: SimContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const { opts } = ctx;
  if (!isJsonContentType(req.headers['content-type'])) return sendText(res, 415, MISSING_JSON_CONTENT_TYPE);
  const body = await readBody(req, opts.payloadLimit);
  if (body === null) return sendText(res, 413, BODY_TOO_LARGE);
  let chat;
  try {
    chat = parseChatRequest(body);
  } catch (err) {
    if (!(err instanceof JsonDecodeError)) throw err;
    return sendJsonRejection(res, err);
  }
  let inputs: string;
  try {
    inputs = applyChatTemplate(opts.kind, chat.messages);
  } catch (err) {
    // try_into_generate fails before any streaming: HTTP 422 whether or not `stream` is set.
    if (!(err instanceof TemplateError)) throw err;
    return sendError(res, 422, `Template error: ${err.message}`, 'template_error');
  }
  const params = toGenerateParameters(chat);
  const lastUser = chat.messages.findLast((m) => m.role === 'user');
  const p = prepare(ctx, CHAT_PATH, inputs, params, { directiveText: lastUser?.content ?? '', addSpecialTokens: false });
  ctx.events.emit('request', {
    id: p.id,
    route: CHAT_PATH,
    stream: chat.stream,
    inputsLength: inputs.length,
    seed: params.seed === null ? null : Number(params.seed),
    params,
    templatedText: inputs,
  });
  if (answerProxyFault(ctx, res, p)) return;
  const wire: ChatWireOptions = {
    model: chat.model === null || chat.model === 'tgi' ? opts.modelId : chat.model,
    fingerprint: `${TGI_VERSION}-${DOCKER_LABEL}`,
    logprobs: chat.logprobs,
    includeUsage: chat.includeUsage,
    legacy: opts.legacyFraming,
  };
  if (chat.stream) return serveStream(ctx, res, p, chatWire(wire));
  return serveUnary(ctx, res, p, (plan, valid) => chatCompletionJson(wire, plan, valid.inputLength));
}

export function handleModels(ctx: SimContext, res: ServerResponse): void {
  sendJson(res, 200, modelsJson(ctx.opts.modelId));
}
