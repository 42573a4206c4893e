import { describe, expect, it } from 'vitest';
import { shownRemote } from '../../src/service/api-store.js';

// GET /store names the store's remote; a URL with a user or password in it is shown without them.

describe("the store remote GET /store shows", () => {
  it('drops credentials and keeps the rest', () => {
    expect(shownRemote('https://robot:s3cret@registry.example.com:5000/weld/cache')).toBe('https://registry.example.com:5000/weld/cache');
    expect(shownRemote('http://127.0.0.1:5000/weld')).toBe('http://127.0.0.1:5000/weld');
    expect(shownRemote('not a url')).toBe('(not a URL)');
    expect(shownRemote(undefined)).toBeUndefined();
    expect(shownRemote('')).toBeUndefined();
  });
});
