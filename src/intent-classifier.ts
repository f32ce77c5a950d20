// Chooses the intent classifier of typed turns and final transcripts from the config.
import type { Config } from './config/schema.ts';
import type { IntentClassifier } from './understanding/classifier-port.ts';
import { LlmIntentClassifier } from './understanding/llm-classifier.ts';
import { ZeroShotClassifier } from './understanding/zero-shot.ts';

export function createIntentClassifier(config: Config, rules: IntentClassifier): IntentClassifier {
  const c = config.intent;
  switch (c.classifier) {
    case 'rules':
      return rules;
    case 'zero-shot':
      if (c.url === undefined) throw new Error('intent.classifier "zero-shot" needs intent.url (an HF zero-shot-classification endpoint)');
      return new ZeroShotClassifier({ url: c.url, timeoutMs: c.timeoutMs });
    case 'llm': {
      const dialogue = config.models.find((m) => m.id === config.defaultModel);
      const url = c.url ?? (dialogue?.backend === 'tgi' ? dialogue.urls[0] : undefined);
      if (url === undefined) throw new Error('intent.classifier "llm" needs intent.url (a TGI server), or a default model on backend tgi with a URL');
      return new LlmIntentClassifier({ url, timeoutMs: c.timeoutMs });
    }
    default: {
      const never: never = c.classifier;
      throw new Error(`unknown intent classifier ${String(never)}`);
    }
  }
}
