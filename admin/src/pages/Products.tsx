import { useState, type FormEvent } from 'react';
import { api, ApiError, type Schemas } from '../api/client';
import { Link, navigate, setQuery, useRoute } from '../router';
import {
  AsyncView,
  Field,
  messageOf,
  money,
  PageHeader,
  Pagination,
  Select,
  StatusBadge,
  TextArea,
  useAsync,
  formText,
} from '../ui';

export function ProductsPage() {
  const { query } = useRoute();
  const q = query.get('q') ?? '';
  const status = query.get('status') ?? '';
  const page = Number(query.get('page') ?? 1);
  const state = useAsync(
    () =>
      api.get('/api/v1/admin/products', {
        query: { q: q || undefined, status: (status || undefined) as never, page, per_page: 20 },
      }),
    [q, status, page],
  );
  const search = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setQuery({ q: formText(form, 'q'), status: formText(form, 'status'), page: undefined });
  };
  return (
    <>
      <PageHeader title="Products">
        <Link to="/products/import" className="button">
          Import CSV
        </Link>
        <Link to="/products/new" className="button primary">
          New product
        </Link>
      </PageHeader>
      <form
        className="filters"
        role="search"
        aria-label="Search products"
        onSubmit={search}
        key={query.toString()}
      >
        <Field label="Search" name="q" type="search" defaultValue={q} />
        <Select
          label="Status"
          name="status"
          defaultValue={status}
          options={[
            ['', 'Any status'],
            ['draft', 'Draft'],
            ['active', 'Active'],
            ['archived', 'Archived'],
          ]}
        />
        <button type="submit">Search</button>
      </form>
      <AsyncView state={state} isEmpty={(r) => r.data.length === 0} empty="No products match.">
        {(result) => (
          <>
            <div className="table-wrap">
              <table>
                <thead>
                  <tr>
                    <th scope="col">Product</th>
                    <th scope="col">Status</th>
                    <th scope="col">Variants</th>
                    <th scope="col">Price</th>
                    <th scope="col">Available</th>
                  </tr>
                </thead>
                <tbody>
                  {result.data.map((p) => (
                    <tr key={p.id}>
                      <td>
                        <Link to={`/products/${p.id}`}>{p.title}</Link>
                      </td>
                      <td>
                        <StatusBadge status={p.status} />
                      </td>
                      <td>{p.variants.length}</td>
                      <td>
                        {p.variants[0]
                          ? money(p.variants[0].price.amount, p.variants[0].price.currency)
                          : '—'}
                      </td>
                      <td>{p.variants.reduce((sum, v) => sum + v.available, 0)}</td>
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

interface VariantDraft {
  id?: string;
  sku: string;
  title: string;
  options: string;
  price: string;
  currency: string;
  stock: string;
}

const optionsText = (options: Record<string, string>) =>
  Object.entries(options)
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');
const parseOptions = (text: string) =>
  Object.fromEntries(
    text
      .split(',')
      .map((pair) => pair.split('=').map((s) => s.trim()))
      .filter((pair) => pair[0] && pair[1]),
  ) as Record<string, string>;
const cents = (text: string) => Math.round(Number(text) * 100);
const emptyVariant = (): VariantDraft => ({
  sku: '',
  title: '',
  options: '',
  price: '',
  currency: 'USD',
  stock: '0',
});

type Product = Schemas['Product'];

export function ProductEditPage({ id }: { id: string | null }) {
  const product = useAsync(
    () =>
      id
        ? api.get('/api/v1/admin/products/{id}', { path: { id } }).then((r) => r.data)
        : Promise.resolve(null),
    [id],
  );
  const categories = useAsync(() => api.get('/api/v1/categories').then((r) => r.data), []);
  return (
    <>
      <PageHeader title={id ? 'Edit product' : 'New product'}>
        <Link to="/products">All products</Link>
      </PageHeader>
      <AsyncView state={product}>
        {(p) => <ProductForm product={p} categories={categories.data ?? []} />}
      </AsyncView>
    </>
  );
}

function ProductForm({
  product,
  categories,
}: {
  product: Product | null;
  categories: Schemas['Category'][];
}) {
  const [title, setTitle] = useState(product?.title ?? '');
  const [handle, setHandle] = useState(product?.handle ?? '');
  const [description, setDescription] = useState(product?.description ?? '');
  const [status, setStatus] = useState<string>(product?.status ?? 'draft');
  const [images, setImages] = useState((product?.images ?? []).join('\n'));
  const [categoryIds, setCategoryIds] = useState<string[]>((product?.categories ?? []).map((c) => c.id));
  const [variants, setVariants] = useState<VariantDraft[]>(
    product
      ? product.variants.map((v) => ({
          id: v.id,
          sku: v.sku,
          title: v.title,
          options: optionsText(v.options),
          price: (v.price.amount / 100).toFixed(2),
          currency: v.price.currency,
          stock: String(v.available),
        }))
      : [emptyVariant()],
  );
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [message, setMessage] = useState<{ kind: 'error' | 'ok'; text: string } | null>(null);
  const [busy, setBusy] = useState(false);

  const setVariant = (index: number, change: Partial<VariantDraft>) =>
    setVariants((all) => all.map((v, i) => (i === index ? { ...v, ...change } : v)));

  const variantBody = (v: VariantDraft) => ({
    sku: v.sku,
    ...(v.title ? { title: v.title } : {}),
    options: parseOptions(v.options),
    price: { amount: cents(v.price), currency: v.currency },
  });

  const save = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setErrors({});
    setMessage(null);
    const imageList = images
      .split('\n')
      .map((s) => s.trim())
      .filter(Boolean);
    try {
      if (!product) {
        const created = await api.post('/api/v1/products', {
          body: {
            title,
            ...(handle ? { handle } : {}),
            description,
            status: status as Product['status'],
            category_ids: categoryIds,
            attributes: {},
            images: imageList,
            variants: variants.map((v) => ({ ...variantBody(v), initial_stock: Number(v.stock) || 0 })),
          },
        });
        navigate(`/products/${created.data.id}`, { replace: true });
        return;
      }
      const path = { id: product.id };
      await api.patch('/api/v1/products/{id}', {
        path,
        body: {
          title,
          handle,
          description,
          status: status as Product['status'],
          category_ids: categoryIds,
          images: imageList,
        },
      });
      for (const [index, v] of variants.entries()) {
        try {
          if (v.id)
            await api.patch('/api/v1/products/{id}/variants/{variant_id}', {
              path: { id: product.id, variant_id: v.id },
              body: variantBody(v),
            });
          else
            await api.post('/api/v1/products/{id}/variants', {
              path,
              body: { ...variantBody(v), initial_stock: Number(v.stock) || 0 },
            });
        } catch (e) {
          if (e instanceof ApiError)
            throw new ApiError(e.status, e.code, e.message, prefixDetails(e.details, `variants.${index}`));
          throw e;
        }
      }
      setMessage({ kind: 'ok', text: 'Saved.' });
    } catch (e) {
      if (e instanceof ApiError) setErrors(e.fieldErrors);
      setMessage({ kind: 'error', text: messageOf(e) });
    } finally {
      setBusy(false);
    }
  };

  return (
    <form className="card form" onSubmit={(e) => void save(e)} noValidate>
      <div className="grid-2">
        <Field
          label="Title"
          value={title}
          onChange={(e) => setTitle(e.target.value)}
          required
          error={errors.title}
        />
        <Field
          label="Handle"
          value={handle}
          onChange={(e) => setHandle(e.target.value)}
          hint="Made from the title when empty."
          error={errors.handle}
        />
      </div>
      <TextArea
        label="Description"
        value={description}
        onChange={(e) => setDescription(e.target.value)}
        rows={4}
        error={errors.description}
      />
      <div className="grid-2">
        <Select
          label="Status"
          value={status}
          onChange={(e) => setStatus(e.target.value)}
          options={[
            ['draft', 'Draft'],
            ['active', 'Active'],
            ['archived', 'Archived'],
          ]}
          error={errors.status}
        />
        <TextArea
          label="Image URLs"
          value={images}
          onChange={(e) => setImages(e.target.value)}
          rows={3}
          hint="One https URL per line."
          error={errors.images ?? Object.entries(errors).find(([k]) => k.startsWith('images.'))?.[1]}
        />
      </div>
      <fieldset>
        <legend>Categories</legend>
        {categories.length === 0 && <p className="muted">No categories yet.</p>}
        <div className="checks">
          {categories.map((c) => (
            <label key={c.id} className="check">
              <input
                type="checkbox"
                checked={categoryIds.includes(c.id)}
                onChange={(e) =>
                  setCategoryIds((ids) => (e.target.checked ? [...ids, c.id] : ids.filter((x) => x !== c.id)))
                }
              />
              {c.name}
            </label>
          ))}
        </div>
      </fieldset>
      <fieldset>
        <legend>Variants</legend>
        {errors.variants && <p className="field-error">{errors.variants}</p>}
        {variants.map((v, i) => (
          <div className="variant-row" key={v.id ?? `new-${i}`} role="group" aria-label={`Variant ${i + 1}`}>
            <Field
              label="SKU"
              value={v.sku}
              onChange={(e) => setVariant(i, { sku: e.target.value })}
              required
              error={errors[`variants.${i}.sku`]}
            />
            <Field
              label="Title"
              value={v.title}
              onChange={(e) => setVariant(i, { title: e.target.value })}
              error={errors[`variants.${i}.title`]}
            />
            <Field
              label="Options"
              value={v.options}
              placeholder="size=M, color=Blue"
              onChange={(e) => setVariant(i, { options: e.target.value })}
              error={errors[`variants.${i}.options`]}
            />
            <Field
              label="Price"
              inputMode="decimal"
              value={v.price}
              onChange={(e) => setVariant(i, { price: e.target.value })}
              required
              error={errors[`variants.${i}.price.amount`] ?? errors[`variants.${i}.price`]}
            />
            <Field
              label="Currency"
              value={v.currency}
              onChange={(e) => setVariant(i, { currency: e.target.value.toUpperCase() })}
              error={errors[`variants.${i}.price.currency`]}
            />
            {!v.id && (
              <Field
                label="Initial stock"
                type="number"
                min={0}
                value={v.stock}
                onChange={(e) => setVariant(i, { stock: e.target.value })}
                error={errors[`variants.${i}.initial_stock`]}
              />
            )}
            {!v.id && variants.length > 1 && (
              <button
                type="button"
                className="link"
                onClick={() => setVariants((all) => all.filter((_, j) => j !== i))}
              >
                Remove variant {i + 1}
              </button>
            )}
          </div>
        ))}
        <button type="button" onClick={() => setVariants((all) => [...all, emptyVariant()])}>
          Add variant
        </button>
      </fieldset>
      {message && (
        <p
          className={message.kind === 'ok' ? 'notice' : 'form-error'}
          role={message.kind === 'ok' ? 'status' : 'alert'}
        >
          {message.text}
        </p>
      )}
      <div className="actions">
        <button type="submit" className="primary" disabled={busy}>
          {busy ? 'Saving…' : product ? 'Save changes' : 'Create product'}
        </button>
      </div>
    </form>
  );
}

function prefixDetails(details: unknown, prefix: string) {
  if (!Array.isArray(details)) return details;
  return (details as { field: string; message: string }[]).map((d) => ({
    ...d,
    field: `${prefix}.${d.field}`,
  }));
}

interface ImportProblem {
  row: number;
  field: string;
  message: string;
}

export function ProductImportPage() {
  const [csv, setCsv] = useState('');
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<{ products: number; variants: number } | null>(null);
  const [problems, setProblems] = useState<ImportProblem[] | null>(null);
  const [error, setError] = useState<string | null>(null);

  const upload = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setResult(null);
    setProblems(null);
    setError(null);
    try {
      const r = await api.post('/api/v1/admin/products/import', {
        raw: { contentType: 'text/csv', text: csv },
      });
      setResult({ products: r.data.imported_products, variants: r.data.imported_variants });
    } catch (e) {
      const report =
        e instanceof ApiError ? (e.details as { errors?: ImportProblem[] } | undefined) : undefined;
      if (report?.errors) setProblems(report.errors);
      else setError(messageOf(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <>
      <PageHeader title="Import products">
        <Link to="/products">All products</Link>
      </PageHeader>
      <form className="card form" onSubmit={(e) => void upload(e)}>
        <Field
          label="CSV file"
          type="file"
          accept=".csv,text/csv"
          onChange={(e) => void e.target.files?.[0]?.text().then(setCsv)}
          hint="One row per variant; rows with the same handle form one product."
        />
        <TextArea
          label="CSV contents"
          value={csv}
          onChange={(e) => setCsv(e.target.value)}
          rows={8}
          className="mono"
        />
        <div className="actions">
          <button type="submit" className="primary" disabled={busy || !csv.trim()}>
            {busy ? 'Importing…' : 'Import'}
          </button>
        </div>
      </form>
      {result && (
        <p className="notice" role="status">
          Imported {result.products} products with {result.variants} variants.
        </p>
      )}
      {error && (
        <p className="form-error" role="alert">
          {error}
        </p>
      )}
      {problems && (
        <section className="card" aria-labelledby="report-h">
          <h2 id="report-h">Nothing was imported: {problems.length} problems</h2>
          <div className="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">Row</th>
                  <th scope="col">Field</th>
                  <th scope="col">Problem</th>
                </tr>
              </thead>
              <tbody>
                {problems.map((p, i) => (
                  <tr key={i}>
                    <td>{p.row}</td>
                    <td>{p.field}</td>
                    <td>{p.message}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </section>
      )}
    </>
  );
}
