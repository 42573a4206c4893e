import { useEffect, useState } from 'react';
import { api, ApiError } from './api.js';

// Loading a resource of the API, and a clock for "5 s ago".

export type Loaded<T> = { state: 'loading' } | { state: 'ok'; value: T } | { state: 'error'; error: ApiError };

export function useApi<T>(path: string, deps: unknown[] = []): [Loaded<T>, () => void] {
  const [value, setValue] = useState<Loaded<T>>({ state: 'loading' });
  const [n, setN] = useState(0);
  useEffect(() => {
    const ac = new AbortController();
    api<T>(path, { signal: ac.signal }).then(
      (v) => setValue({ state: 'ok', value: v }),
      (e: unknown) => {
        if (ac.signal.aborted) return;
        setValue({ state: 'error', error: e instanceof ApiError ? e : new ApiError(0, 'E_CLIENT', String(e)) });
      },
    );
    return () => ac.abort();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [path, n, ...deps]);
  return [value, () => setN((x) => x + 1)];
}

export function useNow(everyMs = 5000): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), everyMs);
    return () => clearInterval(t);
  }, [everyMs]);
  return now;
}

export function useTitle(title: string): void {
  useEffect(() => {
    document.title = `${title} · weld`;
  }, [title]);
}
