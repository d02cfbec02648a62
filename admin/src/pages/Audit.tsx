import { type FormEvent } from 'react';
import { api, type Schemas } from '../api/client';
import { setQuery, useRoute } from '../router';
import { AsyncView, dateTime, Field, PageHeader, Pagination, useAsync, formText } from '../ui';

const show = (value: unknown) => (value === undefined ? '—' : JSON.stringify(value));

function Diff({ entry }: { entry: Schemas['AuditEntry'] }) {
  if (!entry.diff) {
    return entry.metadata ? <code className="meta">{JSON.stringify(entry.metadata)}</code> : null;
  }
  return (
    <ul className="plain diff">
      {Object.entries(entry.diff).map(([field, change]) => (
        <li key={field}>
          <strong>{field}</strong>: <del>{show(change.from)}</del> → <ins>{show(change.to)}</ins>
        </li>
      ))}
    </ul>
  );
}

export function AuditPage() {
  const { query } = useRoute();
  const get = (k: string) => query.get(k) ?? '';
  const page = Number(query.get('page') ?? 1);
  const state = useAsync(
    () =>
      api.get('/api/v1/admin/audit-log', {
        query: {
          action: get('action') || undefined,
          target_type: get('target_type') || undefined,
          target_id: get('target_id') || undefined,
          actor_id: get('actor_id') || undefined,
          from: get('from') ? `${get('from')}T00:00:00Z` : undefined,
          to: get('to') ? `${get('to')}T23:59:59Z` : undefined,
          page,
          per_page: 25,
        },
      }),
    [query.toString()],
  );
  const filter = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const value = (k: string) => formText(form, k);
    setQuery({
      action: value('action'),
      target_type: value('target_type'),
      target_id: value('target_id'),
      from: value('from'),
      to: value('to'),
      page: undefined,
    });
  };
  return (
    <>
      <PageHeader title="Audit log" />
      <form
        className="filters"
        role="search"
        aria-label="Filter the audit log"
        onSubmit={filter}
        key={query.toString()}
      >
        <Field label="Action" name="action" defaultValue={get('action')} placeholder="order.shipped" />
        <Field label="Target type" name="target_type" defaultValue={get('target_type')} />
        <Field label="Target id" name="target_id" defaultValue={get('target_id')} />
        <Field label="From" name="from" type="date" defaultValue={get('from')} />
        <Field label="To" name="to" type="date" defaultValue={get('to')} />
        <button type="submit">Filter</button>
      </form>
      <AsyncView state={state} isEmpty={(r) => r.data.length === 0} empty="No entries match.">
        {(r) => (
          <>
            <div className="table-wrap">
              <table className="audit">
                <thead>
                  <tr>
                    <th scope="col">When</th>
                    <th scope="col">Action</th>
                    <th scope="col">Target</th>
                    <th scope="col">Actor</th>
                    <th scope="col">Changes</th>
                  </tr>
                </thead>
                <tbody>
                  {r.data.map((e) => (
                    <tr key={e.id}>
                      <td>{dateTime(e.occurred_at)}</td>
                      <td className="action">{e.action}</td>
                      <td>
                        {e.target_type} <span className="muted">{e.target_id}</span>
                      </td>
                      <td>
                        {e.actor_type} <span className="muted">{e.actor_id}</span>
                      </td>
                      <td>
                        <Diff entry={e} />
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            {r.meta && <Pagination meta={r.meta} onPage={(n) => setQuery({ page: String(n) })} />}
          </>
        )}
      </AsyncView>
    </>
  );
}
