// WebSocket rules both adapters share: the Sec-WebSocket-Protocol list syntax, which close codes an
// endpoint may send, the 123-byte close-reason cap, and the process-wide connection numbering.

/** Split a Sec-WebSocket-Protocol header ("a, b,c") into its tokens, in the client's order. */
export function parseProtocolHeader(header: string | undefined): string[] {
  if (header === undefined || header === '') return [];
  const out: string[] = [];
  for (const part of header.split(',')) {
    const v = part.trim();
    if (v !== '') out.push(v);
  }
  return out;
}

/** Codes an endpoint may put in a close frame (RFC 6455 §7.4; 1005/1006/1015 are reserved for
 *  reporting, 1004 is unassigned). The `ws` library throws on anything else, so both adapters
 *  check up front and behave the same. */
export function isSendableCloseCode(code: number): boolean {
  if (!Number.isInteger(code)) return false;
  if (code >= 3000 && code <= 4999) return true;
  return code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006;
}

export function assertSendableCloseCode(code: number): void {
  if (!isSendableCloseCode(code)) throw new RangeError(`invalid WebSocket close code ${code}`);
}

/** A close frame's payload is at most 125 bytes: 2 for the code, 123 for the UTF-8 reason. */
export const MAX_CLOSE_REASON_BYTES = 123;

/** Cut `reason` to at most 123 UTF-8 bytes without splitting a character. */
export function clampCloseReason(reason: string): string {
  // Fast path: one UTF-16 unit is at most 3 UTF-8 bytes, so 41 units always fit.
  if (reason.length <= MAX_CLOSE_REASON_BYTES / 3) return reason;
  if (Buffer.byteLength(reason, 'utf8') <= MAX_CLOSE_REASON_BYTES) return reason;
  let bytes = 0;
  let end = 0;
  for (const ch of reason) {
    const n = Buffer.byteLength(ch, 'utf8');
    if (bytes + n > MAX_CLOSE_REASON_BYTES) break;
    bytes += n;
    end += ch.length;
  }
  return reason.slice(0, end);
}

let lastConnectionId = 0;

/** Process-unique connection number, shared by both adapters so ids never collide in logs. */
export function nextConnectionId(): number {
  lastConnectionId += 1;
  return lastConnectionId;
}

/** The path part of a request target ("/a/b?x=1" → "/a/b"). */
export function pathOf(url: string): string {
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}
