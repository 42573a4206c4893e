import { Type, type Static } from '@sinclair/typebox';

// The API's request shapes, as JSON schema (typebox): fastify validates every request
// against them before a handler runs, and unknown fields are refused, not dropped.

/** A package name as metadata spells it (PEP 508): no "/", no "..", nothing a path could use. */
export const PackageName = Type.String({ pattern: '^[A-Za-z0-9](?:[A-Za-z0-9_-]|\\.(?!\\.)){0,99}$', maxLength: 100 });
/** A compose name (metadata's simple names). */
export const ComposeName = Type.String({ pattern: '^[a-z0-9](?:[a-z0-9_-]|\\.(?!\\.)){0,63}$', maxLength: 64 });
/** A ULID (ids.ts). */
export const JobId = Type.String({ pattern: '^[0-7][0-9A-HJKMNP-TV-Z]{25}$' });

export const SubmitBody = Type.Object(
  {
    repository: Type.String({ minLength: 1, maxLength: 1000 }),
    ref: Type.String({ minLength: 1, maxLength: 255 }),
    packages: Type.Optional(Type.Array(PackageName, { maxItems: 10_000 })),
    all: Type.Optional(Type.Boolean()),
    composes: Type.Optional(Type.Array(ComposeName, { maxItems: 100 })),
    jobs: Type.Optional(Type.Integer({ minimum: 1, maximum: 256 })),
    /** the [[target]]s to build (as `weld build --target`); default every target */
    targets: Type.Optional(Type.Array(Type.String({ pattern: '^[a-z0-9][a-z0-9._-]{0,62}$', maxLength: 63 }), { maxItems: 64 })),
    /** labels every build backend of this job must have (as `weld build --backend-selector`) */
    selector: Type.Optional(Type.Record(Type.String({ maxLength: 63 }), Type.String({ maxLength: 63 }), { maxProperties: 32 })),
  },
  { additionalProperties: false },
);
export type SubmitBody = Static<typeof SubmitBody>;

export const PatchBody = Type.Object({ state: Type.Literal('failed') }, { additionalProperties: false });

export const JobParams = Type.Object({ id: JobId }, { additionalProperties: false });
/** A package of a job: its name, or `<name>@<target>` in a distro with several targets. */
export const JobPackageKey = Type.String({ pattern: '^[A-Za-z0-9](?:[A-Za-z0-9_-]|\\.(?!\\.)){0,99}(?:@[a-z0-9][a-z0-9._-]{0,62})?$', maxLength: 164 });
export const PackageParams = Type.Object({ id: JobId, name: JobPackageKey }, { additionalProperties: false });

const Query = Type.Union([Type.String({ maxLength: 1000 }), Type.Array(Type.String({ maxLength: 1000 }), { maxItems: 20 })]);
export const ListQuery = Type.Object(
  {
    state: Type.Optional(Query),
    package: Type.Optional(Type.String({ maxLength: 100 })),
    repository: Type.Optional(Type.String({ maxLength: 1000 })),
    submitter: Type.Optional(Type.String({ maxLength: 64 })),
    submitted_before: Type.Optional(Type.String({ maxLength: 40 })),
    submitted_after: Type.Optional(Type.String({ maxLength: 40 })),
    page: Type.Optional(Type.String({ pattern: '^[1-9][0-9]{0,6}$' })),
    per_page: Type.Optional(Type.String({ pattern: '^[1-9][0-9]{0,2}$' })),
  },
  { additionalProperties: false },
);
export type ListQuery = Static<typeof ListQuery>;

export const NoQuery = Type.Object({}, { additionalProperties: false });

/** POST /backends: one backend as the backends file has it (config.ts checks the values). */
export const BackendBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 63 }),
    url: Type.String({ minLength: 1, maxLength: 300 }),
    arch: Type.String({ minLength: 1, maxLength: 16 }),
    labels: Type.Optional(Type.Record(Type.String({ maxLength: 63 }), Type.String({ maxLength: 63 }), { maxProperties: 32 })),
    maxJobs: Type.Optional(Type.Integer({ minimum: 1, maximum: 256 })),
    /** ssh:// only: the path of a private key on the server's host */
    identity: Type.Optional(Type.String({ minLength: 1, maxLength: 1024 })),
  },
  { additionalProperties: false },
);
export type BackendBody = Static<typeof BackendBody>;
export const BackendParams = Type.Object({ name: Type.String({ maxLength: 63 }) }, { additionalProperties: false });
