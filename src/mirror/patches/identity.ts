// Patch authors arrive as mail addresses: "Name <mail>", "\"Last, First\" <mail>",
// "mail (Name)", or RFC 2047 encoded words for anything beyond ASCII.

export interface Identity {
  name: string;
  email: string;
}

/** Decodes RFC 2047 encoded words (=?UTF-8?q?...?= and =?...?b?...?=); other text is kept. */
export function decodeWords(text: string): string {
  // Whitespace between two encoded words is folding, not content (RFC 2047 section 6.2).
  const joined = text.replace(/(\?=)\s+(?==\?[^?]+\?[BbQq]\?)/g, '$1');
  return joined.replace(/=\?([^?]+)\?([BbQq])\?([^?]*)\?=/g, (whole, charset: string, enc: string, data: string) => {
    const bytes =
      enc.toUpperCase() === 'B'
        ? Buffer.from(data, 'base64')
        : Buffer.from(
            data.replace(/_/g, ' ').replace(/=([0-9A-Fa-f]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16))),
            'latin1',
          );
    try {
      return new TextDecoder(charset.replace(/\*.*$/, '')).decode(bytes);
    } catch {
      return whole; // an unknown charset stays visible rather than turning into mojibake
    }
  });
}

/** Parses one address; undefined when there is no e-mail address in it. */
export function parseIdentity(raw: string): Identity | undefined {
  const text = decodeWords(raw).trim();
  let name: string;
  let email: string;
  const angle = /^(.*?)\s*<([^<>]*)>\s*$/.exec(text);
  const paren = /^(\S+@\S+)\s*\((.*)\)\s*$/.exec(text);
  if (angle) {
    name = unquote(angle[1]!);
    email = angle[2]!.trim();
  } else if (paren) {
    email = paren[1]!;
    name = paren[2]!.trim();
  } else if (/^[^\s<>]+@[^\s<>]+$/.test(text)) {
    email = text;
    name = '';
  } else {
    return undefined;
  }
  // git's commit header cannot hold these, and fsck rejects them.
  const clean = (s: string) => s.replace(/[<>\n\r\0]/g, '').trim();
  name = clean(name);
  email = clean(email);
  if (!email) return undefined;
  // Like git am, a nameless address is named after itself.
  return { name: name || email, email };
}

function unquote(s: string): string {
  const t = s.trim();
  if (t.length >= 2 && t.startsWith('"') && t.endsWith('"')) return t.slice(1, -1).replace(/\\(.)/g, '$1');
  return t;
}
