import { StrictMode, useEffect, useRef } from 'react';
import { createRoot } from 'react-dom/client';
import { AuthProvider, SignIn, useAuth } from './auth.js';
import { BackendsPage } from './pages/Backends.js';
import { JobPage } from './pages/Job.js';
import { JobsPage } from './pages/Jobs.js';
import { PackagePage } from './pages/Package.js';
import { StorePage } from './pages/Store.js';
import { Link, RouterProvider, useLocation } from './router.js';
import './styles.css';

// weld's dashboard: a client of the service's public API, served by `weld server` at `/`.

function Page() {
  const { path } = useLocation();
  const job = /^\/jobs\/([0-7][0-9A-HJKMNP-TV-Z]{25})\/?$/.exec(path);
  const pkg = /^\/packages\/([^/]+)\/?$/.exec(path);
  if (path === '/' || path === '/jobs' || path === '/jobs/') return <JobsPage />;
  if (job) return <JobPage id={job[1]!} />;
  if (path === '/backends') return <BackendsPage />;
  if (path === '/store') return <StorePage />;
  if (pkg) return <PackagePage name={decodeURIComponent(pkg[1]!)} />;
  return (
    <section>
      <h1>Not found</h1>
      <p>
        There is no page {path} here. <Link to="/">See the jobs</Link>.
      </p>
    </section>
  );
}

function Shell() {
  const { path } = useLocation();
  const { session } = useAuth();
  const main = useRef<HTMLElement>(null);
  const first = useRef(true);
  useEffect(() => {
    // After a navigation, keyboard and screen-reader users start at the new page.
    if (first.current) first.current = false;
    else main.current?.focus();
  }, [path]);
  const current = (p: string) => (p === '/' ? path === '/' || path.startsWith('/jobs') : path.startsWith(p)) ? 'page' : undefined;
  return (
    <>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="top">
        <nav aria-label="Main">
          <Link to="/" className="brand">
            weld
          </Link>
          <Link to="/" aria-current={current('/')}>
            Jobs
          </Link>
          <Link to="/backends" aria-current={current('/backends')}>
            Backends
          </Link>
          <Link to="/store" aria-current={current('/store')}>
            Store
          </Link>
        </nav>
        <SignIn />
      </header>
      <main id="main" ref={main} tabIndex={-1}>
        {/* signing in or out reloads the page's data: a server with read = "token" shows nothing before */}
        <Page key={session} />
      </main>
    </>
  );
}

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <RouterProvider>
      <AuthProvider>
        <Shell />
      </AuthProvider>
    </RouterProvider>
  </StrictMode>,
);
