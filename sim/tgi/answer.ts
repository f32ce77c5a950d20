// Composes plausible English answers without a model: sentence templates filled with a topic word
// taken from the user's last message, picked by a seeded PRNG so a (seed, prompt) pair always
// yields the same text.
import { stripDirectives } from '../faults.ts';
import type { Rand } from '../random.ts';
import type { PromptView } from './prompt.ts';
import { splitPieces } from './tokenize.ts';

const STOP_WORDS = new Set(
  (
    'a an the and or but if then than so of to in on at by for with from into onto about as is are was were be been ' +
    'being am do does did doing have has had having i me my mine you your yours he him his she her hers it its we us ' +
    'our they them their this that these those what which who whom whose when where why how can could would should ' +
    'will shall may might must not no yes please tell show give explain describe there here some any all just very ' +
    'much many more most also too again up down out over under hi hello hey thanks thank okay ok image picture photo ' +
    'see look let lets like know want need get make sure really'
  ).split(' '),
);

const OPENERS = [
  'Sure! Here is a short answer about {t}.',
  'Great question about {t}.',
  'Of course. Let me explain {t} in simple terms.',
  'Happy to help with {t}.',
  'Here is what I know about {t}.',
];

const IMAGE_OPENERS = [
  'In the image, I can see {t} near the center of the frame.',
  'The picture shows {t} in good light, with a few other objects around it.',
  'This image appears to show {t} from a slightly raised angle.',
];

const BODY = [
  '{T} is often discussed in the context of everyday life.',
  'In short, {t} depends on a few simple factors that are easy to check.',
  'Many people find {t} interesting because it connects history, science and culture.',
  'The most important thing to remember is that {t} can change over time.',
  'If you look closely, you will notice that {t} has several parts that work together.',
  'A common example is a small town where {t} plays a part in daily routines.',
  'Experts usually recommend starting with the basics before going deeper into {t}.',
  'It is also worth noting that {t} can mean different things to different people.',
  'One practical tip is to compare {t} with something you already know well.',
  'Over the last 20 years, our understanding of {t} has improved a lot.',
  'There are 3 main points to keep in mind: context, scale and timing.',
  'For most purposes, a clear and simple description of {t} is enough.',
];

const IMAGE_BODY = [
  'The colors are mostly warm, and the background is slightly blurred.',
  'On the left side there is a window, and on the right there is a small table.',
  'The lighting suggests the photo was taken during the day.',
  'There is no visible text in the image.',
];

const CLOSERS = [
  'I hope this helps!',
  'Let me know if you would like more detail.',
  'Feel free to ask a follow-up question.',
];

/** The most content-bearing word of a message: the longest non-stop-word, with a bonus for
 *  capitalised words past the first (likely proper nouns); the last one wins ties. Proper nouns keep
 *  their case, other words are lower-cased. Returns "" when nothing fits. */
export function pickTopic(text: string): string {
  const clean = stripDirectives(text.length > 4000 ? text.slice(-4000) : text);
  let best = '';
  let bestScore = 0;
  let position = 0;
  for (const m of clean.matchAll(/[A-Za-z][A-Za-z'-]*/g)) {
    const word = m[0].replace(/'s$/, '').replace(/[-']+$/, '');
    const first = position++ === 0;
    if (STOP_WORDS.has(word.toLowerCase()) || word.length < 3) continue;
    const proper = !first && /^[A-Z]/.test(word);
    const score = word.length + (proper ? 3 : 0);
    if (score >= bestScore) {
      best = proper || word === word.toUpperCase() ? word : word.toLowerCase();
      bestScore = score;
    }
  }
  return best;
}

/** The topic as a noun phrase: proper nouns bare, common nouns with "the". */
export function topicPhrase(topic: string): string {
  if (!topic) return 'this topic';
  return /^[A-Z]/.test(topic) ? topic : `the ${topic}`;
}

function pick<T>(list: readonly T[], rand: Rand): T {
  return list[Math.floor(rand() * list.length)] as T;
}

function fill(template: string, topic: string): string {
  const cap = topic.charAt(0).toUpperCase() + topic.slice(1);
  return template.replaceAll('{t}', topic).replaceAll('{T}', cap);
}

const PLAN_STEPS = [
  'Identify what the request asks about {t}.',
  'Look for {t} and note where it appears.',
  'Check the details of {t} that the request mentions.',
  'Compare {t} with its surroundings.',
  'Summarize the findings about {t} without adding facts.',
];

/** A sub-task decomposition prompt (the gateway's chain-of-thought planner asks for a numbered list). */
const PLAN_REQUEST = /Break the request below into at most (\d+)[\s\S]*?Request:\s*([\s\S]*)$/;

/** A numbered plan of 3-5 steps about the request's topic, like a chat model following the format. */
function composePlan(max: number, request: string, rand: Rand): string {
  const topic = topicPhrase(pickTopic(request));
  const n = Math.min(max, 3 + Math.floor(rand() * 3));
  const lines = PLAN_STEPS.slice(0, n).map((step, i) => `${i + 1}. ${fill(step, topic)}`);
  return ' ' + lines.join('\n');
}

/** Answer text of about `targetTokens` tokens (always ends at a sentence boundary, so it may run
 *  a few tokens over). Starts with a space, like a Llama continuation after `[/INST]`. */
export function composeAnswer(view: PromptView, rand: Rand, targetTokens: number): string {
  const plan = PLAN_REQUEST.exec(view.lastUser);
  if (plan) return composePlan(Number(plan[1]), plan[2] ?? '', rand);
  const topic = topicPhrase(pickTopic(view.lastUser));
  const sentences: string[] = [];
  const image = view.images > 0;
  sentences.push(fill(pick(image ? IMAGE_OPENERS : OPENERS, rand), topic));
  let tokens = splitPieces(' ' + sentences[0]).length;
  const closer = pick(CLOSERS, rand);
  const closerTokens = splitPieces(' ' + closer).length;
  const pool = image ? [...IMAGE_BODY, ...BODY] : BODY;
  const used = new Set<number>();
  while (tokens + closerTokens < targetTokens) {
    let idx = Math.floor(rand() * pool.length);
    for (let tries = 0; used.has(idx) && tries < pool.length; tries++) idx = (idx + 1) % pool.length;
    used.add(idx);
    if (used.size >= pool.length) used.clear();
    const sentence = fill(pool[idx] as string, topic);
    sentences.push(sentence);
    tokens += splitPieces(' ' + sentence).length;
  }
  if (targetTokens > tokens) sentences.push(closer);
  return ' ' + sentences.join(' ');
}
