/** One wheel as the index lists it. */
export interface IndexFile {
  /** PEP 503 normalised project name */
  project: string;
  version: string;
  file: string;
  /** hex sha256 of the wheel */
  sha256: string;
  size: number;
  requiresPython?: string;
  /** hex sha256 of the PEP 658 `<file>.metadata` */
  metadataSha256: string;
}

// PEP 691 1.0 plus PEP 700 (1.1): `versions` and `size` are required from 1.1 on.
//
// PEP 658 metadata is announced only under its PEP 714 name (data-core-metadata,
// "core-metadata"), never the older dist-info-metadata: pip 23.0 (Debian bookworm's) reads
// only the old name and then breaks — the JSON form's hash dict crashes it ("unhashable
// type: 'dict'") and it rejects a METADATA Name that differs in case from the request
// ("inconsistent Name: expected 'jinja2', but metadata has 'Jinja2'"). Found by the e2e test
// with the runtime image's pip; pips that know PEP 714 (23.3+) use the metadata files.
export const API_VERSION = '1.1';
export const JSON_TYPE = 'application/vnd.pypi.simple.v1+json';

/** Where a project page links its wheels: pages live at simple/<project>/, wheels at wheels/. */
const wheelUrl = (file: string) => `../../wheels/${encodeURIComponent(file)}`;

/**
 * Every page of the simple index, path (relative to the wheelhouse) → text: the PEP 503
 * HTML and the PEP 691 JSON of the root and of each project. Deterministic: projects and
 * files sorted, no dates.
 */
export function renderIndex(files: IndexFile[]): Map<string, string> {
  const byProject = new Map<string, IndexFile[]>();
  for (const f of [...files].sort((a, b) => cmp(a.file, b.file))) byProject.set(f.project, [...(byProject.get(f.project) ?? []), f]);
  const projects = [...byProject.keys()].sort(cmp);
  const pages = new Map<string, string>();
  pages.set('simple/index.html', html('Simple index', projects.map((p) => `<a href="${esc(p)}/">${esc(p)}</a>`)));
  pages.set('simple/index.json', jsonText({ meta: { 'api-version': API_VERSION }, projects: projects.map((name) => ({ name })) }));
  for (const p of projects) {
    const fs = byProject.get(p)!;
    const links = fs.map((f) => {
      const attrs = [`href="${esc(`${wheelUrl(f.file)}#sha256=${f.sha256}`)}"`];
      if (f.requiresPython) attrs.push(`data-requires-python="${esc(f.requiresPython)}"`);
      attrs.push(`data-core-metadata="sha256=${f.metadataSha256}"`);
      return `<a ${attrs.join(' ')}>${esc(f.file)}</a>`;
    });
    pages.set(`simple/${p}/index.html`, html(`Links for ${p}`, links));
    pages.set(
      `simple/${p}/index.json`,
      jsonText({
        meta: { 'api-version': API_VERSION },
        name: p,
        versions: [...new Set(fs.map((f) => f.version))].sort(cmp),
        files: fs.map((f) => ({
          filename: f.file,
          url: wheelUrl(f.file),
          hashes: { sha256: f.sha256 },
          ...(f.requiresPython ? { 'requires-python': f.requiresPython } : {}),
          'core-metadata': { sha256: f.metadataSha256 },
          size: f.size,
        })),
      }),
    );
  }
  return pages;
}

function html(title: string, links: string[]): string {
  return [
    '<!DOCTYPE html>',
    '<html>',
    '  <head>',
    `    <meta name="pypi:repository-version" content="${API_VERSION}">`,
    `    <title>${esc(title)}</title>`,
    '  </head>',
    '  <body>',
    `    <h1>${esc(title)}</h1>`,
    ...links.map((l) => `    ${l}<br>`),
    '  </body>',
    '</html>',
    '',
  ].join('\n');
}

export function jsonText(v: unknown): string {
  return JSON.stringify(v, null, 2) + '\n';
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

/** Code-unit order: the same on every machine, unlike localeCompare. */
export function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
