import { api, type Schemas } from '../api/client';
import { Link } from '../router';
import { AsyncView, money, PageHeader, useAsync } from '../ui';

type Overview = Schemas['ShopOverview'];
type Day = Overview['days'][number];

/** The currency with the most revenue over the period (the chart shows one currency). */
function mainCurrency(days: Day[]): string {
  const totals = new Map<string, number>();
  for (const d of days)
    for (const r of d.revenue) totals.set(r.currency, (totals.get(r.currency) ?? 0) + r.amount);
  return [...totals.entries()].sort((a, b) => b[1] - a[1])[0]?.[0] ?? 'USD';
}
const revenueIn = (day: Day, currency: string) =>
  day.revenue.find((r) => r.currency === currency)?.amount ?? 0;

/** A bar chart in plain SVG: one bar per day, with a text alternative for screen readers. */
function BarChart({
  title,
  days,
  value,
  format,
}: {
  title: string;
  days: Day[];
  value: (d: Day) => number;
  format: (n: number) => string;
}) {
  const values = days.map(value);
  const max = Math.max(1, ...values);
  const width = 600;
  const height = 160;
  const bar = width / values.length;
  const summary = `${title}: ${format(values.reduce((a, b) => a + b, 0))} over ${values.length} days, peak ${format(Math.max(0, ...values))}.`;
  return (
    <figure className="chart">
      <figcaption>{title}</figcaption>
      <svg viewBox={`0 0 ${width} ${height + 20}`} role="img" aria-label={summary} preserveAspectRatio="none">
        <line x1="0" y1={height} x2={width} y2={height} className="axis" />
        {values.map((v, i) => {
          const h = (v / max) * (height - 10);
          return (
            <rect
              key={days[i]!.date}
              x={i * bar + 2}
              y={height - h}
              width={Math.max(1, bar - 4)}
              height={h}
              className="bar"
            >
              <title>{`${days[i]!.date}: ${format(v)}`}</title>
            </rect>
          );
        })}
        <text x="0" y={height + 16} className="tick">
          {days[0]?.date}
        </text>
        <text x={width} y={height + 16} className="tick" textAnchor="end">
          {days.at(-1)?.date}
        </text>
      </svg>
    </figure>
  );
}

function Stat({
  label,
  value,
  sub,
  to,
}: {
  label: string;
  value: string | number;
  sub?: string;
  to?: string;
}) {
  const body = (
    <>
      <span className="stat-label">{label}</span>
      <span className="stat-value">{value}</span>
      {sub && <span className="stat-sub">{sub}</span>}
    </>
  );
  return <div className="card stat">{to ? <Link to={to}>{body}</Link> : body}</div>;
}

export function OverviewPage() {
  const state = useAsync(() => api.get('/api/v1/admin/overview').then((r) => r.data), []);
  return (
    <>
      <PageHeader title="Overview" />
      <AsyncView state={state}>
        {(o) => {
          const currency = mainCurrency(o.days);
          const month = o.days.reduce((sum, d) => sum + revenueIn(d, currency), 0);
          const monthOrders = o.days.reduce((sum, d) => sum + d.orders, 0);
          return (
            <>
              <section className="stats" aria-label="Today">
                <Stat
                  label="Orders today"
                  value={o.today.orders}
                  sub={`${monthOrders} in 30 days`}
                  to="/orders"
                />
                <Stat
                  label="Revenue today"
                  value={money(revenueIn(o.today, currency), currency)}
                  sub={`${money(month, currency)} in 30 days`}
                />
                <Stat
                  label="Sign-ups today"
                  value={o.signups.today}
                  sub={`${o.signups.last_30_days} in 30 days`}
                  to="/customers"
                />
                <Stat
                  label="Failed payments today"
                  value={o.failed_payments.today}
                  sub={`${o.failed_payments.last_30_days} in 30 days`}
                />
                <Stat label="Low-stock variants" value={o.low_stock.total} to="/inventory?low_stock=true" />
                <Stat label="Dead letters" value={o.dead_letters} to="/jobs" />
              </section>
              <section className="charts">
                <BarChart title="Orders per day" days={o.days} value={(d) => d.orders} format={String} />
                <BarChart
                  title={`Revenue per day (${currency})`}
                  days={o.days}
                  value={(d) => revenueIn(d, currency)}
                  format={(n) => money(n, currency)}
                />
              </section>
              <section className="card">
                <h2>Low stock</h2>
                {o.low_stock.variants.length === 0 ? (
                  <p className="state state-empty">Every variant is above its threshold.</p>
                ) : (
                  <table>
                    <thead>
                      <tr>
                        <th scope="col">SKU</th>
                        <th scope="col">Available</th>
                        <th scope="col">Threshold</th>
                      </tr>
                    </thead>
                    <tbody>
                      {o.low_stock.variants.map((v) => (
                        <tr key={v.variant_id}>
                          <td>
                            <Link to={`/inventory?sku=${encodeURIComponent(v.sku)}`}>{v.sku}</Link>
                          </td>
                          <td>{v.available}</td>
                          <td>{v.threshold}</td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                )}
              </section>
            </>
          );
        }}
      </AsyncView>
    </>
  );
}
