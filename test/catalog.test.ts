import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, signInAdmin, signUp, type TestApp } from './helpers/app.js';

interface ProductBody {
  id: string;
  handle: string;
  title: string;
  status: string;
  categories: { id: string; handle: string; name: string }[];
  variants: { id: string; sku: string; price: { amount: number; currency: string }; available: number }[];
}

const tag = () => randomBytes(3).toString('hex');

describe('catalog', () => {
  let app: TestApp;
  let token: string;
  let customerToken: string;
  const cat: Record<string, string> = {};

  beforeAll(async () => {
    app = await createTestApp();
    token = (await signInAdmin(app)).accessToken;
    customerToken = (await signUp(app)).accessToken;
    // apparel > men > shirts, apparel > women, home
    for (const [handle, name, parent] of [
      ['apparel', 'Apparel', undefined],
      ['men', 'Men', 'apparel'],
      ['shirts', 'Shirts', 'men'],
      ['women', 'Women', 'apparel'],
      ['home', 'Home', undefined],
    ] as const) {
      const res = await app.api(
        'POST',
        '/api/v1/categories',
        { name, handle, parent_id: parent ? cat[parent] : null },
        token,
      );
      expect(res.status).toBe(201);
      cat[handle] = res.body.data.id as string;
    }
  });
  afterAll(() => app.close());

  const sku = (base: string) => `${base}-${tag()}`.toUpperCase();

  async function create(body: Record<string, unknown>): Promise<ProductBody> {
    const res = await app.api('POST', '/api/v1/products', { status: 'active', ...body }, token);
    if (res.status !== 201) throw new Error(`create failed: ${res.status} ${res.raw}`);
    return res.body.data as ProductBody;
  }
  const list = async (query: string) => {
    const res = await app.api('GET', `/api/v1/products?${query}`);
    expect(res.status, res.raw).toBe(200);
    return res.body as {
      data: ProductBody[];
      meta: Record<string, number>;
      links: Record<string, string | null>;
    };
  };
  const ids = (body: { data: ProductBody[] }) => body.data.map((p) => p.id);

  it('creates a product with variants and stock; the storefront shows it with what is available', async () => {
    const s = tag();
    const created = await create({
      title: `Linen Camp Shirt ${s}`,
      description: 'A breezy shirt for hot days.',
      category_ids: [cat.shirts],
      attributes: { material: 'linen', organic: true },
      images: ['https://cdn.example.com/camp-shirt.jpg'],
      variants: [
        {
          sku: sku('CAMP-S'),
          options: { size: 'S' },
          price: { amount: 4900, currency: 'USD' },
          initial_stock: 3,
        },
        {
          sku: sku('CAMP-M'),
          options: { size: 'M' },
          price: { amount: 5200, currency: 'USD' },
          weight_grams: 240,
          initial_stock: 0,
        },
      ],
    });
    expect(created.handle).toBe(`linen-camp-shirt-${s}`);
    expect(created.variants.map((v) => [v.available, v.price.amount])).toEqual([
      [3, 4900],
      [0, 5200],
    ]);

    const detail = await app.api('GET', `/api/v1/products/${created.handle}`);
    expect(detail.status).toBe(200);
    expect(detail.body.data).toMatchObject({
      id: created.id,
      status: 'active',
      attributes: { material: 'linen', organic: true },
      images: ['https://cdn.example.com/camp-shirt.jpg'],
      categories: [{ id: cat.shirts, handle: 'shirts', name: 'Shirts' }],
      variants: [
        {
          title: 'S',
          options: { size: 'S' },
          price: { amount: 4900, currency: 'USD' },
          available: 3,
          weight_grams: null,
        },
        { title: 'M', available: 0, weight_grams: 240 },
      ],
    });
    expect(detail.body.data.variants[0]).not.toHaveProperty('archived_at');
    expect((await app.api('GET', `/api/v1/products/${created.id}`)).body.data.handle).toBe(created.handle);

    const found = await list(`q=${s}`);
    expect(ids(found)).toEqual([created.id]);
    expect(found.data[0]!.variants.map((v) => v.available)).toEqual([3, 0]);

    // A second product of the same title gets a handle of its own.
    const twin = await create({
      title: `Linen Camp Shirt ${s}`,
      variants: [{ sku: sku('TWIN'), options: {}, price: { amount: 100, currency: 'USD' } }],
    });
    expect(twin.handle).toBe(`linen-camp-shirt-${s}-2`);
    expect(twin.variants[0]).toMatchObject({ title: 'Default', available: 0 });
  });

  it('hides drafts, archived products and archived variants from the storefront', async () => {
    const s = tag();
    const draft = await create({
      title: `Draft Lamp ${s}`,
      status: 'draft',
      variants: [{ sku: sku('LAMP'), price: { amount: 3000, currency: 'USD' }, initial_stock: 5 }],
    });
    const live = await create({
      title: `Live Lamp ${s}`,
      variants: [
        {
          sku: sku('LAMP-A'),
          options: { finish: 'Brass' },
          price: { amount: 3000, currency: 'USD' },
          initial_stock: 5,
        },
        {
          sku: sku('LAMP-B'),
          options: { finish: 'Black' },
          price: { amount: 2000, currency: 'USD' },
          initial_stock: 5,
        },
      ],
    });
    expect((await app.api('GET', `/api/v1/products/${draft.handle}`)).status).toBe(404);
    expect((await app.api('GET', `/api/v1/products/${draft.id}`)).status).toBe(404);
    expect(ids(await list(`q=${s}`))).toEqual([live.id]);
    // Admins see drafts.
    const adminView = await app.api('GET', `/api/v1/admin/products/${draft.id}`, undefined, token);
    expect(adminView.body.data.status).toBe('draft');
    const adminList = await app.api('GET', `/api/v1/admin/products?q=${s}&status=draft`, undefined, token);
    expect(adminList.body.data.map((p: ProductBody) => p.id)).toEqual([draft.id]);

    // Archiving the cheaper variant hides it and lifts the product's price to the other one.
    const archived = await app.api(
      'POST',
      `/api/v1/products/${live.id}/variants/${live.variants[1]!.id}/archive`,
      undefined,
      token,
    );
    expect(archived.status).toBe(200);
    expect(archived.body.data.variants[1].archived_at).toEqual(expect.any(String));
    const publicView = await app.api('GET', `/api/v1/products/${live.id}`);
    expect(publicView.body.data.variants.map((v: { sku: string }) => v.sku)).toEqual([live.variants[0]!.sku]);
    expect(ids(await list(`q=${s}&max_price=2500`))).toEqual([]);

    const gone = await app.api('POST', `/api/v1/products/${live.id}/archive`, undefined, token);
    expect(gone.body.data.status).toBe('archived');
    expect((await app.api('GET', `/api/v1/products/${live.id}`)).status).toBe(404);
    expect(ids(await list(`q=${s}`))).toEqual([]);
  });

  it('lets only admins write the catalog', async () => {
    const body = {
      title: 'Sneaky',
      status: 'active',
      variants: [{ sku: sku('SNEAK'), price: { amount: 1, currency: 'USD' } }],
    };
    expect((await app.api('POST', '/api/v1/products', body, customerToken)).status).toBe(403);
    expect((await app.api('POST', '/api/v1/products', body)).status).toBe(401);
    expect((await app.api('POST', '/api/v1/categories', { name: 'X' }, customerToken)).status).toBe(403);
    expect((await app.api('GET', '/api/v1/admin/products', undefined, customerToken)).status).toBe(403);
    expect(
      (
        await app.request({
          method: 'POST',
          url: '/api/v1/admin/products/import',
          headers: { 'content-type': 'text/csv', authorization: `Bearer ${customerToken}` },
          payload: 'handle\n',
        })
      ).statusCode,
    ).toBe(403);
  });

  it('validates products: bad URLs, attributes, currencies; duplicate SKU or handle is a 409 naming the field', async () => {
    const s = tag();
    const base = {
      title: `Valid ${s}`,
      status: 'active',
      variants: [{ sku: sku('VAL'), price: { amount: 100, currency: 'USD' } }],
    };
    for (const bad of [
      { images: ['javascript:alert(1)'] },
      { images: ['ftp://example.com/x.jpg'] },
      { attributes: { nested: { no: 1 } } },
      { attributes: { 'bad key': 'x' } },
      { handle: 'Not a handle!' },
      {
        variants: [
          { sku: 'A1', price: { amount: 1, currency: 'USD' }, options: { size: 'S' } },
          { sku: 'A2', price: { amount: 1, currency: 'EUR' }, options: { size: 'M' } },
        ],
      },
      { variants: [] },
      { variants: [{ sku: 'A1', price: { amount: -1, currency: 'USD' } }] },
      { status: 'published' },
      { category_ids: ['00000000-0000-4000-8000-000000000000'] },
    ]) {
      const res = await app.api('POST', '/api/v1/products', { ...base, ...bad }, token);
      expect(res.status, JSON.stringify(bad)).toBe(400);
      expect(res.body.error.code).toBe('VALIDATION_ERROR');
    }

    const first = await create({ ...base, handle: `valid-${s}` });
    const dupSku = await app.api(
      'POST',
      '/api/v1/products',
      {
        ...base,
        title: 'Other',
        variants: [
          { sku: sku('FRESH'), price: { amount: 1, currency: 'USD' }, options: { size: 'S' } },
          { sku: first.variants[0]!.sku, price: { amount: 1, currency: 'USD' }, options: { size: 'M' } },
        ],
      },
      token,
    );
    expect(dupSku.status).toBe(409);
    expect(dupSku.body.error).toMatchObject({
      code: 'CONFLICT',
      details: { field: 'variants.1.sku', sku: first.variants[0]!.sku },
    });
    const dupHandle = await app.api(
      'POST',
      '/api/v1/products',
      { ...base, handle: `valid-${s}`, variants: [{ sku: sku('H'), price: { amount: 1, currency: 'USD' } }] },
      token,
    );
    expect(dupHandle.status).toBe(409);
    expect(dupHandle.body.error.details).toMatchObject({ field: 'handle' });

    const addDup = await app.api(
      'POST',
      `/api/v1/products/${first.id}/variants`,
      { sku: first.variants[0]!.sku, options: { size: 'XL' }, price: { amount: 1, currency: 'USD' } },
      token,
    );
    expect(addDup.status).toBe(409);
    expect(addDup.body.error.details).toMatchObject({ field: 'sku' });
  });

  it('audits price changes and keeps the product price and search up to date', async () => {
    const s = tag();
    const p = await create({
      title: `Walnut Board ${s}`,
      variants: [{ sku: sku('BOARD'), options: { size: 'S' }, price: { amount: 2500, currency: 'USD' } }],
    });
    const added = await app.api(
      'POST',
      `/api/v1/products/${p.id}/variants`,
      {
        sku: sku('BOARD-L'),
        options: { size: 'L' },
        price: { amount: 4500, currency: 'USD' },
        initial_stock: 2,
      },
      token,
    );
    expect(added.status).toBe(201);
    expect(added.body.data.variants).toHaveLength(2);
    const variantId = p.variants[0]!.id;

    const changed = await app.api(
      'PATCH',
      `/api/v1/products/${p.id}/variants/${variantId}`,
      { price: { amount: 1999, currency: 'USD' } },
      token,
    );
    expect(changed.status).toBe(200);
    expect(changed.body.data.variants[0].price.amount).toBe(1999);
    const audit = await app.api(
      'GET',
      `/api/v1/admin/audit-log?action=catalog.price_changed&target_id=${variantId}`,
      undefined,
      token,
    );
    expect(audit.body.data).toHaveLength(1);
    expect(audit.body.data[0]).toMatchObject({
      target_type: 'variant',
      diff: { price_amount: { from: 2500, to: 1999 } },
      metadata: { product_id: p.id, sku: p.variants[0]!.sku },
    });
    // A change of something else is not a price change.
    await app.api('PATCH', `/api/v1/products/${p.id}/variants/${variantId}`, { weight_grams: 900 }, token);
    const again = await app.api(
      'GET',
      `/api/v1/admin/audit-log?action=catalog.price_changed&target_id=${variantId}`,
      undefined,
      token,
    );
    expect(again.body.data).toHaveLength(1);

    // A new SKU reaches inventory's copy too.
    const newSku = sku('BOARD-S2');
    await app.api('PATCH', `/api/v1/products/${p.id}/variants/${variantId}`, { sku: newSku }, token);
    const stock = await app.api('GET', `/api/v1/admin/inventory?sku=${newSku}`, undefined, token);
    expect(stock.body.data).toEqual([expect.objectContaining({ variant_id: variantId, sku: newSku })]);

    expect(ids(await list(`q=${s}&max_price=1999`))).toEqual([p.id]);
    expect(ids(await list(`q=${s}&min_price=2000`))).toEqual([]);

    // Renaming re-indexes: the new word finds it, the old one no longer does.
    const renamed = await app.api('PATCH', `/api/v1/products/${p.id}`, { title: `Cherry Board ${s}` }, token);
    expect(renamed.status).toBe(200);
    expect(ids(await list(`q=cherry ${s}`))).toEqual([p.id]);
    expect(ids(await list(`q=walnut ${s}`))).toEqual([]);
  });

  it('tells orders the price and sellability of variants', async () => {
    const live = await create({
      title: `Order Me ${tag()}`,
      variants: [
        {
          sku: sku('OM-A'),
          options: { size: 'S' },
          price: { amount: 1250, currency: 'EUR' },
          weight_grams: 90,
        },
        { sku: sku('OM-B'), options: { size: 'M' }, price: { amount: 1350, currency: 'EUR' } },
      ],
    });
    const draft = await create({
      title: `Not Yet ${tag()}`,
      status: 'draft',
      variants: [{ sku: sku('NY'), price: { amount: 500, currency: 'EUR' } }],
    });
    await app.api(
      'POST',
      `/api/v1/products/${live.id}/variants/${live.variants[1]!.id}/archive`,
      undefined,
      token,
    );
    const ctx = app.bazaar.systemContext();
    const found = await app.bazaar.catalog.variantsForSale(ctx, [
      live.variants[0]!.id,
      live.variants[1]!.id,
      draft.variants[0]!.id,
      '00000000-0000-4000-8000-000000000000',
    ]);
    expect(found.size).toBe(3);
    expect(found.get(live.variants[0]!.id)).toEqual({
      variantId: live.variants[0]!.id,
      productId: live.id,
      sku: live.variants[0]!.sku,
      title: 'S',
      productTitle: live.title,
      options: { size: 'S' },
      priceAmount: 1250,
      currency: 'EUR',
      weightGrams: 90,
      purchasable: true,
    });
    expect(found.get(live.variants[1]!.id)?.purchasable).toBe(false); // archived variant
    expect(found.get(draft.variants[0]!.id)?.purchasable).toBe(false); // draft product
  });

  describe('search, filters, sorts and pagination', () => {
    const s = tag();
    const made: Record<string, ProductBody> = {};

    beforeAll(async () => {
      const specs: [string, string, string[], number, number, Record<string, string | number | boolean>][] = [
        ['oxford', `Oxford Shirt ${s}`, [cat.shirts!], 4500, 10, { color: 'Blue', fit: 'slim' }],
        ['flannel', `Flannel Shirt ${s}`, [cat.men!], 3900, 0, { color: 'Red', fit: 'regular' }],
        ['blouse', `Silk Blouse ${s}`, [cat.women!], 8900, 2, { color: 'Blue', fit: 'relaxed' }],
        ['mug', `Stoneware Mug ${s}`, [cat.home!], 1500, 30, { color: 'Blue', pieces: 1 }],
        ['towel', `Cotton Towel ${s}`, [cat.home!], 2200, 0, { color: 'White', pieces: 2 }],
      ];
      for (const [key, title, categoryIds, price, stock, attributes] of specs) {
        made[key] = await create({
          title,
          description: key === 'mug' ? 'Pairs well with a shirt and a good book.' : 'A fine thing.',
          category_ids: categoryIds,
          attributes: { ...attributes, collection: `c${s}` },
          variants: [
            {
              sku: sku(key),
              options: { size: 'One' },
              price: { amount: price, currency: 'USD' },
              initial_stock: stock,
            },
          ],
        });
      }
    });
    const scoped = (query: string) => list(`attr.collection=c${s}&${query}`);

    it('finds products by word and by a typo, ranking title matches first', async () => {
      const byWord = await scoped('q=shirt');
      // Two titles say shirt; the mug only mentions it in its description, so it ranks last.
      expect(ids(byWord).slice(0, 2).sort()).toEqual([made.oxford!.id, made.flannel!.id].sort());
      expect(ids(byWord)[2]).toBe(made.mug!.id);
      expect(byWord.data).toHaveLength(3);

      const byTypo = await scoped('q=shrit');
      expect(ids(byTypo)).toEqual(expect.arrayContaining([made.oxford!.id, made.flannel!.id]));
      expect(ids(byTypo)).not.toContain(made.towel!.id);
      expect(ids(await scoped('q=oxfrod shirt'))).toEqual([made.oxford!.id]);
      expect(ids(await scoped('q=blouze'))).toEqual([made.blouse!.id]);
      expect(ids(await scoped('q=nothing-like-this'))).toEqual([]);
      // Attribute values are searchable too.
      expect(ids(await scoped('q=slim'))).toEqual([made.oxford!.id]);
    });

    it('filters by category with its descendants, price range, stock and attributes', async () => {
      const sorted = (list: string[]) => [...list].sort();
      expect(sorted(ids(await scoped('category=apparel')))).toEqual(
        sorted([made.oxford!.id, made.flannel!.id, made.blouse!.id]),
      );
      expect(sorted(ids(await scoped('category=men')))).toEqual(sorted([made.oxford!.id, made.flannel!.id]));
      expect(ids(await scoped(`category=${cat.shirts}`))).toEqual([made.oxford!.id]);
      expect(ids(await scoped('category=no-such-category'))).toEqual([]);
      expect(sorted(ids(await scoped('min_price=2000&max_price=4500')))).toEqual(
        sorted([made.oxford!.id, made.flannel!.id, made.towel!.id]),
      );
      expect(sorted(ids(await scoped('in_stock=true')))).toEqual(
        sorted([made.oxford!.id, made.blouse!.id, made.mug!.id]),
      );
      expect(sorted(ids(await scoped('in_stock=false')))).toEqual(sorted([made.flannel!.id, made.towel!.id]));
      expect(sorted(ids(await scoped('attr.color=Blue&in_stock=true&category=apparel')))).toEqual(
        sorted([made.oxford!.id, made.blouse!.id]),
      );
      expect(ids(await scoped('attr.pieces=2'))).toEqual([made.towel!.id]);
      expect(ids(await scoped('attr.color=Blue&attr.fit=slim'))).toEqual([made.oxford!.id]);

      const bad = await app.api('GET', '/api/v1/products?colour=blue');
      expect(bad.status).toBe(400);
      expect((await app.api('GET', '/api/v1/products?sort=cheapest')).status).toBe(400);
    });

    it('sorts by price both ways and by newest', async () => {
      const byPrice = ids(await scoped('sort=price'));
      expect(byPrice).toEqual(
        [made.mug, made.towel, made.flannel, made.oxford, made.blouse].map((p) => p!.id),
      );
      expect(ids(await scoped('sort=-price'))).toEqual([...byPrice].reverse());
      expect(ids(await scoped('sort=newest'))).toEqual(
        [made.towel, made.mug, made.blouse, made.flannel, made.oxford].map((p) => p!.id),
      );
      expect(ids(await scoped(''))).toEqual(ids(await scoped('sort=newest')));
    });
  });

  it('keyset cursors page through every result exactly once and agree with page/per_page', async () => {
    const s = tag();
    // 23 products in one import: the same created_at for all and repeated prices, so the id
    // tie-break is what keeps pages apart.
    const imported = await app.api(
      'POST',
      '/api/v1/admin/products/import',
      {
        products: Array.from({ length: 23 }, (_, i) => ({
          title: `Paging Item ${s} ${i}`,
          status: 'active',
          attributes: { collection: `p${s}` },
          variants: [{ sku: sku(`PG${i}`), price: { amount: 1000 + (i % 4) * 250, currency: 'USD' } }],
        })),
      },
      token,
    );
    expect(imported.status, imported.raw).toBe(201);

    for (const sort of ['newest', 'price', '-price']) {
      const base = `/api/v1/products?attr.collection=p${s}&sort=${sort}&per_page=5`;
      const byPage: string[] = [];
      for (let page = 1; page <= 5; page += 1) {
        const res = await app.api('GET', `${base}&page=${page}`);
        expect(res.body.meta).toMatchObject({ page, per_page: 5, total: 23, total_pages: 5 });
        byPage.push(...res.body.data.map((p: ProductBody) => p.id));
      }
      // A page past the last still knows how many there are.
      const beyond = await app.api('GET', `${base}&page=7`);
      expect(beyond.body.data).toEqual([]);
      expect(beyond.body.meta).toMatchObject({ page: 7, total: 23, total_pages: 5 });
      const byCursor: string[] = [];
      let next: string | null = base;
      let pages = 0;
      while (next) {
        const res = await app.api('GET', next);
        expect(res.status, res.raw).toBe(200);
        pages += 1;
        expect(res.body.meta).toMatchObject({ page: pages, total: 23 });
        byCursor.push(...res.body.data.map((p: ProductBody) => p.id));
        next = res.body.links.next as string | null;
        if (next) expect(next).toContain('cursor=');
      }
      expect(pages).toBe(5);
      expect(new Set(byCursor).size).toBe(23);
      expect(byCursor).toEqual(byPage);
    }

    const tampered = await app.api(
      'GET',
      `/api/v1/products?sort=price&cursor=${Buffer.from('{"s":"price"}').toString('base64url')}`,
    );
    expect(tampered.status).toBe(400);
    expect(tampered.body.error.details[0].field).toBe('cursor');
    const first = await app.api('GET', `/api/v1/products?attr.collection=p${s}&sort=price&per_page=5`);
    const cursor = new URL(first.body.links.next as string, 'http://x').searchParams.get('cursor')!;
    const mismatch = await app.api(
      'GET',
      `/api/v1/products?attr.collection=p${s}&sort=newest&cursor=${cursor}`,
    );
    expect(mismatch.status).toBe(400);
  });

  it('imports CSV grouped by handle, and rejects a file with one bad row entirely, with a row report', async () => {
    const s = tag();
    const csv = [
      'handle,title,description,status,category_handles,sku,option1_name,option1_value,option2_name,option2_value,price_amount,currency,initial_stock',
      `tee-${s},Pocket Tee ${s},"A tee with a pocket, in ""heavy"" cotton",active,shirts|men,TEE-${s}-S,size,S,color,Black,2500,USD,10`,
      `tee-${s},,,,,TEE-${s}-M,size,M,color,Black,2500,USD,5`,
      `tee-${s},,,,,TEE-${s}-L,size,L,color,Black,2700,USD,`,
      `mug-${s},Camp Mug ${s},Enamel,draft,home,MUG-${s},,,,,1800,usd,40`,
    ].join('\r\n');
    const post = (payload: string) =>
      app.request({
        method: 'POST',
        url: '/api/v1/admin/products/import',
        headers: { 'content-type': 'text/csv', authorization: `Bearer ${token}` },
        payload,
      });

    const ok = await post(csv);
    expect(ok.statusCode, ok.body).toBe(201);
    expect(JSON.parse(ok.body).data).toEqual({ imported_products: 2, imported_variants: 4 });
    const tee = (await app.api('GET', `/api/v1/products/tee-${s}`)).body.data;
    expect(tee).toMatchObject({
      title: `Pocket Tee ${s}`,
      description: 'A tee with a pocket, in "heavy" cotton',
      categories: expect.arrayContaining([expect.objectContaining({ handle: 'shirts' })]),
    });
    expect(
      tee.variants.map((v: { options: object; available: number; price: { amount: number } }) => [
        v.options,
        v.available,
        v.price.amount,
      ]),
    ).toEqual([
      [{ size: 'S', color: 'Black' }, 10, 2500],
      [{ size: 'M', color: 'Black' }, 5, 2500],
      [{ size: 'L', color: 'Black' }, 0, 2700],
    ]);
    expect((await app.api('GET', `/api/v1/products/mug-${s}`)).status).toBe(404); // a draft

    const t = tag();
    const bad = [
      'handle,title,sku,option1_name,option1_value,price_amount,currency,initial_stock',
      `cap-${t},Cap ${t},CAP-${t}-1,size,S,1500,USD,3`,
      `cap-${t},,CAP-${t}-2,size,M,fifteen,USD,3`,
      `bag-${t},Bag ${t},TEE-${s}-S,,,1500,USD,1`,
      `box-${t},,BOX-${t},,,1500,DOLLARS,1`,
      `cup-${t},Cup ${t},CUP-${t},size,,900,USD,1`,
    ].join('\n');
    const rejected = await post(bad);
    expect(rejected.statusCode).toBe(400);
    const report = JSON.parse(rejected.body).error;
    expect(report.code).toBe('VALIDATION_ERROR');
    expect(report.details.imported).toBe(0);
    const problems = report.details.errors.map((e: { row: number; field: string }) => `${e.row}:${e.field}`);
    expect(problems).toEqual(
      expect.arrayContaining(['3:price_amount', '4:sku', '5:title', '5:currency', '6:option1_value']),
    );
    expect(report.details.errors.find((e: { row: number }) => e.row === 4).message).toContain(
      'already exists',
    );
    expect((await app.api('GET', `/api/v1/products/cap-${t}`)).status).toBe(404); // nothing half-imported
    const capInAdmin = await app.api('GET', `/api/v1/admin/products/cap-${t}`, undefined, token);
    expect(capInAdmin.status).toBe(404);

    const garbage = await post('handle,title\n"unclosed');
    expect(garbage.statusCode).toBe(400);
    const unknownColumn = await post('handle,title,sku,price_amount,currency,colour\nx,X,X1,1,USD,red');
    expect(JSON.parse(unknownColumn.body).error.details.errors[0]).toMatchObject({ row: 1, field: 'colour' });

    const json = await app.api(
      'POST',
      '/api/v1/admin/products/import',
      {
        products: [
          { title: `Good ${t}`, variants: [{ sku: sku('GOOD'), price: { amount: 1, currency: 'USD' } }] },
          { title: '', variants: [{ sku: sku('BAD'), price: { amount: 1, currency: 'USD' } }] },
        ],
      },
      token,
    );
    expect(json.status).toBe(400);
    expect(json.body.error.details.errors).toEqual([expect.objectContaining({ row: 2, field: 'title' })]);
    expect((await app.api('GET', `/api/v1/admin/products?q=${t}`, undefined, token)).body.data).toEqual([]);
  });

  it('serves the category tree and keeps it a tree', async () => {
    const tree = await app.api('GET', '/api/v1/categories');
    expect(tree.status).toBe(200);
    const apparel = tree.body.data.find((c: { handle: string }) => c.handle === 'apparel');
    expect(apparel.children.map((c: { handle: string }) => c.handle)).toEqual(['men', 'women']);
    expect(apparel.children[0].children[0]).toMatchObject({
      handle: 'shirts',
      parent_id: cat.men,
      children: [],
    });

    const cycle = await app.api(
      'PATCH',
      `/api/v1/categories/${cat.apparel}`,
      { parent_id: cat.shirts },
      token,
    );
    expect(cycle.status).toBe(400);
    const hasChildren = await app.api('DELETE', `/api/v1/categories/${cat.men}`, undefined, token);
    expect(hasChildren.status).toBe(409);
    const dup = await app.api('POST', '/api/v1/categories', { name: 'Again', handle: 'shirts' }, token);
    expect(dup.status).toBe(409);

    const temp = await app.api(
      'POST',
      '/api/v1/categories',
      { name: 'Kitchen & Dining', parent_id: cat.home },
      token,
    );
    expect(temp.body.data).toMatchObject({ handle: 'kitchen-dining', parent_id: cat.home });
    const moved = await app.api(
      'PATCH',
      `/api/v1/categories/${temp.body.data.id}`,
      { parent_id: null, position: 9 },
      token,
    );
    expect(moved.body.data).toMatchObject({ parent_id: null, position: 9 });
    expect(
      (await app.api('DELETE', `/api/v1/categories/${temp.body.data.id}`, undefined, token)).status,
    ).toBe(204);
  });
});

