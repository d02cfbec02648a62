import { useEffect, useState, type FormEvent } from 'react';
import { api, ApiError, type Schemas } from '../api/client';
import {
  ActionDialog,
  AsyncView,
  dateTime,
  Field,
  messageOf,
  PageHeader,
  Pagination,
  Select,
  useAsync,
} from '../ui';

export function SettingsPage() {
  return (
    <>
      <PageHeader title="Settings" />
      <ShippingRates />
      <TaxRates />
      <EmailTemplates />
      <ApiClients />
    </>
  );
}

/** Save button state and server errors of a settings form. */
function useSave() {
  const [state, setState] = useState<{ busy: boolean; error: unknown; saved: boolean }>({
    busy: false,
    error: null,
    saved: false,
  });
  const run = async (work: () => Promise<unknown>) => {
    setState({ busy: true, error: null, saved: false });
    try {
      await work();
      setState({ busy: false, error: null, saved: true });
    } catch (error) {
      setState({ busy: false, error, saved: false });
    }
  };
  const fieldErrors = state.error instanceof ApiError ? state.error.fieldErrors : {};
  return { ...state, run, fieldErrors };
}

function SaveFeedback({ save }: { save: ReturnType<typeof useSave> }) {
  if (save.error)
    return (
      <p className="form-error" role="alert">
        {messageOf(save.error)}
      </p>
    );
  if (save.saved)
    return (
      <p className="notice" role="status">
        Saved.
      </p>
    );
  return null;
}

type ShippingRate = Schemas['ShippingRate'];

function ShippingRates() {
  const state = useAsync(() => api.get('/api/v1/admin/settings/shipping-rates').then((r) => r.data), []);
  const [rows, setRows] = useState<
    { country: string; currency: string; amount: string; free_over: string }[]
  >([]);
  useEffect(() => {
    if (state.data)
      setRows(
        state.data.rates.map((r: ShippingRate) => ({
          country: r.country,
          currency: r.currency,
          amount: (r.amount / 100).toFixed(2),
          free_over: r.free_over === null ? '' : (r.free_over / 100).toFixed(2),
        })),
      );
  }, [state.data]);
  const save = useSave();
  const set = (i: number, change: Partial<(typeof rows)[number]>) =>
    setRows((all) => all.map((r, j) => (j === i ? { ...r, ...change } : r)));
  const submit = (event: FormEvent) => {
    event.preventDefault();
    void save.run(() =>
      api.put('/api/v1/admin/settings/shipping-rates', {
        body: {
          rates: rows.map((r) => ({
            country: r.country as '*',
            currency: r.currency,
            amount: Math.round(Number(r.amount) * 100),
            free_over: r.free_over ? Math.round(Number(r.free_over) * 100) : null,
          })),
        },
      }),
    );
  };
  return (
    <section className="card" aria-labelledby="shipping-h">
      <h2 id="shipping-h">Shipping rates</h2>
      <AsyncView state={state}>
        {() => (
          <form onSubmit={submit} className="form">
            {rows.length === 0 && <p className="muted">No rates: checkout charges no shipping.</p>}
            {rows.map((r, i) => (
              <div className="rate-row" role="group" aria-label={`Shipping rate ${i + 1}`} key={i}>
                <Field
                  label="Country"
                  value={r.country}
                  onChange={(e) => set(i, { country: e.target.value.toUpperCase() })}
                  hint="Two letters, or * for everywhere else."
                  error={save.fieldErrors[`rates.${i}.country`]}
                />
                <Field
                  label="Currency"
                  value={r.currency}
                  onChange={(e) => set(i, { currency: e.target.value.toUpperCase() })}
                  error={save.fieldErrors[`rates.${i}.currency`]}
                />
                <Field
                  label="Rate"
                  inputMode="decimal"
                  value={r.amount}
                  onChange={(e) => set(i, { amount: e.target.value })}
                  error={save.fieldErrors[`rates.${i}.amount`]}
                />
                <Field
                  label="Free over"
                  inputMode="decimal"
                  value={r.free_over}
                  onChange={(e) => set(i, { free_over: e.target.value })}
                  error={save.fieldErrors[`rates.${i}.free_over`]}
                />
                <button
                  type="button"
                  className="link"
                  onClick={() => setRows((all) => all.filter((_, j) => j !== i))}
                >
                  Remove rate {i + 1}
                </button>
              </div>
            ))}
            <SaveFeedback save={save} />
            <div className="actions">
              <button
                type="button"
                onClick={() =>
                  setRows((all) => [...all, { country: '*', currency: 'USD', amount: '0.00', free_over: '' }])
                }
              >
                Add rate
              </button>
              <button type="submit" className="primary" disabled={save.busy}>
                Save shipping rates
              </button>
            </div>
          </form>
        )}
      </AsyncView>
    </section>
  );
}

