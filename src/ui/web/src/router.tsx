import { createContext, useContext, useEffect, useState, type MouseEvent, type ReactNode } from 'react';

// Client-side routes over the History API: the server answers every page path with
// index.html, so /jobs/<id> is a link one can share and reload.

interface Location {
  path: string;
  search: URLSearchParams;
}

const read = (): Location => ({ path: window.location.pathname, search: new URLSearchParams(window.location.search) });
const RouterContext = createContext<Location>(read());

export function navigate(to: string, o: { replace?: boolean } = {}): void {
  if (o.replace) history.replaceState(null, '', to);
  else history.pushState(null, '', to);
  window.dispatchEvent(new Event('weld:navigate'));
}

export function RouterProvider(props: { children: ReactNode }) {
  const [loc, setLoc] = useState(read);
  useEffect(() => {
    const on = () => setLoc(read());
    window.addEventListener('popstate', on);
    window.addEventListener('weld:navigate', on);
    return () => {
      window.removeEventListener('popstate', on);
      window.removeEventListener('weld:navigate', on);
    };
  }, []);
  return <RouterContext.Provider value={loc}>{props.children}</RouterContext.Provider>;
}

export function useLocation(): Location {
  return useContext(RouterContext);
}

/** A real link (opens in a new tab, copies) that navigates in place on a plain click. */
export function Link(props: { to: string; children: ReactNode; className?: string; 'aria-current'?: 'page' | undefined; title?: string }) {
  const onClick = (e: MouseEvent<HTMLAnchorElement>) => {
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    navigate(props.to);
  };
  return (
    <a href={props.to} onClick={onClick} className={props.className} aria-current={props['aria-current']} title={props.title}>
      {props.children}
    </a>
  );
}