describe('demo catalog', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp();
  });
  afterAll(() => app.close());

  it('seeds ≥ 1,000 products and ≥ 3,000 variants quickly, once', async () => {
    const ctx = app.bazaar.systemContext();
    const started = performance.now();
    const seeded = await app.bazaar.catalog.seedDemoCatalog(ctx);
    const ms = Math.round(performance.now() - started);
    console.log(`seedDemoCatalog on ${app.bazaar.database.kind}: ${ms} ms`, seeded);
    expect(seeded).toMatchObject({ created: true });
    expect(seeded.products).toBeGreaterThanOrEqual(1000);
    expect(seeded.variants).toBeGreaterThanOrEqual(3000);
    expect(seeded.categories).toBeGreaterThanOrEqual(15);
    expect(await app.bazaar.catalog.seedDemoCatalog(ctx)).toMatchObject({ created: false, products: 0 });

    // The storefront over the demo data: searchable, filterable, deep pages by cursor.
    const timed = async (url: string) => {
      const t0 = performance.now();
      const res = await app.api('GET', url);
      const elapsed = Math.round((performance.now() - t0) * 10) / 10;
      expect(res.status, res.raw).toBe(200);
      return { res, elapsed };
    };
    const timings: Record<string, number> = {};
    for (const url of [
      '/api/v1/products?per_page=20',
      '/api/v1/products?q=shirt&per_page=20',
      '/api/v1/products?q=shrit&per_page=20',
      '/api/v1/products?q=wireless%20headphones&per_page=20',
      '/api/v1/products?category=apparel&in_stock=true&sort=price&per_page=50',
      '/api/v1/products?attr.brand=Kestrel&min_price=2000&max_price=9000&per_page=20',
      '/api/v1/products?page=40&per_page=25',
    ]) {
      await timed(url); // warm
      const runs: number[] = [];
      for (let i = 0; i < 5; i += 1) runs.push((await timed(url)).elapsed);
      timings[url] = runs.sort((a, b) => a - b)[2]!; // the median
    }
    const shirts = (await timed('/api/v1/products?q=shirt&per_page=10')).res;
    expect(shirts.body.meta.total).toBeGreaterThan(10);
    expect(shirts.body.data[0].title.toLowerCase()).toContain('shirt');
    const typo = (await timed('/api/v1/products?q=shrit&per_page=10')).res;
    expect(typo.body.data[0].title.toLowerCase()).toContain('shirt');
    const apparel = (await timed('/api/v1/products?category=apparel&per_page=1')).res;
    const shirtsOnly = (await timed('/api/v1/products?category=mens-shirts&per_page=1')).res;
    expect(apparel.body.meta.total).toBeGreaterThan(shirtsOnly.body.meta.total);

    let next: string | null = '/api/v1/products?sort=newest&per_page=100';
    const seen = new Set<string>();
    let deepest = 0;
    while (next) {
      const { res, elapsed } = await timed(next);
      deepest = elapsed;
      for (const p of res.body.data) seen.add(p.id);
      next = res.body.links.next;
    }
    timings['cursor, last page of newest'] = deepest;
    const total = (await timed('/api/v1/products?per_page=1')).res.body.meta.total;
    expect(seen.size).toBe(total);
    console.log(
      `storefront latencies on ${app.bazaar.database.kind} (median ms of 5, in-process inject):`,
      timings,
    );
  }, 120_000);
});
