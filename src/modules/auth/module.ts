import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { Config } from '../../config.js';
import type { Context } from '../../platform/context.js';
import type { Database, Executor } from '../../platform/db/client.js';
import type { Authenticator } from '../../platform/http/server.js';
import type { Jobs } from '../../platform/jobs/jobs.js';
import type { Logger } from '../../platform/observability/logger.js';
import type { Metrics } from '../../platform/observability/metrics.js';
import type { Notifications } from '../notifications/index.js';
import { registerUserDataContributor } from '../users/index.js';
import { AccessTokens } from './access.js';
import { accountPageRoutes } from './account-pages.js';
import { adminSessionRoutes } from './admin-session-routes.js';
import { browserSessionRoutes } from './browser-session-routes.js';
import { createAdminIfMissing, type AdminBootstrap } from './bootstrap.js';
import { clientRoutes } from './client-routes.js';
import { ApiClients } from './clients.js';
import { EmailVerification } from './email-verification.js';
import { SigningKeys } from './keys.js';
import type { LoginLimiter } from './limits.js';
import { Login } from './login.js';
import { Mfa } from './mfa.js';
import { mfaRoutes } from './mfa-routes.js';
import { oauthRoutes } from './oauth-routes.js';
import { Passwords } from './passwords.js';
import { authRoutes } from './routes.js';
import { Sessions } from './sessions.js';
import { authUserData } from './user-data.js';
import { wellKnownRoutes } from './well-known-routes.js';

export interface AuthDeps {
  config: Config;
  jobs: Jobs;
  /** Sends the verification and password-reset mails. */
  notifications: Notifications;
  limiter: LoginLimiter;
  logger: Logger;
  /** Sign-ups are counted in `bazaar_signups_total`. */
  metrics?: Pick<Metrics, 'signUps'>;
  /**
   * The database bearer tokens are checked against. Optional: when omitted, the module uses
   * the database of the Fastify app its routes are registered on (`app.db`), or the one given
   * to `ensureSigningKey`, whichever comes first.
   */
  db?: Database;
}

/** Every service of the module, as the route plugins see them. */
export interface AuthServices {
  config: Config;
  keys: SigningKeys;
  tokens: AccessTokens;
  sessions: Sessions;
  login: Login;
  passwords: Passwords;
  verification: EmailVerification;
  mfa: Mfa;
  clients: ApiClients;
}

export interface AuthModule {
  /** Resolves bearer tokens to actors for the platform's permission guard. */
  authenticator: Authenticator;
  /** Register under `/api/v1`. */
  apiRoutes: FastifyPluginAsyncZod;
  /** Register at `/`: /oauth/token, /.well-known/*, and the /account/* link pages. */
  rootRoutes: FastifyPluginAsyncZod;
  /** Startup: creates the first signing key if there is none. */
  ensureSigningKey(db: Database): Promise<void>;
  /** `bazaar keys rotate`: a new signing key; tokens of the old one stay valid until they expire. */
  rotateSigningKey(ctx: Context): Promise<{ kid: string }>;
  /** First start: the admin account (verified); a generated password is returned once. */
  createAdminIfMissing(ctx: Context, email: string, password: string | undefined): Promise<AdminBootstrap>;
}

export function createAuthModule(deps: AuthDeps): AuthModule {
  const { config, limiter } = deps;
  let database: Executor | undefined = deps.db;
  const useDatabase = (db: Executor) => {
    database ??= db;
  };
  const currentDatabase = () => {
    if (!database)
      throw new Error(
        'The auth module has no database yet: register its routes or call ensureSigningKey first.',
      );
    return database;
  };

  const keys = new SigningKeys(config);
  const sessions = new Sessions(config, keys);
  const verification = new EmailVerification(config, deps.notifications, limiter);
  const mfa = new Mfa(config, limiter);
  const services: AuthServices = {
    config,
    keys,
    tokens: new AccessTokens(keys, currentDatabase),
    sessions,
    login: new Login(deps.jobs, limiter, sessions, mfa, verification, deps.metrics?.signUps),
    passwords: new Passwords(config, deps.notifications, limiter),
    verification,
    mfa,
    clients: new ApiClients(keys),
  };

  registerUserDataContributor(authUserData);

  return {
    authenticator: services.tokens,
    apiRoutes: async (app) => {
      useDatabase(app.db);
      await app.register(authRoutes(services));
      await app.register(browserSessionRoutes(services));
      await app.register(adminSessionRoutes);
      await app.register(mfaRoutes(services));
      await app.register(clientRoutes(services));
    },
    rootRoutes: async (app) => {
      useDatabase(app.db);
      await app.register(oauthRoutes(services));
      await app.register(wellKnownRoutes(services));
      await app.register(accountPageRoutes);
    },
    async ensureSigningKey(db) {
      useDatabase(db);
      await keys.ensure(db);
      if (!config.KEY_ENCRYPTION_KEY && config.NODE_ENV === 'production') {
        deps.logger.warn(
          'KEY_ENCRYPTION_KEY is not set: JWT signing keys are stored unencrypted in the database',
        );
      }
    },
    async rotateSigningKey(ctx) {
      const rotated = await keys.rotate(ctx);
      deps.logger.info(
        { kid: rotated.kid },
        'JWT signing key rotated; tokens of the previous key stay valid until they expire',
      );
      return rotated;
    },
    createAdminIfMissing,
  };
}
