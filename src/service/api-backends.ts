import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { identityFileProblem } from '../podman/ssh.js';
import { backendProblems, writeBackendsFile } from '../runner/backends/config.js';
import type { BackendPool } from '../runner/backends/pool.js';
import { BackendBody, BackendParams, NoQuery } from './api-schemas.js';
import { sendError } from './auth.js';
import { BadRequestError, NotFoundError, ServiceError } from './errors.js';
import type { Role } from './tokens.js';

// The build backends over the API (as melange-server's): list them with their load and
// health, add and remove them. A change is written to the backends file first (tmp +
// rename) and takes effect in the pool only once it is on disk, so a restart sees what
// the API said.

export interface BackendsApi {
  pool: BackendPool;
  /** the backends file the server keeps them in */
  file: string;
}

class BackendExistsError extends ServiceError {
  readonly code = 'E_BACKEND_EXISTS';
  readonly status = 409;
}

class BackendsFileWriteError extends ServiceError {
  readonly code = 'E_BACKENDS_FILE';
  readonly status = 500;
}

type Guard = (need: Role | 'read') => (req: FastifyRequest, reply: FastifyReply) => Promise<unknown>;

export function backendRoutes(o: { app: FastifyInstance; prefix: string; backends: BackendsApi; guard: Guard }): void {
  const app = o.app.withTypeProvider<TypeBoxTypeProvider>();
  const { pool, file } = o.backends;
  const url = `${o.prefix}/backends`;

  app.get(url, { schema: { querystring: NoQuery }, preHandler: o.guard('read') }, async () => ({ backends: pool.list() }));

  app.post(url, { schema: { body: BackendBody, querystring: NoQuery }, preHandler: o.guard('admin') }, async (req, reply) => {
    const b = req.body;
    const id = b.identity !== undefined ? { identity: b.identity } : {};
    const problems = backendProblems({ name: b.name, url: b.url, arch: b.arch, labels: b.labels ?? {}, maxJobs: b.maxJobs ?? 1, ...id });
    if (problems.length) return sendError(reply, new BadRequestError(`${b.name}: ${problems.join('; ')}`, 'backend'));
    // the key on this host, as it is now (each use checks it again); what is wrong is said, never what the file holds
    const keyProblem = b.identity !== undefined ? identityFileProblem(b.identity) : undefined;
    if (keyProblem) return sendError(reply, new BadRequestError(`${b.name}: ${keyProblem}`, 'identity'));
    if (pool.configs().some((c) => c.name === b.name)) return sendError(reply, new BackendExistsError(`there is a backend named "${b.name}" already`, `remove it first: DELETE ${url}/${b.name}`));
    const config = { name: b.name, url: b.url, arch: b.arch, labels: { ...(b.labels ?? {}) }, maxJobs: b.maxJobs ?? 1, ...id };
    const written = writeBackendsFile({ file, backends: [...pool.configs(), config] });
    if (!written.ok) return sendError(reply, new BackendsFileWriteError(written.error.message));
    pool.add(config);
    return reply.code(201).header('location', `${url}/${b.name}`).send({ backend: pool.list().find((s) => s.name === b.name) });
  });

  app.delete(`${url}/:name`, { schema: { params: BackendParams, querystring: NoQuery }, preHandler: o.guard('admin') }, async (req, reply) => {
    const name = req.params.name;
    if (!pool.configs().some((c) => c.name === name)) return sendError(reply, new NotFoundError(`no backend named "${name}"`, `list them with GET ${url}`));
    const written = writeBackendsFile({ file, backends: pool.configs().filter((c) => c.name !== name) });
    if (!written.ok) return sendError(reply, new BackendsFileWriteError(written.error.message));
    pool.remove(name);
    // builds running on it finish there; new ones go elsewhere
    return { removed: name };
  });
}
