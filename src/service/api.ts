import { randomBytes } from 'node:crypto';
import { open, realpath } from 'node:fs/promises';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { backendRoutes, type BackendsApi } from './api-backends.js';
import { callerOf, sendError } from './auth.js';
import { JobParams, ListQuery, NoQuery, PackageParams, PatchBody, SubmitBody } from './api-schemas.js';
import { BadRequestError, NotFoundError, ServiceError } from './errors.js';
import { JOB_STATES, type Job, type JobState } from './job.js';
import type { JobStore } from './job-store.js';
import { statusOf, type JobService } from './jobs.js';
import type { ServiceMetrics } from './metrics.js';
import { normaliseRepository } from './sources.js';
import { followEvents, followLog, lastEventId, startSse } from './sse.js';
import type { Caller, Role, TokenBook } from './tokens.js';

// The REST API (/api/v1, JSON; errors as {"error": {code, message, …}}), the live logs and
// the wheelhouses the jobs composed. Handlers are thin: the schema has checked the shape,
// the job service decides.

export interface ApiOptions {
  jobs: JobService;
  jobStore: JobStore;
  tokens: TokenBook;
  metrics: ServiceMetrics;
  read: 'open' | 'token';
  maxBody: number;
  /** SSE streams open at once; more get 503 (each holds a socket and a bus listener) */
  maxStreams: number;
  about: () => Record<string, unknown>;
  https?: { cert: Buffer; key: Buffer };
  log: (fields: Record<string, unknown>) => void;
  /** the build backends: GET/POST /backends, DELETE /backends/{name} */
  backends?: BackendsApi;
}

const PREFIX = '/api/v1';
const PER_PAGE = 20;

class TooManyStreamsError extends ServiceError {
  readonly code = 'E_TOO_MANY_STREAMS';
  readonly status = 503;
}

class BodyTooLargeError extends ServiceError {
  readonly code = 'E_BODY_TOO_LARGE';
  readonly status = 413;
}