function TaxRates() {
  const state = useAsync(() => api.get('/api/v1/admin/settings/tax-rates').then((r) => r.data), []);
  const [rows, setRows] = useState<{ country: string; percent: string }[]>([]);
  useEffect(() => {
    if (state.data)
      setRows(
        state.data.rates.map((r) => ({ country: r.country, percent: String(r.rate_basis_points / 100) })),
      );
  }, [state.data]);
  const save = useSave();
  const submit = (event: FormEvent) => {
    event.preventDefault();
    void save.run(() =>
      api.put('/api/v1/admin/settings/tax-rates', {
        body: {
          rates: rows.map((r) => ({
            country: r.country as '*',
            rate_basis_points: Math.round(Number(r.percent) * 100),
          })),
        },
      }),
    );
  };
  return (
    <section className="card" aria-labelledby="tax-h">
      <h2 id="tax-h">Tax rates</h2>
      <AsyncView state={state}>
        {() => (
          <form onSubmit={submit} className="form">
            {rows.map((r, i) => (
              <div className="rate-row" role="group" aria-label={`Tax rate ${i + 1}`} key={i}>
                <Field
                  label="Country"
                  value={r.country}
                  onChange={(e) =>
                    setRows((all) =>
                      all.map((x, j) => (j === i ? { ...x, country: e.target.value.toUpperCase() } : x)),
                    )
                  }
                  error={save.fieldErrors[`rates.${i}.country`]}
                />
                <Field
                  label="Rate (%)"
                  inputMode="decimal"
                  value={r.percent}
                  onChange={(e) =>
                    setRows((all) => all.map((x, j) => (j === i ? { ...x, percent: e.target.value } : x)))
                  }
                  error={save.fieldErrors[`rates.${i}.rate_basis_points`]}
                />
                <button
                  type="button"
                  className="link"
                  onClick={() => setRows((all) => all.filter((_, j) => j !== i))}
                >
                  Remove tax rate {i + 1}
                </button>
              </div>
            ))}
            <SaveFeedback save={save} />
            <div className="actions">
              <button
                type="button"
                onClick={() => setRows((all) => [...all, { country: '*', percent: '0' }])}
              >
                Add tax rate
              </button>
              <button type="submit" className="primary" disabled={save.busy}>
                Save tax rates
              </button>
            </div>
          </form>
        )}
      </AsyncView>
    </section>
  );
}

function EmailTemplates() {
  const templates = useAsync(() => api.get('/api/v1/admin/email-templates').then((r) => r.data), []);
  const [name, setName] = useState('');
  const preview = useAsync(
    () =>
      name
        ? api
            .post('/api/v1/admin/email-templates/{name}/preview', { path: { name }, body: {} })
            .then((r) => r.data)
        : Promise.resolve(null),
    [name],
  );
  return (
    <section className="card" aria-labelledby="templates-h">
      <h2 id="templates-h">E-mail templates</h2>
      <AsyncView state={templates}>
        {(list) => (
          <Select
            label="Preview a template"
            value={name}
            onChange={(e) => setName(e.target.value)}
            options={[
              ['', 'Choose a template'],
              ...list.map((t): [string, string] => [
                t.name,
                `${t.name}${t.overridden ? ' (customised)' : ''}`,
              ]),
            ]}
          />
        )}
      </AsyncView>
      {name && (
        <AsyncView state={preview}>
          {(p) =>
            p && (
              <div className="preview">
                <p>
                  <strong>Subject:</strong> {p.subject}
                </p>
                {/* The text version: the dashboard's strict CSP would strip the HTML version's inline styles. */}
                <pre className="preview-text">{p.text}</pre>
                <details>
                  <summary>HTML source</summary>
                  <pre>{p.html}</pre>
                </details>
              </div>
            )
          }
        </AsyncView>
      )}
    </section>
  );
}

