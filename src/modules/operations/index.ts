/** The operations module: administration of background jobs (queue health, dead letters) and the shop overview. */
export { operationsRoutes } from './routes.js';
export { overviewRoutes } from './overview-routes.js';
