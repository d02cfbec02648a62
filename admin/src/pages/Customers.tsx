import { useState, type FormEvent } from 'react';
import { api } from '../api/client';
import { Link, setQuery, useRoute } from '../router';
import {
  ActionDialog,
  AsyncView,
  dateTime,
  Field,
  money,
  PageHeader,
  Pagination,
  Select,
  StatusBadge,
  useAsync,
  formText,
} from '../ui';

export function CustomersPage() {
  const { query } = useRoute();
  const q = query.get('q') ?? '';
  const role = query.get('role') ?? '';
  const page = Number(query.get('page') ?? 1);
  const state = useAsync(
    () =>
      api.get('/api/v1/users', {
        query: { q: q || undefined, role: (role || undefined) as never, page, per_page: 20 },
      }),
    [q, role, page],
  );
  const search = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setQuery({ q: formText(form, 'q'), role: formText(form, 'role'), page: undefined });
  };
  return (
    <>
      <PageHeader title="Customers" />
      <form
        className="filters"
        role="search"
        aria-label="Search customers"
        onSubmit={search}
        key={query.toString()}
      >
        <Field label="Name or e-mail" name="q" type="search" defaultValue={q} />
        <Select
          label="Role"
          name="role"
          defaultValue={role}
          options={[
            ['', 'Any role'],
            ['user', 'Customer'],
            ['admin', 'Admin'],
            ['guest', 'Guest'],
          ]}
        />
        <button type="submit">Search</button>
      </form>
      <AsyncView state={state} isEmpty={(r) => r.data.length === 0} empty="No accounts match.">
        {(result) => (
          <>
            <div className="table-wrap">
              <table>
                <thead>
                  <tr>
                    <th scope="col">E-mail</th>
                    <th scope="col">Name</th>
                    <th scope="col">Role</th>
                    <th scope="col">Status</th>
                    <th scope="col">Joined</th>
                  </tr>
                </thead>
                <tbody>
                  {result.data.map((u) => (
                    <tr key={u.id}>
                      <td>
                        <Link to={`/customers/${u.id}`}>{u.email}</Link>
                      </td>
                      <td>{u.name}</td>
                      <td>{u.role}</td>
                      <td>
                        <StatusBadge status={u.status} />
                      </td>
                      <td>{dateTime(u.created_at)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            {result.meta && <Pagination meta={result.meta} onPage={(n) => setQuery({ page: String(n) })} />}
          </>
        )}
      </AsyncView>
    </>
  );
}

export function CustomerDetailPage({ id }: { id: string }) {
  const user = useAsync(() => api.get('/api/v1/users/{id}', { path: { id } }).then((r) => r.data), [id]);
  const orders = useAsync(
    () => api.get('/api/v1/admin/orders', { query: { customer: id, per_page: 10 } }),
    [id],
  );
  const sessions = useAsync(
    () => api.get('/api/v1/users/{id}/sessions', { path: { id } }).then((r) => r.data),
    [id],
  );
  const [role, setRole] = useState<string | null>(null);
  const [confirm, setConfirm] = useState<'role' | 'deactivate' | 'reactivate' | null>(null);
  return (
    <AsyncView state={user}>
      {(u) => (
        <>
          <PageHeader title={u.name || u.email}>
            <StatusBadge status={u.status} />
            {u.status === 'active' && (
              <button type="button" className="danger" onClick={() => setConfirm('deactivate')}>
                Deactivate
              </button>
            )}
            {u.status === 'deactivated' && (
              <button type="button" onClick={() => setConfirm('reactivate')}>
                Reactivate
              </button>
            )}
          </PageHeader>
          <div className="grid-2">
            <section className="card" aria-labelledby="account-h">
              <h2 id="account-h">Account</h2>
              <dl className="totals">
                <dt>E-mail</dt>
                <dd>
                  {u.email} {u.email_verified ? '(verified)' : '(not verified)'}
                </dd>
                <dt>Joined</dt>
                <dd>{dateTime(u.created_at)}</dd>
              </dl>
              <form
                className="inline-form"
                onSubmit={(e) => {
                  e.preventDefault();
                  setConfirm('role');
                }}
              >
                <Select
                  label="Role"
                  value={role ?? u.role}
                  onChange={(e) => setRole(e.target.value)}
                  options={[
                    ['user', 'Customer'],
                    ['admin', 'Admin'],
                    ['guest', 'Guest'],
                  ]}
                />
                <button type="submit" disabled={!role || role === u.role}>
                  Change role
                </button>
              </form>
            </section>
            <section className="card" aria-labelledby="sessions-h">
              <h2 id="sessions-h">Sessions</h2>
              <AsyncView state={sessions} isEmpty={(s) => s.length === 0} empty="No active sessions.">
                {(list) => (
                  <ul className="plain">
                    {list.map((s) => (
                      <li key={s.id}>
                        {s.user_agent ?? 'Unknown device'} · {s.ip ?? 'unknown IP'}
                        <span className="muted"> · last used {dateTime(s.last_used_at)}</span>
                      </li>
                    ))}
                  </ul>
                )}
              </AsyncView>
            </section>
            <section className="card span-2" aria-labelledby="orders-h">
              <h2 id="orders-h">Orders</h2>
              <AsyncView state={orders} isEmpty={(r) => r.data.length === 0} empty="No orders yet.">
                {(r) => (
                  <>
                    <ul className="plain">
                      {r.data.map((o) => (
                        <li key={o.id}>
                          <Link to={`/orders/${o.id}`}>{o.number}</Link> <StatusBadge status={o.status} />{' '}
                          {money(o.totals.total, o.totals.currency)}{' '}
                          <span className="muted">· {dateTime(o.created_at)}</span>
                        </li>
                      ))}
                    </ul>
                    {(r.meta?.total ?? 0) > r.data.length && (
                      <Link to={`/orders?customer=${u.id}`}>All {r.meta?.total} orders</Link>
                    )}
                  </>
                )}
              </AsyncView>
            </section>
          </div>
          <ActionDialog
            title={`Make ${u.email} ${role === 'admin' ? 'an admin' : `a ${role}`}?`}
            open={confirm === 'role'}
            onClose={() => setConfirm(null)}
            confirmLabel="Change role"
            action={async () => {
              await api.patch('/api/v1/users/{id}', { path: { id }, body: { role: role as 'user' } });
              user.reload();
            }}
          />
          <ActionDialog
            title={`Deactivate ${u.email}?`}
            open={confirm === 'deactivate'}
            onClose={() => setConfirm(null)}
            danger
            confirmLabel="Deactivate"
            action={async () => {
              await api.post('/api/v1/users/{id}/deactivate', { path: { id } });
              user.reload();
              sessions.reload();
            }}
          >
            {() => <p>They are signed out everywhere and cannot sign in until reactivated.</p>}
          </ActionDialog>
          <ActionDialog
            title={`Reactivate ${u.email}?`}
            open={confirm === 'reactivate'}
            onClose={() => setConfirm(null)}
            confirmLabel="Reactivate"
            action={async () => {
              await api.post('/api/v1/users/{id}/reactivate', { path: { id } });
              user.reload();
            }}
          />
        </>
      )}
    </AsyncView>
  );
}
