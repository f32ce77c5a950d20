// Renders protocol/ERRORS.md from the error catalog (errors.ts). Shared by the generator script
// (scripts/gen-errors-md.ts) and the test that keeps the checked-in file in sync.
import { CloseCode, ERRORS, ERROR_CODES, type ErrorCategory, type ErrorSpec } from './errors.ts';

type CloseName = keyof typeof CloseCode;

/** What each close code means; typed so that a new CloseCode cannot be added without a line here. */
const CLOSE_MEANING: Record<CloseName, string> = {
  NORMAL: 'Normal closure: the client closed, or the session ended cleanly.',
  GOING_AWAY: 'The gateway is shutting down (after `goaway` and its grace period); reconnect and resume elsewhere.',
  PROTOCOL_ERROR: 'WebSocket-level protocol violation detected by the WebSocket library.',
  POLICY: 'Policy refusal: the gateway is at capacity (`SERVER_AT_CAPACITY`).',
  TOO_BIG: 'A frame exceeded `max_frame_bytes` (`PROTO_FRAME_TOO_LARGE`).',
  INTERNAL: 'Unexpected gateway fault that made the connection unusable.',
  RESUME_FAILED: '`hello.resume` could not be honoured (`SESSION_RESUME_FAILED`); start a new session.',
  IDLE_TIMEOUT: 'No message arrived within the idle timeout, or no hello within `limits.helloTimeoutMs` of opening (`SESSION_IDLE_TIMEOUT`).',
  SESSION_EXPIRED: 'The session reached its maximum duration (`SESSION_EXPIRED`), after `goaway` reason `max_session`; start a new session.',
  SLOW_CONSUMER: 'The client read too slowly: the bounded outbox (frames or bytes waiting) overflowed, or before hello its unread replies passed `limits.highWaterBytes` (`SESSION_SLOW_CONSUMER`).',
  SESSION_REPLACED: 'Another connection resumed this session; this older connection is closed.',
};

const CATEGORY_ORDER: readonly ErrorCategory[] = ['protocol', 'session', 'turn', 'input', 'upstream', 'server'];

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

function closeName(code: number): string {
  const name = (Object.keys(CloseCode) as CloseName[]).find((k) => CloseCode[k] === code);
  return name === undefined ? String(code) : `${code} (${name})`;
}

function errorRow(code: string, spec: ErrorSpec): string {
  const close = spec.close === undefined ? '—' : closeName(spec.close);
  return `| \`${code}\` | ${spec.retryable ? 'yes' : 'no'} | ${close} | ${spec.status} | ${cell(spec.summary)} |`;
}

/** The full text of protocol/ERRORS.md. */
export function renderErrorsMd(): string {
  const lines: string[] = [
    '# vlp.v1 error codes',
    '',
    '<!-- Generated from protocol/errors.ts by `npx tsx scripts/gen-errors-md.ts`; do not edit by hand. -->',
    '',
    'Every error reaches the client as an `error` frame (see SPEC.md, "Errors"): `code` is one of the',
    'codes below and never changes meaning; new codes are only added. `retryable` says whether the same',
    'request may succeed later. When a code has a close code, the frame has `fatal: true` and the',
    'gateway closes the WebSocket with that code right after it; every other error leaves the session',
    'open. Status `reserved` marks codes defined by v1 but emitted only by a later build.',
    '',
  ];
  for (const category of CATEGORY_ORDER) {
    const codes = ERROR_CODES.filter((c) => ERRORS[c].category === category);
    if (codes.length === 0) continue;
    lines.push(`## ${category}`, '', '| Code | Retryable | Close | Status | Summary |', '| --- | --- | --- | --- | --- |');
    for (const code of codes) lines.push(errorRow(code, ERRORS[code]));
    lines.push('');
  }
  lines.push('## WebSocket close codes', '', '| Close code | Name | Meaning | Error codes |', '| --- | --- | --- | --- |');
  for (const name of Object.keys(CloseCode) as CloseName[]) {
    const value = CloseCode[name];
    const codes = ERROR_CODES.filter((c) => (ERRORS[c] as ErrorSpec).close === value).map((c) => `\`${c}\``);
    lines.push(`| ${value} | ${name} | ${cell(CLOSE_MEANING[name])} | ${codes.length > 0 ? codes.join(', ') : '—'} |`);
  }
  lines.push('');
  return lines.join('\n');
}
