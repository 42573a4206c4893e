import { err, ok, type Result } from '../../core/result.js';
import { header, type Reply } from './reply.js';
import { RemoteAuthError, RemoteProtocolError } from './errors.js';

// The Bearer token side of the registry client: the scopes a token request names, and the
// token service's answer read as hostile input (capped, JSON, a usable token, its lifetime).

/** A token answer is a JSON object of a few KiB; more than this is not one. */
const MAX_TOKEN_ANSWER = 1 << 20;

/** A Bearer token and when to fetch a new one (a little before the end of its `expires_in`). */
export interface Token {
  value: string;
  refreshAt: number;
}

/**
 * Scopes as the token endpoint takes them: `repository:NAME:ACTIONS`, several separated by
 * spaces in a challenge; the same resource twice is merged into one with every action.
 */
export function mergeScopes(...lists: (string | undefined)[]): string[] {
  const out = new Map<string, Set<string>>();
  const plain: string[] = [];
  for (const s of lists.flatMap((l) => (l ?? '').split(' ')).filter(Boolean)) {
    const last = s.lastIndexOf(':');
    if (last <= 0 || s.indexOf(':') === last) {
      if (!plain.includes(s)) plain.push(s);
      continue;
    }
    const resource = s.slice(0, last);
    const actions = out.get(resource) ?? new Set<string>();
    for (const a of s.slice(last + 1).split(',')) if (a) actions.add(a);
    out.set(resource, actions);
  }
  return [...[...out].map(([resource, actions]) => `${resource}:${[...actions].join(',')}`), ...plain];
}

/** Reads at most `max` bytes of a body; undefined (and the body dropped) when it is longer. */
async function readCapped(body: Reply['body'], headers: Reply['headers'], max: number): Promise<Buffer | undefined> {
  const declared = Number(header(headers, 'content-length') ?? NaN);
  if (declared > max) {
    body.destroy();
    return undefined;
  }
  const chunks: Buffer[] = [];
  let n = 0;
  try {
    for await (const chunk of body) {
      n += (chunk as Buffer).length;
      if (n > max) {
        body.destroy();
        return undefined;
      }
      chunks.push(chunk as Buffer);
    }
  } catch {
    // cut short: what came is judged as it is
  }
  return Buffer.concat(chunks);
}

/**
 * A token service's answer: a 401/403 is `refused(status)`; anything but a JSON object
 * with a usable token under 1 MiB is a protocol error saying which. The token is renewed
 * a little before its `expires_in` (60 s when absent, the spec's default).
 */
export async function readTokenAnswer(o: { remote: string; request: string; reply: Reply; sentAt: number; refused: (status: number) => RemoteAuthError }): Promise<Result<Token, RemoteAuthError | RemoteProtocolError>> {
  const { status, headers } = o.reply;
  const bytes = await readCapped(o.reply.body, headers, MAX_TOKEN_ANSWER);
  if (status === 401 || status === 403) return err(o.refused(status));
  if (!bytes) return err(new RemoteProtocolError(o.remote, o.request, status, `the answer is more than ${MAX_TOKEN_ANSWER >> 10} KiB, which no token answer is; it was not read`));
  const text = bytes.toString('utf8');
  if (status !== 200) return err(new RemoteProtocolError(o.remote, o.request, status, text.trim()));
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    const type = header(headers, 'content-type') ?? 'no content type';
    return err(new RemoteProtocolError(o.remote, o.request, status, `the answer is not JSON (${type}): ${JSON.stringify(text.trim().slice(0, 80))}; is the realm the registry names a token service?`));
  }
  const d = (typeof doc === 'object' && doc !== null ? doc : {}) as { token?: unknown; access_token?: unknown; expires_in?: unknown };
  // `token` is the spec's; `access_token` is OAuth 2's, which the spec accepts too.
  const token = typeof d.token === 'string' && d.token !== '' ? d.token : d.access_token;
  if (typeof token !== 'string' || token === '' || /[\s,"]/.test(token)) return err(new RemoteProtocolError(o.remote, o.request, status, 'the answer has no usable token (neither "token" nor "access_token" is a non-empty string)'));
  // the clock is ours, from when we asked, not the token service's issued_at, so a server
  // whose clock is off neither keeps a stale token alive nor makes every request fetch a
  // new one. A token is renewed a tenth of its life (at most 30 s) before it ends.
  const lifetime = typeof d.expires_in === 'number' && Number.isFinite(d.expires_in) && d.expires_in > 0 ? d.expires_in * 1000 : 60_000;
  return ok({ value: token, refreshAt: o.sentAt + lifetime - Math.min(30_000, lifetime / 10) });
}
