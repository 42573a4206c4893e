import { sign as edSign, verify as edVerify, type KeyObject } from 'node:crypto';
import { err, ok, type Result } from '../../core/result.js';

// DSSE (github.com/secure-systems-lab/dsse), the envelope in-toto attestations use: the
// signature covers PAE(payloadType, payload), so a payload cannot be replayed under
// another type, and the payload travels as the exact bytes that were signed.

export interface DsseSignature {
  keyid: string;
  sig: string;
}

export interface DsseEnvelope {
  payloadType: string;
  /** base64 of the signed bytes */
  payload: string;
  signatures: DsseSignature[];
}

/** Pre-authentication encoding: "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body, lengths in bytes. */
export function pae(payloadType: string, body: Uint8Array): Buffer {
  const type = Buffer.from(payloadType, 'utf8');
  return Buffer.concat([Buffer.from(`DSSEv1 ${type.byteLength} `), type, Buffer.from(` ${body.byteLength} `), body]);
}

export function signEnvelope(opts: { payloadType: string; body: Uint8Array; keyid: string; key: KeyObject }): DsseEnvelope {
  const sig = edSign(null, pae(opts.payloadType, opts.body), opts.key);
  return { payloadType: opts.payloadType, payload: Buffer.from(opts.body).toString('base64'), signatures: [{ keyid: opts.keyid, sig: sig.toString('base64') }] };
}

/** Why an envelope was not accepted, with the key ids it named (for the message). */
export type EnvelopeRefusal = { reason: string; keyIds: string[] };

/**
 * The payload of an envelope that at least one trusted key signed. `trusted` maps a key id
 * to its public key; a signature by an id not in it does not count, one that fails is a
 * refusal even when another would pass (a forged signature is worth knowing about).
 */
export function openEnvelope(opts: { envelope: unknown; payloadType: string; trusted: ReadonlyMap<string, KeyObject> }): Result<Buffer, EnvelopeRefusal> {
  const e = opts.envelope as Partial<DsseEnvelope> | null;
  if (typeof e !== 'object' || e === null || typeof e.payload !== 'string' || typeof e.payloadType !== 'string') return err({ reason: 'it is not a DSSE envelope', keyIds: [] });
  if (e.payloadType !== opts.payloadType) return err({ reason: `its payload type is ${JSON.stringify(e.payloadType)}, not ${opts.payloadType}`, keyIds: [] });
  const sigs = Array.isArray(e.signatures) ? e.signatures.filter((s): s is DsseSignature => typeof s?.keyid === 'string' && typeof s?.sig === 'string') : [];
  if (sigs.length === 0) return err({ reason: 'it is not signed', keyIds: [] });
  const body = Buffer.from(e.payload, 'base64');
  const message = pae(e.payloadType, body);
  const ids = sigs.map((s) => s.keyid);
  let good = false;
  for (const s of sigs) {
    const key = opts.trusted.get(s.keyid);
    if (!key) continue;
    let valid = false;
    try {
      valid = edVerify(null, message, key, Buffer.from(s.sig, 'base64'));
    } catch {
      valid = false;
    }
    if (!valid) return err({ reason: `its signature by key ${JSON.stringify(s.keyid)} does not verify (the record or the signature was altered, or another key of that name signed it)`, keyIds: [s.keyid] });
    good = true;
  }
  if (!good) return err({ reason: `it is signed only by ${ids.length === 1 ? 'key' : 'keys'} ${ids.map((i) => JSON.stringify(i)).join(', ')}, not in trusted_keys`, keyIds: ids });
  return ok(body);
}