export function buildApi(o: ApiOptions): FastifyInstance {
  const app = Fastify({
    bodyLimit: o.maxBody,
    logger: false,
    forceCloseConnections: true,
    return503OnClosing: true,
    // Unknown fields are an error, not dropped, and a string is not a number.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: false } },
    ...(o.https ? { https: o.https } : {}),
  }).withTypeProvider<TypeBoxTypeProvider>();

  app.addHook('onResponse', async (req, reply) => {
    o.metrics.onRequest({ method: req.method, route: req.routeOptions.url ?? 'unmatched', status: reply.statusCode, seconds: reply.elapsedTime / 1000 });
  });
  const boot = randomBytes(6).toString('hex');
  // GET /jobs/{id} is what CI polls: the JSON of a job is made once per change of it.
  const viewCache = new Map<string, { version: number; body: string }>();
  const viewJson = (job: Job): string => {
    const version = o.jobStore.version(job.id);
    const hit = viewCache.get(job.id);
    if (hit && hit.version === version) return hit.body;
    const body = JSON.stringify(jobView(job));
    viewCache.set(job.id, { version, body });
    return body;
  };

  app.setErrorHandler((error: Error & { validation?: Array<{ instancePath: string; message?: string; params?: Record<string, unknown> }>; validationContext?: string; code?: string; statusCode?: number }, req, reply) => {
    if (error.validation) {
      const v = error.validation[0];
      const where = error.validationContext ?? 'request';
      const extra = v?.params?.['additionalProperty'] ?? v?.params?.['missingProperty'];
      const field = [where === 'body' ? '' : where, ...(v?.instancePath ?? '').split('/').filter(Boolean), ...(typeof extra === 'string' ? [extra] : [])].filter(Boolean).join('.');
      const what = v?.params?.['additionalProperty'] !== undefined ? `unknown field "${String(extra)}"` : `${field || where} ${v?.message ?? 'is not valid'}`;
      return sendError(reply, new BadRequestError(`${req.method} ${req.routeOptions.url ?? req.url}: ${what}`, field || where), 400);
    }
    if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return sendError(reply, new BodyTooLargeError(`the request body is over the limit of ${o.maxBody} bytes`));
    if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) return sendError(reply, new BadRequestError(error.message), error.statusCode);
    o.log({ msg: 'internal error', method: req.method, url: req.url, error: error.stack ?? error.message });
    return sendError(reply, new InternalError('internal error; the server log has the details'), 500);
  });
  app.setNotFoundHandler((req, reply) => sendError(reply, new NotFoundError(`no route ${req.method} ${req.url.split('?')[0]}`, `the API is under ${PREFIX}; see GET ${PREFIX}/about`)));

  const guard = (need: Role | 'read') => async (req: FastifyRequest, reply: FastifyReply) => {
    if (need === 'read' && o.read === 'open') return;
    const c = callerOf({ tokens: o.tokens, req, need });
    if (!c.ok) return sendError(reply, c.error);
    (req as FastifyRequest & { caller?: Caller }).caller = c.caller;
  };
  const callerIn = (req: FastifyRequest) => (req as FastifyRequest & { caller?: Caller }).caller!;
  const findJob = (id: string): Job | ServiceError => o.jobStore.get(id) ?? new NotFoundError(`no job ${id}`, `list jobs with GET ${PREFIX}/jobs`);
  let streams = 0;
  /** Takes over the response for an SSE stream, or answers 503 when too many are open. */
  const openStream = (reply: FastifyReply): boolean => {
    if (streams >= o.maxStreams) {
      void sendError(reply, new TooManyStreamsError(`${streams} live streams are open, the server's limit (max_streams)`, 'try again shortly, or poll GET /jobs/{id}'));
      return false;
    }
    streams++;
    reply.raw.once('close', () => streams--);
    reply.hijack();
    startSse(reply.raw);
    return true;
  };
  const wantsSse = (req: FastifyRequest) => (req.headers.accept ?? '').split(',').some((t) => t.trim().startsWith('text/event-stream'));

  const health = async (_req: FastifyRequest, reply: FastifyReply) => (o.jobs.isDraining ? reply.code(503).send({ status: 'draining' }) : { status: 'ok' });
  app.get('/healthz', health);
  app.get(`${PREFIX}/healthz`, health);
  app.get(`${PREFIX}/about`, { preHandler: guard('read') }, async () => o.about());
  const metrics = async (_req: FastifyRequest, reply: FastifyReply) => reply.type(o.metrics.registry.contentType).send(await o.metrics.registry.metrics());
  app.get('/metrics', { preHandler: guard('read') }, metrics);
  app.get(`${PREFIX}/metrics`, { preHandler: guard('read') }, metrics);

  if (o.backends) backendRoutes({ app, prefix: PREFIX, backends: o.backends, guard });

  app.post(`${PREFIX}/jobs`, { schema: { body: SubmitBody, querystring: NoQuery }, preHandler: guard('submit') }, async (req, reply) => {
    const r = await o.jobs.submit(req.body, callerIn(req));
    if (!r.ok) return sendError(reply, r.error, statusOf(r.error));
    return reply.code(201).header('location', `${PREFIX}/jobs/${r.value.id}`).send(jobView(r.value));
  });

  app.get(`${PREFIX}/jobs`, { schema: { querystring: ListQuery }, preHandler: guard('read') }, async (req, reply) => {
    const listed = listJobs({ jobStore: o.jobStore, query: req.query });
    if (!listed.ok) return sendError(reply, listed.error);
    const { jobs, total, page, perPage } = listed.value;
    const link = (p: number) => {
      const q = new URLSearchParams(req.url.split('?')[1] ?? '');
      q.set('page', String(p));
      q.set('per_page', String(perPage));
      return `${PREFIX}/jobs?${q.toString()}`;
    };
    const links = { ...(page * perPage < total ? { next: link(page + 1) } : {}), ...(page > 1 ? { prev: link(page - 1) } : {}) };
    const header = Object.entries(links).map(([rel, url]) => `<${url}>; rel="${rel}"`).join(', ');
    if (header) reply.header('link', header);
    return { jobs: jobs.map(jobSummary), total, page, per_page: perPage, links };
  });

  app.get(`${PREFIX}/jobs/:id`, { schema: { params: JobParams, querystring: NoQuery }, preHandler: guard('read') }, async (req, reply) => {
    const job = findJob(req.params.id);
    if (job instanceof ServiceError) return sendError(reply, job);
    // A poller that sends back the ETag gets 304 until the job changes: a 1,000-package
    // job is a quarter of a megabyte of JSON. Versions count from 0 in each process,
    // so the ETag names the process too.
    const etag = `"${job.id}.${boot}.${o.jobStore.version(job.id)}"`;
    reply.header('etag', etag).header('cache-control', 'no-cache');
    if (req.headers['if-none-match'] === etag) return reply.code(304).send();
    return reply.type('application/json; charset=utf-8').send(viewJson(job));
  });

  app.get(`${PREFIX}/jobs/:id/packages/:name`, { schema: { params: PackageParams, querystring: NoQuery }, preHandler: guard('read') }, async (req, reply) => {
    const job = findJob(req.params.id);
    if (job instanceof ServiceError) return sendError(reply, job);
    const status = job.packageStates[req.params.name];
    if (!status) return sendError(reply, new NotFoundError(`job ${job.id} builds no package "${req.params.name}"`, `its packages: ${Object.keys(job.packageStates).join(', ')}`));
    return { job: job.id, package: req.params.name, ...status, log: `${PREFIX}/jobs/${job.id}/packages/${req.params.name}/log` };
  });

  // Shared by two routes, so typed by hand: both schemas checked the params.
  const cancel = async (req: FastifyRequest, reply: FastifyReply) => {
    const r = o.jobs.cancel((req.params as { id: string }).id, callerIn(req));
    if (!r.ok) return sendError(reply, r.error);
    return reply.code(202).send(jobView(r.value));
  };
  app.post(`${PREFIX}/jobs/:id/cancel`, { schema: { params: JobParams, querystring: NoQuery }, preHandler: guard('submit') }, cancel);
  app.patch(`${PREFIX}/jobs/:id`, { schema: { params: JobParams, body: PatchBody, querystring: NoQuery }, preHandler: guard('submit') }, cancel);

  const log = async (req: FastifyRequest, reply: FastifyReply) => {
    const params = req.params as { id: string; name?: string };
    const job = findJob(params.id);
    if (job instanceof ServiceError) return sendError(reply, job);
    const pkg = params.name;
    if (pkg !== undefined && !job.packageStates[pkg]) return sendError(reply, new NotFoundError(`job ${job.id} builds no package "${pkg}"`));
    if (wantsSse(req)) {
      if (!openStream(reply)) return reply;
      const after = lastEventId(req.headers['last-event-id']);
      await followLog({ res: reply.raw, bus: o.jobs.bus, jobStore: o.jobStore, job, ...(pkg !== undefined ? { pkg } : {}), ...(after !== undefined ? { after } : {}) });
      return reply;
    }
    const lines = await o.jobStore.readLog({ id: job.id, ...(pkg !== undefined ? { pkg } : {}) });
    const text = lines.map((l) => (pkg === undefined && l.pkg !== undefined ? `[${l.pkg}] ${l.text}` : l.text)).join('\n');
    return reply.type('text/plain; charset=utf-8').send(text ? text + '\n' : '');
  };
  app.get(`${PREFIX}/jobs/:id/log`, { schema: { params: JobParams, querystring: NoQuery }, preHandler: guard('read') }, log);
  app.get(`${PREFIX}/jobs/:id/packages/:name/log`, { schema: { params: PackageParams, querystring: NoQuery }, preHandler: guard('read') }, log);

  app.get(`${PREFIX}/events`, { preHandler: guard('read') }, async (req, reply) => {
    const q = req.query as Record<string, unknown>;
    const unknown = Object.keys(q).filter((k) => k !== 'logs' && k !== 'job');
    if (unknown.length) return sendError(reply, new BadRequestError(`unknown query parameter "${unknown[0]}" (known: logs, job)`, unknown[0]));
    if (!openStream(reply)) return reply;
    followEvents({ res: reply.raw, bus: o.jobs.bus, logs: q['logs'] === '1' || q['logs'] === 'true', ...(typeof q['job'] === 'string' ? { job: q['job'] } : {}) });
    return reply;
  });

  // The wheelhouses jobs composed, for pip: /wheelhouses/<job>/<compose>/simple/…
  app.get('/wheelhouses/:id/:compose/*', { preHandler: guard('read') }, async (req, reply) => {
    const { id, compose } = req.params as { id: string; compose: string; '*': string };
    const job = o.jobStore.get(id);
    const composed = job?.composed[compose];
    if (!job || !composed || !Object.hasOwn(job.composed, compose) || composed.kind === 'image') return sendError(reply, new NotFoundError(`no wheelhouse ${compose} of job ${id}`));
    const root = await realpath(composed.dir).catch(() => undefined);
    if (!root) return sendError(reply, new NotFoundError(`the wheelhouse ${compose} of job ${id} is gone from the server`));
    reply.hijack();
    const prefix = `/wheelhouses/${id}/${compose}`;
    await answerWheelhouse({ root, req, reply, url: req.url.slice(req.url.indexOf(prefix) + prefix.length) || '/', prefix });
    return reply;
  });

  // The images jobs composed, as the OCI archives `podman load` takes: /images/<job>/<compose>.oci.tar
  app.get('/images/:id/:file', { preHandler: guard('read') }, async (req, reply) => {
    const { id, file } = req.params as { id: string; file: string };
    const compose = file.endsWith('.oci.tar') ? file.slice(0, -'.oci.tar'.length) : '';
    const job = o.jobStore.get(id);
    const composed = job && Object.hasOwn(job.composed, compose) ? job.composed[compose] : undefined;
    if (!job || composed?.kind !== 'image') return sendError(reply, new NotFoundError(`no image ${compose || file} of job ${id}`, 'images are at /images/<job>/<compose>.oci.tar'));
    const handle = await open(composed.dir, 'r').catch(() => undefined);
    if (!handle) return sendError(reply, new NotFoundError(`the image ${compose} of job ${id} is gone from the server`));
    const size = (await handle.stat()).size;
    // Named by its manifest digest, so its bytes never change: cache it for good.
    return reply
      .type('application/x-tar')
      .header('content-length', size)
      .header('etag', `"${composed.manifest}"`)
      .header('cache-control', 'public, max-age=31536000, immutable')
      .header('content-disposition', `attachment; filename="${compose}.oci.tar"`)
      .send(handle.createReadStream());
  });

  return app;
}

