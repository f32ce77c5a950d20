// Session options: defaults from config, overrides from hello/session.update, range-checked.
import type { GenParams, SessionOptions } from '../../protocol/messages.ts';
import { VlpError } from '../../protocol/errors.ts';
import type { Config } from '../config/schema.ts';
import { checkGenParams } from '../backends/params.ts';

export interface ResolvedOptions {
  systemPrompt: string;
  model: string;
  plan: boolean;
  speculate: boolean;
  bargeIn: 'off' | 'speech_start' | 'first_words';
  echoGuard: boolean;
  ignoreBackchannels: boolean;
  params: GenParams;
}

export function defaultOptions(config: Config): ResolvedOptions {
  return {
    systemPrompt: config.systemPrompt,
    model: config.defaultModel,
    plan: false,
    speculate: false,
    bargeIn: config.audio.bargeIn,
    echoGuard: config.audio.echoGuard.enabled,
    ignoreBackchannels: config.audio.backchannels.enabled,
    params: {},
  };
}

/** Apply client options on top of `base`; throws VlpError SESSION_OPTION_INVALID. */
export function applyOptions(base: ResolvedOptions, o: SessionOptions, config: Config, hasModel: (id: string) => boolean): ResolvedOptions {
  const next: ResolvedOptions = { ...base };
  if (o.system_prompt !== undefined) next.systemPrompt = o.system_prompt;
  if (o.model !== undefined) {
    if (!hasModel(o.model)) throw new VlpError('SESSION_OPTION_INVALID', 'options.model is not a configured model (see ready.models)');
    next.model = o.model;
  }
  if (o.plan !== undefined) next.plan = o.plan;
  if (o.speculate !== undefined) next.speculate = o.speculate;
  if (o.barge_in !== undefined) next.bargeIn = o.barge_in;
  if (o.echo_guard !== undefined) next.echoGuard = o.echo_guard;
  if (o.ignore_backchannels !== undefined) next.ignoreBackchannels = o.ignore_backchannels;
  if (o.params !== undefined) {
    try {
      next.params = checkGenParams(o.params, limitsOf(config));
    } catch (err) {
      if (err instanceof VlpError) throw new VlpError('SESSION_OPTION_INVALID', `options.params: ${err.message}`);
      throw err;
    }
  }
  return next;
}

export function limitsOf(config: Config): { maxNewTokens: number; maxStop: number; maxStopChars: number } {
  return { maxNewTokens: config.limits.maxNewTokens, maxStop: 4, maxStopChars: 64 };
}
