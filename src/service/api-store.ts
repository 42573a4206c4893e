import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { normalizeName } from '../metadata/names.js';
import type { BuildRecord } from '../store/records.js';
import type { Store } from '../store/store.js';
import { sendError } from './auth.js';
import { NoQuery, PackageName } from './api-schemas.js';
import { NotFoundError, ServiceError } from './errors.js';
import { packageHistory } from './package-history.js';
import type { StoreScan } from './store-scan.js';

// Read-only views of the server's content store, for the dashboard and for people:
// its size and records, one build record, one blob, and a package's builds over time
// with what changed each time. Nothing here writes to the store.

class StoreReadError extends ServiceError {
  readonly code = 'E_STORE_READ';
  readonly status = 503;
}

const Digest = Type.String({ pattern: '^sha256:[0-9a-f]{64}$' });
const BlobParams = Type.Object({ digest: Digest }, { additionalProperties: false });
const BlobQuery = Type.Object({ type: Type.Optional(Type.Union([Type.Literal('json'), Type.Literal('text')])) }, { additionalProperties: false });
const BuildParams = Type.Object({ key: Digest }, { additionalProperties: false });
const NameParams = Type.Object({ name: PackageName }, { additionalProperties: false });

/** Record counts are a walk of the index (which builds also need): one walk serves callers for a while. */
const COUNTS_EVERY_MS = 10_000;
/** A package's history shows its newest builds, at most this many. */
const HISTORY_LIMIT = 200;

const PREFIX = '/api/v1';

/** The remote's URL without any user or password in it. */
export function shownRemote(url: string | undefined): string | undefined {
  if (!url) return undefined;
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    return u.toString();
  } catch {
    return '(not a URL)';
  }
}

export function storeRoutes(o: {
  app: FastifyInstance;
  store: Store;
  scan: StoreScan;
  /** the store's OCI-registry remote as the server's environment names it (WELD_STORE_REMOTE), if any */
  remote: string | undefined;
  read: (req: FastifyRequest, reply: FastifyReply) => Promise<unknown>;
}): void {
  const { app, store } = o;
  let counts: { at: number; value: Record<string, number> } | undefined;

  app.get(`${PREFIX}/store`, { schema: { querystring: NoQuery }, preHandler: o.read }, async (_req, reply) => {
    const size = await o.scan.size();
    if (!counts || Date.now() - counts.at > COUNTS_EVERY_MS) {
      const c = await store.withIndex('count records', (s) => s.counts());
      if (!c.ok) return sendError(reply, new StoreReadError(`cannot read the store's index: ${c.error.message}`, 'try again shortly'));
      counts = { at: Date.now(), value: c.value };
    }
    const { broken, ...records } = counts.value;
    const remote = shownRemote(o.remote);
    return { path: store.path, blobs: size.blobs, bytes: size.bytes, countedAt: new Date(size.at).toISOString(), records, brokenRecords: broken ?? 0, remote: remote ? { url: remote } : null };
  });

  app.get(`${PREFIX}/store/builds/:key`, { schema: { params: BuildParams, querystring: NoQuery }, preHandler: o.read }, async (req, reply) => {
    const { key } = req.params as { key: string };
    const r = await store.getRecord('build', key);
    if (!r.ok) return sendError(reply, new StoreReadError(`cannot read build ${key}: ${r.error.message}`));
    if (!r.value) return sendError(reply, new NotFoundError(`no build record ${key} in this server's store`));
    return { ...r.value.data, ...(r.value.broken ? { broken: r.value.broken } : {}) };
  });

  app.get(`${PREFIX}/store/blobs/:digest`, { schema: { params: BlobParams, querystring: BlobQuery }, preHandler: o.read }, async (req, reply) => {
    const { digest } = req.params as { digest: string };
    const { type } = req.query as { type?: 'json' | 'text' };
    if (req.headers['if-none-match'] === `"${digest}"`) return reply.code(304).send();
    const st = await store.stat(digest as `sha256:${string}`);
    if (!st.ok) return sendError(reply, new NotFoundError(`no blob ${digest} in this server's store`));
    const blob = await store.get(digest as `sha256:${string}`);
    if (!blob.ok) return sendError(reply, new NotFoundError(`no blob ${digest} in this server's store`));
    // A blob is whatever a build wrote: never let a browser run it as a page.
    return reply
      .header('content-type', type === 'json' ? 'application/json; charset=utf-8' : type === 'text' ? 'text/plain; charset=utf-8' : 'application/octet-stream')
      .header('content-length', String(st.value.size))
      .header('x-content-type-options', 'nosniff')
      .header('content-security-policy', "default-src 'none'; sandbox")
      .header('cache-control', 'public, max-age=31536000, immutable')
      .header('etag', `"${digest}"`)
      .send(blob.value);
  });

  app.get(`${PREFIX}/packages/:name/builds`, { schema: { params: NameParams, querystring: NoQuery }, preHandler: o.read }, async (req, reply) => {
    const name = normalizeName((req.params as { name: string }).name);
    const r = await store.withIndex('read a package history', async (s) => {
      const keys = await s.buildsOf(name);
      const out: Array<{ record: BuildRecord; broken: boolean }> = [];
      for (const key of keys) {
        const rec = await s.get('build', key);
        if (rec.ok && rec.value) out.push({ record: rec.value.data, broken: rec.value.broken !== undefined });
      }
      return out;
    });
    if (!r.ok) return sendError(reply, new StoreReadError(`cannot read the store's index: ${r.error.message}`, 'try again shortly'));
    const builds = packageHistory(r.value);
    return { package: name, total: builds.length, builds: builds.slice(0, HISTORY_LIMIT) };
  });
}
