// bench:echo — what the echo guard (src/session/echo-guard.ts) costs the gateway per judgement,
// on the main thread of the session that is speaking: the barge-in check of a partial transcript
// (its last 16 words), the check of a final transcript (up to 64 words), and a short utterance,
// each against a long answer (1024 words, the most compared) as echo and as the user's own words,
// and the answer's tokenization when it is not cached (the running answer grows between partials).
//
//   npx tsx loadtest/bench/echo.ts [--rounds 2000] [--out loadtest/reports]
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { BARGE_IN_TAIL_WORDS, judgeEcho, type EchoVerdict } from '../../src/session/echo-guard.ts';
import { ConfigSchema } from '../../src/config/schema.ts';
import { r2, summarize } from './stats.ts';

const { values: args } = parseArgs({ options: { rounds: { type: 'string', default: '2000' }, out: { type: 'string', default: 'loadtest/reports' } } });
const ROUNDS = Number(args.rounds);
const cfg = ConfigSchema.parse({}).audio.echoGuard;

// A long answer of everyday English: common words recur, as they do in real answers (the hard case
// for a word alignment). Deterministic.
const VOCAB = ('the a of to and in is it you that was for on are with as they be at one have this from or had by but what some we can out ' +
  'other were all there when up use your how said an each she which do their time if will way about many then them would like so these her ' +
  'long make thing see him two has look more day could go come did number sound no most people my over know water than call first who may ' +
  'down side been now find light city river mountain coffee station morning history language music garden window bridge market').split(' ');
let seed = 7;
const rand = (): number => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
const pick = (n: number): string[] => Array.from({ length: n }, () => VOCAB[Math.floor(rand() * VOCAB.length)] as string);
const answerWords = pick(1024);
const ANSWER = answerWords.join(' ');

interface Case {
  name: string;
  transcript: string;
  tail?: number;
  /** A fresh answer string each call: the tokenization is not cached. */
  cold?: boolean;
  /** Another answer than the 1024-word one. */
  answer?: string;
}
const SHORT_ANSWER = answerWords.slice(0, 150).join(' ');
const CASES: Case[] = [
  { name: 'partial, barge-in check (last 16 words), echo', transcript: answerWords.slice(600, 640).join(' '), tail: BARGE_IN_TAIL_WORDS },
  { name: 'partial, barge-in check (last 16 words), user', transcript: pick(40).join(' '), tail: BARGE_IN_TAIL_WORDS },
  { name: 'final, 64 words, echo', transcript: answerWords.slice(300, 364).join(' ') },
  { name: 'final, 64 words, user', transcript: pick(64).join(' ') },
  { name: 'final, 6 words, user', transcript: 'could you stop talking about water' },
  { name: 'typical answer (150 words): partial, barge-in check, echo', transcript: answerWords.slice(100, 130).join(' '), tail: BARGE_IN_TAIL_WORDS, answer: SHORT_ANSWER },
  { name: 'typical answer (150 words): final, 20 words, user', transcript: pick(20).join(' '), answer: SHORT_ANSWER },
  { name: 'partial, 16 words, echo, answer not cached', transcript: answerWords.slice(600, 616).join(' '), tail: BARGE_IN_TAIL_WORDS, cold: true },
];

interface Row {
  name: string;
  verdict: EchoVerdict;
  p50_us: number;
  p99_us: number;
  mean_us: number;
}

const rows: Row[] = [];
for (const c of CASES) {
  const base = c.answer ?? ANSWER;
  const answerFor = (i: number): string => (c.cold === true ? `${base} ${i}` : base);
  for (let i = 0; i < 200; i++) judgeEcho(c.transcript, [{ text: answerFor(-i - 1) }], cfg, c.tail);
  const times: number[] = [];
  let verdict: EchoVerdict = 'unsure';
  for (let i = 0; i < ROUNDS; i++) {
    const answer = answerFor(i);
    const t0 = performance.now();
    verdict = judgeEcho(c.transcript, [{ text: answer }], cfg, c.tail);
    times.push((performance.now() - t0) * 1000);
  }
  const s = summarize(times);
  rows.push({ name: c.name, verdict, p50_us: r2(s.p50), p99_us: r2(s.p99), mean_us: r2(s.mean) });
}

const when = new Date().toISOString();
const lines = [
  `# Echo guard cost — ${when}`,
  '',
  `Node ${process.version}; ${ROUNDS} judgements per case after 200 warm-up ones; an answer of 1024 words (the most the guard compares) unless the case says otherwise; config ${JSON.stringify(cfg)}. Timed on a shared 2-vCPU VM: read the figures as orders of magnitude.`,
  '',
  '| case | verdict | µs p50 | µs p99 | µs mean |',
  '|---|---|---|---|---|',
  ...rows.map((r) => `| ${r.name} | ${r.verdict} | ${r.p50_us} | ${r.p99_us} | ${r.mean_us} |`),
  '',
  'The guard runs only for sessions with `options.echo_guard`, only while an answer runs or ended within `audio.echoGuard.windowMs`: at each partial transcript until the utterance barges in (about 2–3 partials a second), once at the end of speech and once at the final transcript. A shorter answer costs proportionally less (the alignment is transcript words × answer words).',
];
for (const l of lines) console.log(l);
mkdirSync(args.out, { recursive: true });
const name = `echo-${when.slice(0, 10)}`;
writeFileSync(join(args.out, `${name}.md`), `${lines.join('\n')}\n`);
writeFileSync(join(args.out, `${name}.json`), `${JSON.stringify({ when, node: process.version, rounds: ROUNDS, config: cfg, rows }, null, 2)}\n`);
