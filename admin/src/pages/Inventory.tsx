import { useState, type FormEvent } from 'react';
import { api, type Schemas } from '../api/client';
import { setQuery, useRoute } from '../router';
import { ActionDialog, AsyncView, dateTime, Field, PageHeader, Pagination, useAsync, formText } from '../ui';

type Stock = Schemas['StockLevel'];

export function InventoryPage() {
  const { query } = useRoute();
  const sku = query.get('sku') ?? '';
  const lowStock = query.get('low_stock') === 'true';
  const page = Number(query.get('page') ?? 1);
  const state = useAsync(
    () =>
      api.get('/api/v1/admin/inventory', {
        query: {
          sku: sku || undefined,
          low_stock: lowStock ? 'true' : undefined,
          page,
          per_page: 25,
        } as never,
      }),
    [sku, lowStock, page],
  );
  const [adjusting, setAdjusting] = useState<Stock | null>(null);
  const [delta, setDelta] = useState('');
  const [reason, setReason] = useState('');
  const filter = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setQuery({
      sku: formText(form, 'sku'),
      low_stock: form.get('low_stock') ? 'true' : undefined,
      page: undefined,
    });
  };
  return (
    <>
      <PageHeader title="Inventory" />
      <form
        className="filters"
        role="search"
        aria-label="Filter stock"
        onSubmit={filter}
        key={query.toString()}
      >
        <Field label="SKU" name="sku" defaultValue={sku} />
        <label className="check">
          <input type="checkbox" name="low_stock" defaultChecked={lowStock} /> Low stock only
        </label>
        <button type="submit">Filter</button>
      </form>
      <AsyncView
        state={state}
        isEmpty={(r) => r.data.length === 0}
        empty={lowStock ? 'Nothing is low on stock.' : 'No stock matches.'}
      >
        {(result) => (
          <>
            <div className="table-wrap">
              <table>
                <thead>
                  <tr>
                    <th scope="col">SKU</th>
                    <th scope="col">On hand</th>
                    <th scope="col">Reserved</th>
                    <th scope="col">Available</th>
                    <th scope="col">Updated</th>
                    <th scope="col">
                      <span className="visually-hidden">Actions</span>
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {result.data.map((s) => (
                    <tr key={s.variant_id} className={s.low_stock ? 'row-warning' : undefined}>
                      <td>
                        {s.sku} {s.low_stock && <span className="badge badge-low">low</span>}
                      </td>
                      <td>{s.on_hand}</td>
                      <td>{s.reserved}</td>
                      <td>{s.available}</td>
                      <td>{dateTime(s.updated_at)}</td>
                      <td>
                        <button
                          type="button"
                          onClick={() => {
                            setDelta('');
                            setReason('');
                            setAdjusting(s);
                          }}
                          aria-label={`Adjust stock of ${s.sku}`}
                        >
                          Adjust
                        </button>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            {result.meta && <Pagination meta={result.meta} onPage={(n) => setQuery({ page: String(n) })} />}
          </>
        )}
      </AsyncView>
      <ActionDialog
        title={`Adjust stock of ${adjusting?.sku ?? ''}`}
        open={adjusting !== null}
        onClose={() => setAdjusting(null)}
        confirmLabel="Adjust stock"
        action={async () => {
          await api.post('/api/v1/admin/inventory/{variant_id}/adjustments', {
            path: { variant_id: adjusting!.variant_id },
            body: { delta: Number(delta), reason },
          });
          state.reload();
        }}
      >
        {(errors) => (
          <>
            <p>On hand now: {adjusting?.on_hand}. Use a negative number to remove units.</p>
            <Field
              label="Change in units"
              type="number"
              value={delta}
              onChange={(e) => setDelta(e.target.value)}
              required
              error={errors.delta}
            />
            <Field
              label="Reason"
              value={reason}
              onChange={(e) => setReason(e.target.value)}
              required
              error={errors.reason}
            />
          </>
        )}
      </ActionDialog>
    </>
  );
}
