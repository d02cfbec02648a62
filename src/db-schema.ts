/** Every table, for drizzle-kit's migration generator. Application code imports module indexes instead. */
export * from './platform/jobs/schema.js';
export * from './modules/users/schema.js';
export * from './modules/auth/schema.js';
export * from './modules/audit/schema.js';
export * from './platform/http/idempotency-schema.js';
export * from './modules/catalog/schema.js';
export * from './modules/inventory/schema.js';
export * from './modules/orders/schema.js';
export * from './modules/payments/schema.js';
export * from './modules/notifications/schema.js';
