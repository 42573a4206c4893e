import crypto from 'node:crypto';

// Git object ids and the type numbers a packfile uses for them.

export type ObjectType = 'blob' | 'tree';

export const PACK_TYPE: Record<ObjectType, number> = { tree: 2, blob: 3 };

/** The object id git gives `content`: sha1 of `<type> <size>\0<content>`, raw 20 bytes. */
export function hashObject(type: ObjectType, content: Buffer): Buffer {
  return crypto.createHash('sha1').update(`${type} ${content.length}\0`).update(content).digest();
}
