import { describe, expect, it } from 'vitest';
import { findViolations, parseImports } from './boundaries.js';

/** A small app that keeps every rule. */
const cleanApp: Record<string, string> = {
  'src/main.ts': `import { buildApp } from './app.js';\nawait import('./worker.js');\n`,
  'src/app.ts': [
    `import Fastify from 'fastify';`,
    `import { ordersRoutes } from './modules/orders/index.js';`,
    `import { catalogRoutes } from './modules/catalog/index.js';`,
    `import { db } from './platform/db/client.js';`,
  ].join('\n'),
  'src/worker.ts': `export { startWorker } from './modules/orders/index.js';\n`,
  'src/db-schema.ts': [
    `export * from './modules/orders/schema.js';`,
    `export * from './modules/catalog/schema.js';`,
  ].join('\n'),
  'src/platform/db/client.ts': `import { readFile } from 'node:fs/promises';\nimport { config } from '../../config.js';\n`,
  'src/platform/http/errors.ts': `import type { FastifyReply } from 'fastify';\nimport { db } from '../db/client.js';\n`,
  'src/config.ts': `import { z } from 'zod';\n`,
  'src/modules/orders/index.ts': `export { placeOrder } from './service.js';\nexport * from './events.js';\n`,
  'src/modules/orders/service.ts': [
    `import {`,
    `  reserveStock,`,
    `  type Sku,`,
    `} from '../catalog/index.js';`,
    `import { orders } from './schema.js';`,
    `// import { products } from '../catalog/schema.js';  (a comment, not an import)`,
    `/**`,
    ` * Never: import { x } from '../catalog/service.js'`,
    ` */`,
  ].join('\n'),
  'src/modules/orders/schema.ts': `import { pgTable } from 'drizzle-orm/pg-core';\n`,
  'src/modules/orders/events.ts': `export const ORDER_CREATED = 'order.created';\n`,
  'src/modules/orders/service.test.ts': [
    `import { describe } from 'vitest';`,
    `import { placeOrder } from './service.js';`,
    `import { orders } from './schema.js';`,
    `import { reserveStock } from '../catalog/index.js';`,
  ].join('\n'),
  'src/modules/catalog/index.ts': `export { reserveStock, type Sku } from './service.js';\n`,
  'src/modules/catalog/service.ts': `import { products } from './schema.js';\n`,
  'src/modules/catalog/schema.ts': `import { pgTable } from 'drizzle-orm/pg-core';\n`,
};

function check(overrides: Record<string, string>) {
  return findViolations(new Map(Object.entries({ ...cleanApp, ...overrides })));
}

describe('findViolations', () => {
  it('passes an app that keeps every rule', () => {
    expect(check({})).toEqual([]);
  });

  it('(a) rejects platform code importing a module, even through its index', () => {
    const violations = check({
      'src/platform/http/errors.ts': `import { db } from '../db/client.js';\nimport { hasRole } from '../../modules/auth/index.js';\n`,
    });
    expect(violations).toEqual([
      expect.objectContaining({
        file: 'src/platform/http/errors.ts',
        line: 2,
        specifier: '../../modules/auth/index.js',
        message: expect.stringContaining('platform code must not import module "auth"') as string,
      }),
    ]);
  });

  it("(b) rejects a module reaching into another module's internals", () => {
    const violations = check({
      'src/modules/orders/service.ts': [
        `import { reserveStock } from '../catalog/index.js';`,
        `import { products } from '../catalog/schema.js';`,
        `import type { Sku } from '../catalog/service.js';`,
        `export { findProduct } from '../catalog/service.js';`,
        `const lazy = () => import('../catalog/service.js');`,
      ].join('\n'),
    });
    expect(violations.map((v) => [v.line, v.specifier])).toEqual([
      [2, '../catalog/schema.js'],
      [3, '../catalog/service.js'],
      [4, '../catalog/service.js'],
      [5, '../catalog/service.js'],
    ]);
    expect(violations[0]?.message).toBe(
      'module "orders" may import module "catalog" only through src/modules/catalog/index.js, not src/modules/catalog/schema.ts',
    );
  });

  it("(c) rejects code outside the modules importing a module's internals", () => {
    const violations = check({
      'src/app.ts': `import { ordersRoutes } from './modules/orders/routes.js';\n`,
      'src/main.ts': `import { orders } from './modules/orders/schema.js';\n`,
      'src/db-schema.ts': `export * from './modules/orders/schema.js';\nexport * from './modules/orders/service.js';\n`,
    });
    expect(violations.map((v) => `${v.file}:${v.line}: ${v.specifier}`)).toEqual([
      'src/app.ts:1: ./modules/orders/routes.js',
      'src/db-schema.ts:2: ./modules/orders/service.js',
      'src/main.ts:1: ./modules/orders/schema.js',
    ]);
  });

  it('(c) only src/db-schema.ts may collect the schema files', () => {
    const violations = check({
      'src/platform/db/schema.ts': `export * from '../../modules/orders/schema.js';\n`,
    });
    expect(violations).toHaveLength(1);
    expect(violations[0]?.file).toBe('src/platform/db/schema.ts');
  });

  it('(d) holds test files to the same rules', () => {
    const violations = check({
      'src/modules/orders/service.test.ts': [
        `import { placeOrder } from './service.js';`,
        `import { products } from '../catalog/schema.js';`,
      ].join('\n'),
    });
    expect(violations).toEqual([
      expect.objectContaining({ file: 'src/modules/orders/service.test.ts', line: 2 }),
    ]);
  });
});

describe('parseImports', () => {
  it('finds static, re-export, side-effect and dynamic imports with their lines', () => {
    const source = [
      `import a from './a.js';`,
      `import {`,
      `  b,`,
      `} from "./b.js";`,
      `import './side-effect.js';`,
      `export * as c from './c.js';`,
      `// import d from './commented.js';`,
      `const e = await import('./e.js');`,
      `const text = 'from here';`,
    ].join('\n');
    expect(parseImports(source)).toEqual([
      { specifier: './a.js', line: 1 },
      { specifier: './b.js', line: 2 },
      { specifier: './side-effect.js', line: 5 },
      { specifier: './c.js', line: 6 },
      { specifier: './e.js', line: 8 },
    ]);
  });
});
