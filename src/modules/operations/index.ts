/** The operations module: administration of background jobs (queue health, dead letters). */
export { operationsRoutes } from './routes.js';
