import { useState, type FormEvent } from 'react';
import { api, type Schemas } from '../api/client';
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
  useWhileSettling,
  formText,
} from '../ui';

const statuses = [
  'pending_payment',
  'paid',
  'fulfilled',
  'shipped',
  'delivered',
  'cancelled',
  'refunded',
  'partially_refunded',
];
const dayStart = (date: string | null) => (date ? `${date}T00:00:00Z` : undefined);
const dayEnd = (date: string | null) => (date ? `${date}T23:59:59Z` : undefined);

export function OrdersPage() {
  const { query } = useRoute();
  const filters = Object.fromEntries(
    ['q', 'status', 'from', 'to', 'customer', 'page'].map((k) => [k, query.get(k)]),
  );
  const state = useAsync(
    () =>
      api.get('/api/v1/admin/orders', {
        query: {
          q: filters.q || undefined,
          status: (filters.status || undefined) as never,
          created_from: dayStart(filters.from ?? null),
          created_to: dayEnd(filters.to ?? null),
          customer: filters.customer || undefined,
          page: Number(filters.page ?? 1),
          per_page: 20,
        },
      }),
    [query.toString()],
  );
  const apply = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setQuery({
      q: formText(form, 'q'),
      status: formText(form, 'status'),
      from: formText(form, 'from'),
      to: formText(form, 'to'),
      page: undefined,
    });
  };
  return (
    <>
      <PageHeader title="Orders" />
      <form
        className="filters"
        role="search"
        aria-label="Filter orders"
        onSubmit={apply}
        key={query.toString()}
      >
        <Field label="Order number or e-mail" name="q" type="search" defaultValue={filters.q ?? ''} />
        <Select
          label="Status"
          name="status"
          defaultValue={filters.status ?? ''}
          options={[
            ['', 'Any status'],
            ...statuses.map((s): [string, string] => [s, s.replaceAll('_', ' ')]),
          ]}
        />
        <Field label="Placed from" name="from" type="date" defaultValue={filters.from ?? ''} />
        <Field label="Placed to" name="to" type="date" defaultValue={filters.to ?? ''} />
        <button type="submit">Filter</button>
      </form>
      {filters.customer && (
        <p className="notice">
          Orders of one customer.{' '}
          <button type="button" className="link" onClick={() => setQuery({ customer: undefined })}>
            Show all
          </button>
        </p>
      )}
      <AsyncView state={state} isEmpty={(r) => r.data.length === 0} empty="No orders match these filters.">
        {(result) => (
          <>
            <div className="table-wrap">
              <table>
                <thead>
                  <tr>
                    <th scope="col">Order</th>
                    <th scope="col">Customer</th>
                    <th scope="col">Status</th>
                    <th scope="col">Total</th>
                    <th scope="col">Placed</th>
                  </tr>
                </thead>
                <tbody>
                  {result.data.map((o) => (
                    <tr key={o.id}>
                      <td>
                        <Link to={`/orders/${o.id}`}>{o.number}</Link>
                      </td>
                      <td>{o.email}</td>
                      <td>
                        <StatusBadge status={o.status} />
                      </td>
                      <td>{money(o.totals.total, o.totals.currency)}</td>
                      <td>{dateTime(o.created_at)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            {result.meta && <Pagination meta={result.meta} onPage={(p) => setQuery({ page: String(p) })} />}
          </>
        )}
      </AsyncView>
    </>
  );
}

type Order = Schemas['OrderDetail'];
type Action = 'fulfill' | 'ship' | 'deliver' | 'cancel' | 'refund' | null;

export function OrderDetailPage({ id }: { id: string }) {
  // Payments are read before the order. A refund that settles between the two reads then shows
  // as still pending (and is polled below), never as an order total the list does not have yet.
  const detail = useAsync(async () => {
    const payments = (await api.get('/api/v1/orders/{id}/payments', { path: { id } })).data;
    const order = (await api.get('/api/v1/orders/{id}', { path: { id } })).data;
    return { order, payments };
  }, [id]);
  const order = { ...detail, data: detail.data?.order };
  const payments = { ...detail, data: detail.data?.payments };
  useWhileSettling(detail, (d) => d.payments.some((p) => p.refunds.some((r) => r.status === 'pending')));
  const [action, setAction] = useState<Action>(null);
  const close = () => setAction(null);
  const reload = detail.reload;
  return (
    <>
      <AsyncView state={order}>
        {(o) => (
          <>
            <PageHeader title={`Order ${o.number}`}>
              <StatusBadge status={o.status} />
              {(o.status === 'paid' || (o.status === 'partially_refunded' && !o.tracking_number)) && (
                <button type="button" onClick={() => setAction('fulfill')}>
                  Fulfil
                </button>
              )}
              {(o.status === 'fulfilled' || (o.status === 'partially_refunded' && !o.tracking_number)) && (
                <button type="button" className="primary" onClick={() => setAction('ship')}>
                  Ship
                </button>
              )}
              {o.status === 'shipped' && (
                <button type="button" onClick={() => setAction('deliver')}>
                  Mark delivered
                </button>
              )}
              {o.status === 'pending_payment' && (
                <button type="button" className="danger" onClick={() => setAction('cancel')}>
                  Cancel order
                </button>
              )}
              {o.paid_at && o.status !== 'refunded' && (
                <button type="button" onClick={() => setAction('refund')}>
                  Refund
                </button>
              )}
            </PageHeader>
            <div className="grid-2">
              <section className="card" aria-labelledby="items-h">
                <h2 id="items-h">Items</h2>
                <div className="table-wrap">
                  <table>
                    <thead>
                      <tr>
                        <th scope="col">Item</th>
                        <th scope="col">SKU</th>
                        <th scope="col">Qty</th>
                        <th scope="col">Total</th>
                      </tr>
                    </thead>
                    <tbody>
                      {o.items.map((i) => (
                        <tr key={i.variant_id}>
                          <td>{i.title}</td>
                          <td>{i.sku}</td>
                          <td>{i.quantity}</td>
                          <td>{money(i.line_total.amount, i.line_total.currency)}</td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </div>
                <dl className="totals">
                  <dt>Subtotal</dt>
                  <dd>{money(o.totals.subtotal, o.totals.currency)}</dd>
                  <dt>Shipping</dt>
                  <dd>{money(o.totals.shipping, o.totals.currency)}</dd>
                  <dt>Tax</dt>
                  <dd>{money(o.totals.tax, o.totals.currency)}</dd>
                  <dt>Total</dt>
                  <dd>
                    <strong>{money(o.totals.total, o.totals.currency)}</strong>
                  </dd>
                </dl>
              </section>
              <section className="card" aria-labelledby="customer-h">
                <h2 id="customer-h">Customer and shipping</h2>
                <p>
                  <Link to={`/customers/${o.user_id}`}>{o.email}</Link>
                </p>
                <address>
                  {o.shipping_address.name}
                  <br />
                  {o.shipping_address.line1}
                  <br />
                  {o.shipping_address.postal_code} {o.shipping_address.city}, {o.shipping_address.country}
                </address>
                {o.tracking_number && (
                  <p>
                    Tracking: <strong className="tracking">{o.tracking_number}</strong> {o.carrier}
                  </p>
                )}
              </section>
              <section className="card" aria-labelledby="payments-h">
                <h2 id="payments-h">Payments</h2>
                <AsyncView state={payments} isEmpty={(p) => p.length === 0} empty="No payment attempts yet.">
                  {(list) => (
                    <ul className="plain">
                      {list.map((p) => (
                        <li key={p.id}>
                          <StatusBadge status={p.status} /> {money(p.amount, p.currency)} via {p.gateway}
                          {p.failure_reason && <span className="muted"> — {p.failure_reason}</span>}
                          {p.amount_refunded > 0 && (
                            <span> · refunded {money(p.amount_refunded, p.currency)}</span>
                          )}
                          <span className="muted"> · {dateTime(p.created_at)}</span>
                          {p.refunds.length > 0 && (
                            <ul>
                              {p.refunds.map((r) => (
                                <li key={r.id}>
                                  Refund {money(r.amount, r.currency)} <StatusBadge status={r.status} /> —{' '}
                                  {r.reason}
                                </li>
                              ))}
                            </ul>
                          )}
                        </li>
                      ))}
                    </ul>
                  )}
                </AsyncView>
              </section>
              <section className="card" aria-labelledby="history-h">
                <h2 id="history-h">Status history</h2>
                <ol className="timeline" aria-label="Status timeline">
                  {o.status_history.map((h, i) => (
                    <li key={i}>
                      <StatusBadge status={h.to} />
                      <span className="muted">
                        {' '}
                        {dateTime(h.at)} · {h.actor_type}
                      </span>
                      {h.note && <p>{h.note}</p>}
                    </li>
                  ))}
                </ol>
              </section>
            </div>
            <OrderActions order={o} action={action} close={close} done={reload} />
          </>
        )}
      </AsyncView>
    </>
  );
}

function OrderActions({
  order,
  action,
  close,
  done,
}: {
  order: Order;
  action: Action;
  close: () => void;
  done: () => void;
}) {
  const [tracking, setTracking] = useState('');
  const [carrier, setCarrier] = useState('');
  const [reason, setReason] = useState('');
  const [amount, setAmount] = useState('');
  const path = { id: order.id };
  const refundable = order.totals.total - (order.totals.refunded ?? 0);
  const after = async (work: Promise<unknown>) => {
    await work;
    done();
  };
  return (
    <>
      <ActionDialog
        title={`Fulfil ${order.number}?`}
        open={action === 'fulfill'}
        onClose={close}
        confirmLabel="Fulfil order"
        action={() => after(api.post('/api/v1/orders/{id}/fulfill', { path, body: {} }))}
      >
        {() => <p>The order is packed and ready to ship.</p>}
      </ActionDialog>
      <ActionDialog
        title={`Ship ${order.number}`}
        open={action === 'ship'}
        onClose={close}
        confirmLabel="Mark shipped"
        action={() =>
          after(
            api.post('/api/v1/orders/{id}/ship', {
              path,
              body: { tracking_number: tracking, ...(carrier ? { carrier } : {}) },
            }),
          )
        }
      >
        {(errors) => (
          <>
            <Field
              label="Tracking number"
              value={tracking}
              onChange={(e) => setTracking(e.target.value)}
              required
              error={errors.tracking_number}
            />
            <Field
              label="Carrier"
              value={carrier}
              onChange={(e) => setCarrier(e.target.value)}
              error={errors.carrier}
            />
          </>
        )}
      </ActionDialog>
      <ActionDialog
        title={`Mark ${order.number} delivered?`}
        open={action === 'deliver'}
        onClose={close}
        confirmLabel="Mark delivered"
        action={() => after(api.post('/api/v1/orders/{id}/deliver', { path, body: {} }))}
      />
      <ActionDialog
        title={`Cancel ${order.number}?`}
        open={action === 'cancel'}
        onClose={close}
        danger
        confirmLabel="Cancel order"
        action={() => after(api.post('/api/v1/orders/{id}/cancel', { path, body: reason ? { reason } : {} }))}
      >
        {(errors) => (
          <>
            <p>The reserved stock is released. This cannot be undone.</p>
            <Field
              label="Reason (optional)"
              value={reason}
              onChange={(e) => setReason(e.target.value)}
              error={errors.reason}
            />
          </>
        )}
      </ActionDialog>
      <ActionDialog
        title={`Refund ${order.number}`}
        open={action === 'refund'}
        onClose={close}
        danger
        confirmLabel="Refund"
        action={() =>
          after(
            api.post('/api/v1/orders/{id}/refunds', {
              path,
              body: { reason, ...(amount ? { amount: Math.round(Number(amount) * 100) } : {}) },
              headers: { 'idempotency-key': crypto.randomUUID() },
            }),
          )
        }
      >
        {(errors) => (
          <>
            <p>
              Up to {money(refundable, order.totals.currency)} can be refunded. Leave the amount empty to
              refund all of it.
            </p>
            <Field
              label={`Amount (${order.totals.currency}, optional)`}
              inputMode="decimal"
              value={amount}
              onChange={(e) => setAmount(e.target.value)}
              error={errors.amount}
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
