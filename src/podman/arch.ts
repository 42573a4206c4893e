// Debian arch names (what metadata uses) against the names of the other tools.
const TABLE: Record<string, { oci: string; variant?: string; qemu: string; uname: string }> = {
  s390x: { oci: 's390x', qemu: 's390x', uname: 's390x' },
  amd64: { oci: 'amd64', qemu: 'x86_64', uname: 'x86_64' },
  arm64: { oci: 'arm64', variant: 'v8', qemu: 'aarch64', uname: 'aarch64' },
  ppc64el: { oci: 'ppc64le', qemu: 'ppc64le', uname: 'ppc64le' },
};

export function archInfo(debianArch: string): { oci: string; variant?: string; qemu: string; uname: string } {
  const a = TABLE[debianArch];
  // metadata validation only lets known arches through, so this is a bug
  if (!a) throw new Error(`bug: no arch table entry for "${debianArch}"`);
  return a;
}

/** The host's arch in Debian's naming. */
export function hostArch(): string {
  const m: Record<string, string> = { x64: 'amd64', arm64: 'arm64', s390x: 's390x', ppc64: 'ppc64el' };
  return m[process.arch] ?? process.arch;
}