const grantable = [
  'products:read',
  'products:write',
  'inventory:read',
  'inventory:write',
  'orders:read',
  'orders:write',
  'users:read',
  'audit:read',
  'jobs:read',
] as const;

function ApiClients() {
  const [page, setPage] = useState(1);
  const clients = useAsync(
    () => api.get('/api/v1/admin/api-clients', { query: { page, per_page: 10 } }),
    [page],
  );
  const [creating, setCreating] = useState(false);
  const [name, setName] = useState('');
  const [perms, setPerms] = useState<string[]>(['products:read']);
  const [secret, setSecret] = useState<{ client_id: string; client_secret: string } | null>(null);
  const [revoking, setRevoking] = useState<Schemas['ApiClient'] | null>(null);
  return (
    <section className="card" aria-labelledby="clients-h">
      <h2 id="clients-h">API clients</h2>
      {secret && (
        <div className="notice secret" role="status">
          <p>
            <strong>Copy the secret now: it is shown only once.</strong>
          </p>
          <p>
            Client id: <code>{secret.client_id}</code>
          </p>
          <p>
            Secret: <code className="client-secret">{secret.client_secret}</code>
          </p>
          <button type="button" onClick={() => setSecret(null)}>
            I have copied it
          </button>
        </div>
      )}
      <AsyncView state={clients} isEmpty={(r) => r.data.length === 0} empty="No API clients yet.">
        {(r) => (
          <>
            <div className="table-wrap">
              <table>
                <thead>
                  <tr>
                    <th scope="col">Name</th>
                    <th scope="col">Client id</th>
                    <th scope="col">Permissions</th>
                    <th scope="col">Last used</th>
                    <th scope="col">
                      <span className="visually-hidden">Actions</span>
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {r.data.map((c) => (
                    <tr key={c.id}>
                      <td>{c.name}</td>
                      <td>
                        <code>{c.client_id}</code>
                      </td>
                      <td>{c.permissions.join(', ')}</td>
                      <td>{dateTime(c.last_used_at)}</td>
                      <td>
                        {c.revoked_at ? (
                          <span className="muted">revoked</span>
                        ) : (
                          <button
                            type="button"
                            className="danger"
                            onClick={() => setRevoking(c)}
                            aria-label={`Revoke ${c.name}`}
                          >
                            Revoke
                          </button>
                        )}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            {r.meta && <Pagination meta={r.meta} onPage={setPage} />}
          </>
        )}
      </AsyncView>
      <div className="actions">
        <button type="button" className="primary" onClick={() => setCreating(true)}>
          New API client
        </button>
      </div>
      <ActionDialog
        title="New API client"
        open={creating}
        onClose={() => setCreating(false)}
        confirmLabel="Create client"
        action={async () => {
          const created = await api.post('/api/v1/admin/api-clients', {
            body: { name, permissions: perms as never },
          });
          setSecret({ client_id: created.data.client_id, client_secret: created.data.client_secret });
          setName('');
          clients.reload();
        }}
      >
        {(errors) => (
          <>
            <Field
              label="Name"
              value={name}
              onChange={(e) => setName(e.target.value)}
              required
              error={errors.name}
            />
            <fieldset>
              <legend>Permissions</legend>
              {errors.permissions && <p className="field-error">{errors.permissions}</p>}
              <div className="checks">
                {grantable.map((p) => (
                  <label key={p} className="check">
                    <input
                      type="checkbox"
                      checked={perms.includes(p)}
                      onChange={(e) =>
                        setPerms((all) => (e.target.checked ? [...all, p] : all.filter((x) => x !== p)))
                      }
                    />
                    {p}
                  </label>
                ))}
              </div>
            </fieldset>
          </>
        )}
      </ActionDialog>
      <ActionDialog
        title={`Revoke ${revoking?.name ?? ''}?`}
        open={revoking !== null}
        onClose={() => setRevoking(null)}
        danger
        confirmLabel="Revoke"
        action={async () => {
          await api.delete('/api/v1/admin/api-clients/{id}', { path: { id: revoking!.id } });
          clients.reload();
        }}
      >
        {() => <p>Its tokens stop working at once.</p>}
      </ActionDialog>
    </section>
  );
}
