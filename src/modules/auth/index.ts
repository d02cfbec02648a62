/**
 * The auth module: sign-up and sign-in, access and refresh tokens, sessions, passwords, e-mail
 * verification, TOTP, OAuth API clients, and the signing keys behind it all.
 */
export { createAuthModule, type AuthDeps, type AuthModule } from './module.js';
export { createLoginLimiter, type LoginLimiter } from './login.js';
export type { AdminBootstrap } from './bootstrap.js';
