import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as tar from 'tar';

// A small real image's layer for the store-remote tests: a static binary that prints
// `message`, so podman can pull and run it in a second; and the containers.conf the
// tests point podman at.

export const hostImageArch = process.arch === 'x64' ? 'amd64' : process.arch;

/** Writes dir/containers.conf and dir/layer.tar (the binary at /hello); returns the layer's path. */
export function helloLayer(dir: string, message: string): string {
  writeFileSync(path.join(dir, 'containers.conf'), '[containers]\ndefault_ulimits = ["nofile=20000:20000", "nproc=4096:4096"]\n[engine]\nruntime = "runc"\n');
  const root = path.join(dir, 'rootfs');
  mkdirSync(root);
  writeFileSync(path.join(dir, 'hello.c'), `#include <stdio.h>\nint main(void){puts(${JSON.stringify(message)});return 0;}\n`);
  execFileSync('gcc', ['-static', '-O2', '-o', path.join(root, 'hello'), path.join(dir, 'hello.c')]);
  chmodSync(path.join(root, 'hello'), 0o755);
  const layerFile = path.join(dir, 'layer.tar');
  tar.c({ cwd: root, file: layerFile, sync: true, portable: true, mtime: new Date('2024-01-01T00:00:00Z') }, ['hello']);
  return layerFile;
}