async function answerWheelhouse(o: { root: string; req: FastifyRequest; reply: FastifyReply; url: string; prefix: string }): Promise<void> {
  const { answerWheelhouseRequest } = await import('../compose/wheelhouse/serve.js');
  await answerWheelhouseRequest({ root: o.root, req: o.req.raw, res: o.reply.raw, url: o.url, prefix: o.prefix });
}

class InternalError extends ServiceError {
  readonly code = 'E_INTERNAL';
  readonly status = 500;
}

/** The whole job, as GET /jobs/{id} answers it. */
export function jobView(job: Job): Record<string, unknown> {
  return { ...job, links: { self: `${PREFIX}/jobs/${job.id}`, log: `${PREFIX}/jobs/${job.id}/log`, ...composeLinks(job) } };
}

function composeLinks(job: Job): Record<string, string> {
  return Object.fromEntries(Object.entries(job.composed).map(([c, out]) => (out.kind === 'image' ? [`image:${c}`, `/images/${job.id}/${c}.oci.tar`] : [`wheelhouse:${c}`, `/wheelhouses/${job.id}/${c}/simple/`])));
}

/** One row of GET /jobs: the job without its per-package detail, with counts. */
export function jobSummary(job: Job): Record<string, unknown> {
  const counts: Record<string, number> = {};
  for (const s of Object.values(job.packageStates)) counts[s.state] = (counts[s.state] ?? 0) + 1;
  const { packageStates: _p, transitions, ...rest } = job;
  return { ...rest, reason: transitions[transitions.length - 1]?.reason, packageCounts: counts, links: { self: `${PREFIX}/jobs/${job.id}` } };
}

