/** Every table, for drizzle-kit's migration generator. Application code imports module indexes instead. */
export * from './platform/jobs/schema.js';
export * from './modules/users/schema.js';
export * from './modules/auth/schema.js';
export * from './modules/audit/schema.js';
