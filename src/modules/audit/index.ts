/** The audit module: an append-only record of sensitive actions. */
export { recordAudit, diffOf, type AuditEntry } from './service.js';
export { auditRoutes } from './routes.js';
