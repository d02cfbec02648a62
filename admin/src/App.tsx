import { useEffect, useRef, useState } from 'react';
import { requireSignIn, useSession } from './auth';
import { AuditPage } from './pages/Audit';
import { CustomerDetailPage, CustomersPage } from './pages/Customers';
import { InventoryPage } from './pages/Inventory';
import { JobsPage } from './pages/Jobs';
import { LoginPage } from './pages/Login';
import { OrderDetailPage, OrdersPage } from './pages/Orders';
import { OverviewPage } from './pages/Overview';
import { ProductEditPage, ProductImportPage, ProductsPage } from './pages/Products';
import { SettingsPage } from './pages/Settings';
import { Link, useRoute } from './router';
import { Loading } from './ui';

const sections = [
  ['/', 'Overview'],
  ['/orders', 'Orders'],
  ['/products', 'Products'],
  ['/inventory', 'Inventory'],
  ['/customers', 'Customers'],
  ['/jobs', 'Jobs'],
  ['/audit', 'Audit log'],
  ['/settings', 'Settings'],
] as const;

function page(path: string) {
  const [, section, id, sub] = path.split('/');
  switch (section) {
    case '':
    case undefined:
      return <OverviewPage />;
    case 'orders':
      return id ? <OrderDetailPage id={id} /> : <OrdersPage />;
    case 'products':
      if (id === 'import') return <ProductImportPage />;
      return id ? <ProductEditPage id={id === 'new' ? null : id} key={id} /> : <ProductsPage />;
    case 'inventory':
      return <InventoryPage />;
    case 'customers':
      return id ? <CustomerDetailPage id={id} /> : <CustomersPage />;
    case 'jobs':
      return <JobsPage />;
    case 'audit':
      return <AuditPage />;
    case 'settings':
      return <SettingsPage />;
    default:
      return (
        <p className="state state-empty">
          No such page. <Link to="/">Back to the overview</Link>
          {sub}
        </p>
      );
  }
}

export function App() {
  const session = useSession();
  const { path } = useRoute();
  const [menuOpen, setMenuOpen] = useState(false);
  const main = useRef<HTMLElement>(null);

  const signedIn = session.me !== null;
  useEffect(() => {
    if (!session.restoring && !signedIn && !path.startsWith('/login')) requireSignIn();
  }, [session.restoring, signedIn, path]);
  useEffect(() => {
    setMenuOpen(false);
    main.current?.focus();
  }, [path]);

  if (path.startsWith('/login')) return <LoginPage />;
  if (session.restoring || !signedIn) return <Loading label="Loading your session…" />;

  const current = (to: string) => (to === '/' ? path === '/' : path.startsWith(to));
  return (
    <div className="shell">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <span className="brand">Bazaar admin</span>
        <button
          type="button"
          className="menu-toggle"
          aria-expanded={menuOpen}
          aria-controls="nav"
          onClick={() => setMenuOpen((o) => !o)}
        >
          Menu
        </button>
        <span className="who">{session.me?.email}</span>
        <button type="button" onClick={() => void session.signOut()}>
          Sign out
        </button>
      </header>
      <nav id="nav" className={menuOpen ? 'nav nav-open' : 'nav'} aria-label="Sections">
        <ul>
          {sections.map(([to, label]) => (
            <li key={to}>
              <Link to={to} aria-current={current(to) ? 'page' : undefined}>
                {label}
              </Link>
            </li>
          ))}
        </ul>
      </nav>
      <main id="main" ref={main} tabIndex={-1}>
        {page(path)}
      </main>
    </div>
  );
}
