import { createHash } from 'node:crypto';
import { cmp, jsonText } from './index-pages.js';
import type { WheelEntry } from './manifest.js';

export const SBOM_FILE = 'sbom.cdx.json';

/** A package URL for one wheel file: pkg:pypi/<name>@<version>?file_name=<file>. */
export function purlOf(w: Pick<WheelEntry, 'project' | 'version' | 'file'>): string {
  return `pkg:pypi/${w.project}@${encodeURIComponent(w.version)}?file_name=${encodeURIComponent(w.file)}`;
}

/**
 * A CycloneDX 1.5 JSON SBOM of the wheelhouse: one component per wheel (purl, SHA-256,
 * license, weld's build key and source commit as properties) and the run-time dependency
 * graph. No timestamp, and the serial number is derived from the manifest, so the same
 * wheelhouse gives the same bytes.
 */
export function renderSbom(o: { name: string; wheels: WheelEntry[]; manifest: string; tool: { name: string; version: string } }): string {
  const wheels = [...o.wheels].sort((a, b) => cmp(a.file, b.file));
  const root = `wheelhouse:${o.name}`;
  // By package once: a filter per requirement made 1,000 wheels cost a million steps.
  const byPackage = new Map<string, string[]>();
  for (const w of wheels) byPackage.set(w.package, [...(byPackage.get(w.package) ?? []), purlOf(w)]);
  const refsOf = (pkg: string) => byPackage.get(pkg) ?? [];
  return jsonText({
    bomFormat: 'CycloneDX',
    specVersion: '1.5',
    serialNumber: `urn:uuid:${uuidFrom(o.manifest)}`,
    version: 1,
    metadata: {
      tools: { components: [{ type: 'application', name: o.tool.name, version: o.tool.version }] },
      component: { type: 'application', 'bom-ref': root, name: o.name, description: 'a weld wheelhouse: a PEP 503/691 index of wheels built from source' },
    },
    components: wheels.map((w) => ({
      type: 'library',
      'bom-ref': purlOf(w),
      name: w.name,
      version: w.version,
      ...(w.summary ? { description: w.summary } : {}),
      hashes: [{ alg: 'SHA-256', content: w.sha256 }],
      ...(w.license ? { licenses: [w.licenseIsSpdx ? { expression: w.license } : { license: { name: w.license } }] } : {}),
      purl: purlOf(w),
      ...(w.homepage ? { externalReferences: [{ type: 'website', url: w.homepage }] } : {}),
      properties: [
        { name: 'weld:package', value: w.package },
        { name: 'weld:build-key', value: w.buildKey },
        ...(w.sourceCommit ? [{ name: 'weld:source-commit', value: w.sourceCommit }] : []),
        { name: 'weld:source-tree', value: w.sourceTree },
        { name: 'weld:arch', value: w.arch },
      ],
    })),
    dependencies: [
      { ref: root, dependsOn: wheels.map(purlOf) },
      ...wheels.map((w) => ({ ref: purlOf(w), dependsOn: [...new Set(w.runtimeRequires.flatMap(refsOf))].sort(cmp) })),
    ],
  });
}

/** A name-based UUID (version 5 layout) from the manifest's bytes. */
function uuidFrom(text: string): string {
  const b = createHash('sha256').update(text).digest().subarray(0, 16);
  b[6] = (b[6]! & 0x0f) | 0x50;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
