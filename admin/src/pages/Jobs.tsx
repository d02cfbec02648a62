import { useState } from 'react';
import { api, type Schemas } from '../api/client';
import { ActionDialog, AsyncView, dateTime, PageHeader, Pagination, useAsync } from '../ui';

export function JobsPage() {
  const queues = useAsync(() => api.get('/api/v1/admin/jobs').then((r) => r.data), []);
  const [page, setPage] = useState(1);
  const letters = useAsync(
    () => api.get('/api/v1/admin/jobs/dead-letters', { query: { page, per_page: 20 } }),
    [page],
  );
  const [replaying, setReplaying] = useState<Schemas['DeadLetter'] | null>(null);
  const [replayed, setReplayed] = useState<string | null>(null);
  const busy = (queues.data ?? []).filter(
    (q) => q.queued + q.active + q.retrying + q.failed + q.dead_letters > 0,
  );
  return (
    <>
      <PageHeader title="Jobs" />
      <section className="card" aria-labelledby="queues-h">
        <h2 id="queues-h">Queues</h2>
        <AsyncView state={queues} isEmpty={() => busy.length === 0} empty="Every queue is empty.">
          {() => (
            <div className="table-wrap">
              <table>
                <thead>
                  <tr>
                    <th scope="col">Queue</th>
                    <th scope="col">Queued</th>
                    <th scope="col">Active</th>
                    <th scope="col">Retrying</th>
                    <th scope="col">Failed (24 h)</th>
                    <th scope="col">Dead letters</th>
                  </tr>
                </thead>
                <tbody>
                  {busy.map((q) => (
                    <tr key={q.queue}>
                      <td>{q.queue}</td>
                      <td>{q.queued}</td>
                      <td>{q.active}</td>
                      <td>{q.retrying}</td>
                      <td>{q.failed}</td>
                      <td>{q.dead_letters}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </AsyncView>
      </section>
      <section className="card" aria-labelledby="dead-h">
        <h2 id="dead-h">Dead letters</h2>
        {replayed && (
          <p className="notice" role="status">
            Replayed as job {replayed}.
          </p>
        )}
        <AsyncView
          state={letters}
          isEmpty={(r) => r.data.length === 0}
          empty="No dead letters: every job succeeded or is still retrying."
        >
          {(r) => (
            <>
              <ul className="plain dead-letters">
                {r.data.map((d) => (
                  <li key={d.id} className="dead-letter">
                    <div>
                      <strong>{d.queue}</strong>{' '}
                      <span className="muted">
                        · failed {dateTime(d.failed_at)} after {d.retry_count} retries
                      </span>
                    </div>
                    <pre className="error-text">{d.error}</pre>
                    <button
                      type="button"
                      onClick={() => setReplaying(d)}
                      aria-label={`Replay dead letter of ${d.queue}`}
                    >
                      Replay
                    </button>
                  </li>
                ))}
              </ul>
              {r.meta && <Pagination meta={r.meta} onPage={setPage} />}
            </>
          )}
        </AsyncView>
      </section>
      <ActionDialog
        title={`Replay the dead letter of ${replaying?.queue ?? ''}?`}
        open={replaying !== null}
        onClose={() => setReplaying(null)}
        confirmLabel="Replay"
        action={async () => {
          const r = await api.post('/api/v1/admin/jobs/dead-letters/{id}/replay', {
            path: { id: replaying!.id },
          });
          setReplayed(r.data.job_id);
          letters.reload();
          queues.reload();
        }}
      >
        {() => (
          <p>
            The job runs again with fresh retries. Handlers apply each event once, so a replay never doubles
            an effect.
          </p>
        )}
      </ActionDialog>
    </>
  );
}