function timeParam(name: string, v: string | undefined): number | undefined | BadRequestError {
  if (v === undefined) return undefined;
  const t = /^\d{1,15}$/.test(v) ? Number(v) : Date.parse(v);
  if (Number.isNaN(t)) return new BadRequestError(`${name} "${v}" is neither an ISO 8601 time nor milliseconds since the epoch`, name);
  return t;
}

export function listJobs(o: { jobStore: JobStore; query: ListQuery }): { ok: true; value: { jobs: Job[]; total: number; page: number; perPage: number } } | { ok: false; error: BadRequestError } {
  const q = o.query;
  const states = q.state === undefined ? [] : Array.isArray(q.state) ? q.state : [q.state];
  const badState = states.find((s) => !(JOB_STATES as readonly string[]).includes(s));
  if (badState !== undefined) return { ok: false, error: new BadRequestError(`state "${badState}" is not one of ${JOB_STATES.join(', ')}`, 'state') };
  const before = timeParam('submitted_before', q.submitted_before);
  const after = timeParam('submitted_after', q.submitted_after);
  if (before instanceof BadRequestError) return { ok: false, error: before };
  if (after instanceof BadRequestError) return { ok: false, error: after };
  let repository: string | undefined;
  if (q.repository !== undefined) {
    const r = normaliseRepository(q.repository);
    if (!r.ok) return { ok: false, error: r.error };
    repository = r.value;
  }
  const perPage = q.per_page === undefined ? PER_PAGE : Number(q.per_page);
  if (perPage > 100) return { ok: false, error: new BadRequestError('per_page is at most 100', 'per_page') };
  const page = q.page === undefined ? 1 : Number(q.page);
  const wanted = new Set(states as JobState[]);
  const matching = o.jobStore.all().filter(
    (j) =>
      (wanted.size === 0 || wanted.has(j.state)) &&
      (q.package === undefined || Object.hasOwn(j.packageStates, q.package)) &&
      (repository === undefined || j.repository === repository) &&
      (q.submitter === undefined || j.submitter === q.submitter) &&
      (before === undefined || j.submittedAt < before) &&
      (after === undefined || j.submittedAt > after),
  );
  return { ok: true, value: { jobs: matching.slice((page - 1) * perPage, page * perPage), total: matching.length, page, perPage } };
}
