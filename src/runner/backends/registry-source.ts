import { err, ok, type Result } from '../../core/result.js';
import type { ComposedImage } from '../../envs/compose.js';
import type { RemoteSettings } from '../../store/remote/config.js';
import type { Remote } from '../../store/remote/remote.js';
import type { Store } from '../../store/store.js';

/** An env image as a backend pulls it: by digest from the store remote. */
export interface PullSource {
  /** HOST[:PORT]/REPO@sha256:… (the manifest digest: what was composed, not whatever a tag names now) */
  ref: string;
  tlsVerify: boolean;
  /** the image is there but the push of its signed record failed: other machines compose it themselves */
  recordProblem?: string;
}

/**
 * With a store remote, build backends pull env images from it by digest rather than each
 * being sent the whole image through its API from this host: the image goes up once (as
 * env-<name>-<digest12>, blobs HEAD first, then its signed record by its lock when there
 * is a signing key), and each engine pulls only the layers it
 * lacks, from the registry rather than from this host. When the push fails, the reason
 * comes back and the caller loads through the API, as without a remote: a registry that
 * is down costs one timeout, never a build.
 */
export class RegistryEnvSource {
  private connecting: Promise<Result<Remote, string>> | undefined;
  private readonly pushed = new Map<string, Promise<Result<PullSource, string>>>();

  constructor(private readonly o: { settings: RemoteSettings; store: Store }) {}

  /** Where an engine pulls `image` from, once it is on the remote; or why it is not. */
  source(image: ComposedImage): Promise<Result<PullSource, string>> {
    const manifest = image.record.manifest;
    let p = this.pushed.get(manifest);
    if (!p) {
      // a failed push is not tried again by this runner: a registry that is down or slow
      // would make every build wait out its timeout (the next weld build asks again)
      p = this.push(image);
      this.pushed.set(manifest, p);
    }
    return p;
  }

  private connected(): Promise<Result<Remote, string>> {
    this.connecting ??= import('../../store/remote/remote.js').then(async ({ connectRemote }) => {
      const r = await connectRemote(this.o.settings.config);
      return r.ok ? ok(r.value) : err(r.error.message);
    });
    return this.connecting;
  }

  private async push(image: ComposedImage): Promise<Result<PullSource, string>> {
    const remote = await this.connected();
    if (!remote.ok) return remote;
    const { Pusher } = await import('../../store/remote/push.js');
    const pusher = new Pusher(remote.value, this.o.store);
    const { envTag } = await import('../../store/remote/layout.js');
    const pushed = await pusher.pushImage({ tag: envTag(image.env, image.record.manifest), manifest: image.record.manifest });
    if (!pushed.ok) return err(pushed.error.message);
    // the signed record too, so another machine's weld finds the image by its lock
    const signed = this.o.settings.config.signingKey ? await pusher.pushEnvRecord({ id: image.recordId, record: image.record }) : undefined;
    // without a key it is not signed (as builds are not pushed without one): said by `weld store push`, not in every build's log
    const recordProblem = signed && !signed.ok ? signed.error.message : undefined;
    const { registry, repository } = this.o.settings.config.url;
    return ok({ ref: `${registry}/${repository}@${image.record.manifest}`, tlsVerify: this.o.settings.config.tlsVerify, ...(recordProblem ? { recordProblem } : {}) });
  }
}
