import type { WeldError } from '../../core/errors.js';
import { err, ok, type Result } from '../../core/result.js';
import { debianMirrorFor } from '../../mirror/debian/apt-sources.js';
import { fetchSourcesIndex, unsafeEntryPath, upstreamVersion, type SourceEntry } from '../../mirror/debian/sources-index.js';
import { DebianSourceError } from '../../mirror/errors.js';
import { isPep440Version } from '../../metadata/names.js';
import type { Candidate, ProjectSource, SourceOffer } from '../candidate.js';
import { fetchBytes } from '../fetch.js';

export interface DebianSuite {
  suite: string;
  components: string[];
  /** not a builder env's suite: files taken from it say `suite = "…"` */
  otherSuite: boolean;
}

interface SuiteIndex {
  suite: DebianSuite;
  base: string;
  bySource: Map<string, SourceEntry[]>;
  /** binary package → the source stanzas that build it */
  byBinary: Map<string, SourceEntry[]>;
}

/**
 * The Debian source packages of the envs' suites, read from each suite's `Sources`
 * index at the host's archive (apt's sources or WELD_DEBIAN_MIRROR), the same way
 * `weld mirror` finds a `debian = …` upstream.
 */
export class DebianSource implements ProjectSource {
  readonly name: string;
  private loading: Promise<Result<SuiteIndex[], WeldError>> | undefined;

  constructor(private readonly opts: { suites: DebianSuite[]; env?: NodeJS.ProcessEnv; aptDir?: string }) {
    this.name = `debian ${opts.suites.map((s) => s.suite).join(', ')}`;
  }

  private load(): Promise<Result<SuiteIndex[], WeldError>> {
    return (this.loading ??= (async () => {
      // every suite's index at once: each is a download and an xz stream of tens of MB
      const loaded = await Promise.all(this.opts.suites.map((suite) => this.loadSuite(suite)));
      const out: SuiteIndex[] = [];
      for (const l of loaded) {
        if (!l.ok) return l;
        out.push(l.value);
      }
      return ok(out);
    })());
  }

  private async loadSuite(suite: DebianSuite): Promise<Result<SuiteIndex, WeldError>> {
    const base = debianMirrorFor({ suite: suite.suite, anyRelease: true, ...(this.opts.env ? { env: this.opts.env } : {}), ...(this.opts.aptDir ? { aptDir: this.opts.aptDir } : {}) });
    if (!base) return err(new DebianSourceError(`no Debian mirror for suite "${suite.suite}": apt has no source for it`, 'set WELD_DEBIAN_MIRROR to the archive root, or import with --sources index'));
    const bySource = new Map<string, SourceEntry[]>();
    const byBinary = new Map<string, SourceEntry[]>();
    for (const component of suite.components) {
      const got = await fetchSourcesIndex({ base, suite: suite.suite, component });
      if (!got.ok) return got;
      for (const [name, entries] of got.value) {
        bySource.set(name, [...(bySource.get(name) ?? []), ...entries]);
        for (const e of entries) for (const b of e.binaries) byBinary.set(b, [...(byBinary.get(b) ?? []), e]);
      }
    }
    return ok({ suite, base, bySource, byBinary });
  }

  /** The binary package names a Python project is packaged under, most likely first. */
  static binaryNames(key: string): string[] {
    const names = [`python3-${key}`];
    if (key.startsWith('python-')) names.push(`python3-${key.slice('python-'.length)}`);
    else if (key.startsWith('py') && key.length > 3) names.push(`python3-${key.slice(2)}`);
    return names;
  }

  async offer(key: string): Promise<Result<SourceOffer, WeldError>> {
    const loaded = await this.load();
    if (!loaded.ok) return loaded;
    const candidates: Candidate[] = [];
    const skipped: string[] = [];
    for (const idx of loaded.value) {
      // by the binary it builds; else a source named after the project that builds a python3-* (python-attrs builds python3-attr)
      const entries =
        DebianSource.binaryNames(key).map((b) => idx.byBinary.get(b) ?? []).find((e) => e.length > 0) ??
        [`python-${key}`, key].map((src) => (idx.bySource.get(src) ?? []).filter((e) => e.binaries.some((b) => b.startsWith('python3-')))).find((e) => e.length > 0) ??
        [];
      for (const e of entries) {
        const c = this.candidate(idx, e);
        if (c.ok) candidates.push(c.value);
        else skipped.push(`${idx.suite.suite} ${e.package} ${e.version}: ${c.why}`);
      }
    }
    return ok({ name: this.name, candidates, skipped });
  }

