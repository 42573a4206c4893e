import type { FastifyReply, FastifyRequest } from 'fastify';
import { ForbiddenError, UnauthorizedError, type ServiceError } from './errors.js';
import type { Caller, Role, TokenBook } from './tokens.js';

// Who is calling, from `Authorization: Bearer …`. Once any token exists every mutating
// call needs a valid one (and reads too with read = "token"); before that a loopback-only
// server takes calls as "local" with admin rights (the server refuses to listen beyond
// loopback without tokens).

const LOCAL: Caller = { name: 'local', role: 'admin' };

const WHY = {
  missing: 'this call needs a token: send Authorization: Bearer <token>',
  malformed: 'the Authorization header is not "Bearer <token>"',
  unknown: 'the token is not one this server knows',
  revoked: 'the token was revoked',
} as const;

export function callerOf(o: { tokens: TokenBook; req: FastifyRequest; need: Role | 'read' | 'none' }): { ok: true; caller: Caller } | { ok: false; error: ServiceError } {
  if (o.need === 'none') return { ok: true, caller: LOCAL };
  if (!o.tokens.enforced()) return { ok: true, caller: LOCAL };
  const a = o.tokens.authenticate(o.req.headers.authorization);
  if (!a.ok) return { ok: false, error: new UnauthorizedError(WHY[a.why], a.why === 'missing' ? 'ask the server admin for a token (weld server token add NAME --role submit) and pass it in WELD_TOKEN' : undefined) };
  if (o.need === 'admin' && a.caller.role !== 'admin') return { ok: false, error: new ForbiddenError(`token "${a.caller.name}" has role ${a.caller.role}; this call needs admin`) };
  return { ok: true, caller: a.caller };
}

export function sendError(reply: FastifyReply, e: { status?: number; toJSON(): Record<string, unknown> }, status?: number): FastifyReply {
  const code = status ?? e.status ?? 500;
  if (code === 401) reply.header('www-authenticate', 'Bearer realm="weld"');
  return reply.code(code).type('application/json').send({ error: e.toJSON() });
}
