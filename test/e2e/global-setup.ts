import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';

// One store and one mirrors directory for every e2e file: what one file built, the next
// reuses by cache key, as a user's second command would. libyaml takes minutes under
// qemu; built once, not once per file. Tests that need an empty store make their own.

declare module 'vitest' {
  export interface ProvidedContext {
    e2eStore: string;
    e2eMirrors: string;
  }
}

export default function setup(project: TestProject): () => void {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'weld-e2e-shared-'));
  project.provide('e2eStore', path.join(dir, 'store'));
  project.provide('e2eMirrors', path.join(dir, 'mirrors'));
  return () => rmSync(dir, { recursive: true, force: true });
}
