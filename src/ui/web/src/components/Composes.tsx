import { useState } from 'react';
import { shortDigest } from '../format.js';
import { ACTIVE } from '../job-state.js';
import type { Job } from '../types.js';

// A job's composes: a wheelhouse with its index, SBOM and manifest links and the pip
// command; an image with its archive and the podman commands, each copyable.

export function Composes(props: { job: Job }) {
  const { job } = props;
  if (!job.composes.length) return null;
  const origin = window.location.origin;
  return (
    <section aria-labelledby="co-h" className="panel">
      <h2 id="co-h">Composes</h2>
      {job.composes.map((name) => {
        const c = job.composed[name];
        if (!c) return <p key={name}>{name}: not composed yet{ACTIVE.has(job.state) ? ' (after the builds)' : ''}</p>;
        if (c.kind === 'image') {
          const archive = `/images/${job.id}/${name}.oci.tar`;
          return (
            <div key={name} className="compose">
              <h3>
                image {name} <span className="muted">({c.wheels} wheels{c.arch ? `, ${c.arch}` : ''})</span>
              </h3>
              <p className="links">
                <a href={archive}>OCI archive</a> · manifest <code className="digest">{shortDigest(c.manifest, 16)}</code>
                {c.tag ? (
                  <>
                    {' '}
                    · loaded on the server as <code>{c.tag}</code>
                  </>
                ) : null}
              </p>
              <CopyCommand label="podman load" text={`curl -fo ${name}.oci.tar ${origin}${archive} && podman load -i ${name}.oci.tar`} />
              <CopyCommand label="podman run" text={`podman run --rm -it${c.arch ? ` --arch ${c.arch}` : ''} ${c.tag ?? `<the image podman load names>`}`} />
            </div>
          );
        }
        const index = `${origin}/wheelhouses/${job.id}/${name}/simple/`;
        const pkg = job.packages[0] ?? '<package>';
        return (
          <div key={name} className="compose">
            <h3>
              wheelhouse {name} <span className="muted">({c.wheels} wheels)</span>
            </h3>
            <p className="links">
              <a href={`/wheelhouses/${job.id}/${name}/simple/`}>index</a> · <a href={`/wheelhouses/${job.id}/${name}/sbom.cdx.json`}>SBOM (CycloneDX)</a> · <a href={`/wheelhouses/${job.id}/${name}/manifest.json`}>manifest</a> <code className="digest">{shortDigest(c.manifest, 16)}</code>
            </p>
            <CopyCommand label="pip install" text={`pip install --index-url ${index} ${pkg}`} />
          </div>
        );
      })}
    </section>
  );
}

function CopyCommand(props: { label: string; text: string }) {
  const [copied, setCopied] = useState(false);
  return (
    <div className="command">
      <code aria-label={`${props.label} command`}>{props.text}</code>
      <button
        type="button"
        onClick={() => {
          navigator.clipboard?.writeText(props.text).then(
            () => setCopied(true),
            () => setCopied(false),
          );
        }}
      >
        {copied ? 'Copied' : 'Copy'}
      </button>
    </div>
  );
}
