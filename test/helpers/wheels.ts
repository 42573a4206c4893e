import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';

// Real wheels for tests, zipped by the host python3's zipfile (what wheel and pip use),
// so the installer reads the zip format as the ecosystem writes it.

export interface WheelMember {
  name: string;
  data: string | Buffer;
  /** Unix mode; 0o120777 makes a symbolic link */
  mode?: number;
}

const ZIP = `
import base64, json, sys, zipfile
spec = json.load(sys.stdin)
with zipfile.ZipFile(spec["out"] if "out" in spec else sys.stdout.buffer, "w", zipfile.ZIP_DEFLATED) as z:
    for m in spec["members"]:
        info = zipfile.ZipInfo(m["name"], (2020, 1, 1, 0, 0, 0))
        info.external_attr = m["mode"] << 16
        info.compress_type = zipfile.ZIP_DEFLATED
        z.writestr(info, base64.b64decode(m["data"]))
`;

/** The zip of the members, in the order given. */
export function zipMembers(members: WheelMember[]): Buffer {
  const input = JSON.stringify({ members: members.map((m) => ({ name: m.name, data: Buffer.from(m.data).toString('base64'), mode: m.mode ?? 0o100644 })) });
  return execFileSync('python3', ['-c', ZIP], { input, maxBuffer: 1 << 26 });
}

export const recordHash = (data: string | Buffer) => `sha256=${createHash('sha256').update(data).digest('base64url')}`;

export interface WheelSpec {
  dist: string;
  version: string;
  /** relative to the wheel root; `<dist>-<version>.dist-info/` files are added */
  files: Record<string, string | Buffer>;
  modes?: Record<string, number>;
  purelib?: boolean;
  entryPoints?: string;
  /** changes RECORD's rows before it is written (to lie about a file) */
  editRecord?: (rows: string[][]) => string[][];
  /** members added after RECORD is computed (so RECORD does not list them) */
  unlisted?: WheelMember[];
}

/** A wheel as bdist_wheel makes one: METADATA, WHEEL, optional entry_points.txt, RECORD last. */
export function makeWheel(spec: WheelSpec): { file: string; bytes: Buffer } {
  const info = `${spec.dist}-${spec.version}.dist-info`;
  const files: Record<string, string | Buffer> = {
    ...spec.files,
    [`${info}/METADATA`]: `Metadata-Version: 2.1\nName: ${spec.dist}\nVersion: ${spec.version}\n`,
    [`${info}/WHEEL`]: `Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: ${spec.purelib === false ? 'false' : 'true'}\nTag: py3-none-any\n`,
    ...(spec.entryPoints ? { [`${info}/entry_points.txt`]: spec.entryPoints } : {}),
  };
  let rows = Object.entries(files).map(([n, d]) => [n, recordHash(d), String(Buffer.byteLength(d))]);
  rows.push([`${info}/RECORD`, '', '']);
  if (spec.editRecord) rows = spec.editRecord(rows);
  const record = rows.map((r) => r.map((f) => (/[",]/.test(f) ? `"${f.replace(/"/g, '""')}"` : f)).join(',') + '\n').join('');
  const members: WheelMember[] = [...Object.entries(files).map(([name, data]) => ({ name, data, ...(spec.modes?.[name] ? { mode: spec.modes[name] } : {}) })), { name: `${info}/RECORD`, data: record }, ...(spec.unlisted ?? [])];
  const tag = spec.purelib === false ? 'cp311-cp311-linux_s390x' : 'py3-none-any';
  return { file: `${spec.dist}-${spec.version}-${tag}.whl`, bytes: zipMembers(members) };
}