  /** The source package by its own name, for `weld import debian <source>`. */
  async bySource(source: string): Promise<Result<{ candidates: Candidate[]; skipped: string[]; binaries: string[] }, WeldError>> {
    const loaded = await this.load();
    if (!loaded.ok) return loaded;
    const candidates: Candidate[] = [];
    const skipped: string[] = [];
    const binaries = new Set<string>();
    for (const idx of loaded.value) {
      for (const e of idx.bySource.get(source) ?? []) {
        e.binaries.forEach((b) => binaries.add(b));
        const c = this.candidate(idx, e);
        if (c.ok) candidates.push(c.value);
        else skipped.push(`${idx.suite.suite} ${e.package} ${e.version}: ${c.why}`);
      }
    }
    return ok({ candidates, skipped, binaries: [...binaries].sort() });
  }

  /** The source stanza that builds a binary package (a `lib*-dev`, say), in the first suite that has it. */
  async sourceOfBinary(binary: string): Promise<Result<{ entry: SourceEntry; suite: DebianSuite; base: string } | undefined, WeldError>> {
    const loaded = await this.load();
    if (!loaded.ok) return loaded;
    for (const idx of loaded.value) {
      const e = idx.byBinary.get(binary)?.at(-1);
      if (e) return ok({ entry: e, suite: idx.suite, base: idx.base });
    }
    return ok(undefined);
  }

  /** The first source stanza named `source` across the suites, for Build-Depends of a project taken from elsewhere. */
  async entryFor(key: string): Promise<Result<SourceEntry | undefined, WeldError>> {
    const loaded = await this.load();
    if (!loaded.ok) return loaded;
    for (const idx of loaded.value) {
      const e = DebianSource.binaryNames(key).map((b) => idx.byBinary.get(b)?.at(-1)).find((x) => x !== undefined);
      if (e) return ok(e);
    }
    return ok(undefined);
  }

  private candidate(idx: SuiteIndex, e: SourceEntry): { ok: true; value: Candidate } | { ok: false; why: string } {
    const unsafe = unsafeEntryPath(e);
    if (unsafe) return { ok: false, why: `${unsafe.field} "${unsafe.value}" ${unsafe.why}` };
    const up = upstreamVersion(e.version);
    // `weld mirror` takes the Debian version whose upstream part is the package's
    // version or that followed by a repack suffix (+dfsg, +ds): so must the importer.
    const version = up.replace(/\+.*$/, '');
    if (!isPep440Version(version) || version.includes('~')) return { ok: false, why: `upstream version "${up}" is not a PEP 440 version` };
    const orig = origOf(e, up);
    if (!orig) return { ok: false, why: 'lists no source tarball' };
    return {
      ok: true,
      value: {
        version,
        sha256: orig.sha256,
        origin: { kind: 'debian', source: e.package, suite: idx.suite.suite, debianVersion: e.version, orig: orig.name, otherSuite: idx.suite.otherSuite, entry: e },
      },
    };
  }

  async fetch(c: Candidate): Promise<Result<Buffer, WeldError>> {
    if (c.origin.kind !== 'debian') throw new Error('bug: a Debian source asked for a non-Debian candidate');
    const loaded = await this.load();
    if (!loaded.ok) return loaded;
    const { suite, entry, orig } = c.origin;
    const idx = loaded.value.find((i) => i.suite.suite === suite)!;
    const got = await fetchBytes({ url: `${idx.base}/${entry.directory}/${orig}`, sha256: c.sha256 });
    return got.ok ? ok(got.value.bytes) : got;
  }

  /** Fetches any file of a stanza (a library's .orig for a new pack). */
  async fetchFile(opts: { base: string; entry: SourceEntry; name: string }): Promise<Result<Buffer, WeldError>> {
    const f = opts.entry.files.find((x) => x.name === opts.name);
    if (!f) return err(new DebianSourceError(`${opts.entry.package} ${opts.entry.version} lists no ${opts.name}`));
    const got = await fetchBytes({ url: `${opts.base}/${opts.entry.directory}/${f.name}`, sha256: f.sha256 });
    return got.ok ? ok(got.value.bytes) : got;
  }
}

/** The upstream tarball of a stanza: `<pkg>_<up>.orig.tar.*`, or a native package's one tarball. */
export function origOf(e: SourceEntry, up = upstreamVersion(e.version)): SourceEntry['files'][number] | undefined {
  const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return (
    e.files.find((f) => new RegExp(`^${esc(e.package)}_${esc(up)}\\.orig\\.tar\\.[a-z0-9]+$`).test(f.name)) ??
    e.files.find((f) => /\.tar\.[a-z0-9]+$/.test(f.name) && !/\.debian\.tar\./.test(f.name) && !/\.orig-/.test(f.name))
  );
}
