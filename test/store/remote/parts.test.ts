import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { findCredentials, parseChallenge } from '../../../src/store/remote/auth.js';
import { pae } from '../../../src/store/remote/dsse.js';
import { envRecordTag, envTag, isEnvRecordTag, parseRecordTag, recordTag, signedRecordTag, tagKind } from '../../../src/store/remote/layout.js';
import { parsePublicKey } from '../../../src/store/remote/keys.js';
import { parseRemoteUrl } from '../../../src/store/remote/url.js';

// The pieces of the remote that are pure: URL grammar, auth-file matching, challenges,
// DSSE's pre-authentication encoding, tags, key lines.

describe('store remote pieces', () => {
  it('encodes PAE exactly as the DSSE spec\'s example', () => {
    expect(pae('http://example.com/HelloWorld', Buffer.from('hello world')).toString()).toBe('DSSEv1 29 http://example.com/HelloWorld 11 hello world');
    // lengths are bytes, not characters
    expect(pae('t', Buffer.from('é')).toString()).toBe('DSSEv1 1 t 2 é');
  });

  it('parses oci:// URLs and says what is wrong with others', () => {
    expect(parseRemoteUrl('oci://127.0.0.1:5000/weld/cache', 'x')).toMatchObject({ ok: true, value: { registry: '127.0.0.1:5000', repository: 'weld/cache' } });
    expect(parseRemoteUrl('oci://registry.example.com/a/b/c/', 'x')).toMatchObject({ ok: true, value: { text: 'oci://registry.example.com/a/b/c' } });
    const bad = (u: string) => {
      const r = parseRemoteUrl(u, '[store] remote');
      return r.ok ? 'ok' : r.error.message.replace(/^.*is not a store remote: /, '');
    };
    expect(bad('https://r/x')).toBe('the scheme must be oci://, not https://');
    expect(bad('oci://r')).toBe('it names no repository after the host (oci://HOST[:PORT]/REPO)');
    expect(bad('oci://r:99999/x')).toBe('port 99999 is out of range');
    expect(bad('oci://r/Upper')).toContain('is not a valid OCI repository name');
    expect(bad('oci://r/x:tag')).toContain('is not a valid OCI repository name');
    expect(bad('oci://user@r/x')).toContain('is not a host name');
    expect(bad('oci://r/x?a=b')).toBe('the repository must not carry a query, a fragment, a tag or a digest');
  });

  it('finds credentials the way podman does: the first file with an entry, the longest match', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'weld-auth-'));
    const b64 = (s: string) => Buffer.from(s).toString('base64');
    const first = path.join(dir, 'auth.json');
    writeFileSync(first, JSON.stringify({ auths: { 'r.example:5000/team': { auth: b64('team:t') }, 'r.example:5000': { auth: b64('all:a') } } }));
    mkdirDocker(dir, { auths: { 'https://other.example/v1/': { auth: b64('docker:d:with:colons') } } });
    const env = { REGISTRY_AUTH_FILE: first, HOME: dir, XDG_RUNTIME_DIR: path.join(dir, 'none') };
    expect(await findCredentials({ registry: 'r.example:5000', repository: 'team/cache', env })).toMatchObject({ username: 'team', password: 't' });
    expect(await findCredentials({ registry: 'r.example:5000', repository: 'else/cache', env })).toMatchObject({ username: 'all', password: 'a' });
    expect(await findCredentials({ registry: 'other.example', repository: 'x', env })).toMatchObject({ username: 'docker', password: 'd:with:colons' });
    expect(await findCredentials({ registry: 'nobody.example', repository: 'x', env })).toBeUndefined();
  });

  it('reads Basic and Bearer challenges', () => {
    expect(parseChallenge('Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull"')).toEqual({ scheme: 'bearer', params: { realm: 'https://auth.example/token', service: 'registry.example', scope: 'repository:a/b:pull' } });
    expect(parseChallenge('Basic realm="weld"')).toEqual({ scheme: 'basic', params: { realm: 'weld' } });
    expect(parseChallenge('Negotiate')).toBeUndefined();
  });

  it('tags records by key within the 128-character limit, and reads only its own tags back', () => {
    const key = `sha256:${'ab'.repeat(32)}` as const;
    const tag = recordTag('build', key);
    expect(tag).toHaveLength(70);
    expect(parseRecordTag(tag)).toEqual({ kind: 'build', id: key });
    expect(parseRecordTag('latest')).toBeUndefined();
    expect(parseRecordTag(`build-${'AB'.repeat(32)}`)).toBeUndefined();
    // an env image's record: by a hash of its id (env@lock/composer), one dash, never an env image's tag
    const env = envRecordTag('bookworm-s390x@' + 'cd'.repeat(32) + '/c2');
    expect(env).toMatch(/^env-[0-9a-f]{64}$/);
    expect(env).toBe(signedRecordTag('env', 'bookworm-s390x@' + 'cd'.repeat(32) + '/c2'));
    expect(tagKind(env)).toBe('env');
    expect(isEnvRecordTag(env)).toBe(true);
    expect(isEnvRecordTag(envTag('bookworm-s390x', `sha256:${'ef'.repeat(32)}`))).toBe(false);
    expect(tagKind(envTag('bookworm-s390x', `sha256:${'ef'.repeat(32)}`))).toBe('env');
    expect(parseRecordTag(env)).toBeUndefined();
  });

  it('takes public keys only as NAME:BASE64 of 32 bytes', () => {
    expect(parsePublicKey('ci:' + Buffer.alloc(32, 7).toString('base64')).ok).toBe(true);
    const e = (s: string) => {
      const r = parsePublicKey(s);
      return r.ok ? 'ok' : r.error;
    };
    expect(e('ci:' + Buffer.alloc(31).toString('base64'))).toBe('the public key of "ci" is not 32 bytes of base64 (an ed25519 key, as `weld key public` prints it)');
    expect(e(':abc')).toContain('is not a public key NAME:BASE64');
  });
});

function mkdirDocker(home: string, doc: object): void {
  mkdirSync(path.join(home, '.docker'), { recursive: true });
  writeFileSync(path.join(home, '.docker', 'config.json'), JSON.stringify(doc));
}
