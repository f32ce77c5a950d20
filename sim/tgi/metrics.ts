// Prometheus metrics of the simulated TGI router, with TGI's metric names and bucket layouts
// (server.rs: durations 0.0001*1.5^n for n=1..35; token counts in 100 linear steps). Each simulator
// owns its own prom-client Registry, never the global one.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

export type FailureKind = 'validation' | 'overloaded' | 'generation' | 'incomplete' | 'dropped';

function durationBuckets(): number[] {
  const out: number[] = [];
  let v = 0.0001;
  for (let i = 0; i < 35; i++) {
    v *= 1.5;
    out.push(v);
  }
  return out;
}

const linear = (max: number): number[] => Array.from({ length: 100 }, (_, x) => (max / 100) * (x + 1));

export class TgiMetrics {
  readonly registry = new Registry();
  readonly requestCount: Counter;
  readonly requestSuccess: Counter;
  readonly requestFailure: Counter<'err'>;
  readonly queueSize: Gauge;
  readonly batchCurrentSize: Gauge;
  readonly batchCurrentMaxTokens: Gauge;
  readonly requestDuration: Histogram;
  readonly validationDuration: Histogram;
  readonly queueDuration: Histogram;
  readonly inferenceDuration: Histogram;
  readonly meanTimePerToken: Histogram;
  readonly generatedTokens: Histogram;
  readonly inputLength: Histogram;
  readonly maxNewTokens: Histogram;

  constructor(maxInputTokens: number, maxTotalTokens: number) {
    const registers = [this.registry];
    const counter = (name: string, help: string): Counter => new Counter({ name, help, registers });
    const gauge = (name: string, help: string): Gauge => new Gauge({ name, help, registers });
    const histogram = (name: string, help: string, buckets: number[]): Histogram =>
      new Histogram({ name, help, buckets, registers });
    const d = durationBuckets();
    this.requestCount = counter('tgi_request_count', 'Total generation requests (simulated TGI).');
    this.requestSuccess = counter('tgi_request_success', 'Successful generation requests.');
    this.requestFailure = new Counter({
      name: 'tgi_request_failure',
      help: 'Failed generation requests by error kind.',
      labelNames: ['err'],
      registers,
    });
    this.queueSize = gauge('tgi_queue_size', 'Requests waiting for their first token.');
    this.batchCurrentSize = gauge('tgi_batch_current_size', 'Requests currently decoding.');
    this.batchCurrentMaxTokens = gauge('tgi_batch_current_max_tokens', 'Token budget of the current batch.');
    this.requestDuration = histogram('tgi_request_duration', 'End-to-end request duration (s).', d);
    this.validationDuration = histogram('tgi_request_validation_duration', 'Validation duration (s).', d);
    this.queueDuration = histogram('tgi_request_queue_duration', 'Queue duration (s).', d);
    this.inferenceDuration = histogram('tgi_request_inference_duration', 'Inference duration (s).', d);
    this.meanTimePerToken = histogram(
      'tgi_request_mean_time_per_token_duration',
      'Mean time per generated token (s).',
      d,
    );
    this.generatedTokens = histogram(
      'tgi_request_generated_tokens',
      'Generated tokens per request.',
      linear(maxTotalTokens),
    );
    this.inputLength = histogram('tgi_request_input_length', 'Input tokens per request.', linear(maxInputTokens));
    this.maxNewTokens = histogram('tgi_request_max_new_tokens', 'max_new_tokens per request.', linear(maxTotalTokens));
  }

  fail(kind: FailureKind): void {
    this.requestFailure.inc({ err: kind });
  }

  /** Record a successful request, timings in ms. */
  success(totalMs: number, validationMs: number, queueMs: number, inferenceMs: number, generated: number): void {
    this.requestSuccess.inc();
    this.requestDuration.observe(totalMs / 1000);
    this.validationDuration.observe(validationMs / 1000);
    this.queueDuration.observe(queueMs / 1000);
    this.inferenceDuration.observe(inferenceMs / 1000);
    this.meanTimePerToken.observe(inferenceMs / 1000 / Math.max(1, generated));
    this.generatedTokens.observe(generated);
  }

  render(): Promise<string> {
    return this.registry.metrics();
  }
}
