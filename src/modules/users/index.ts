/** The users module: profiles, preferences, admin search, export and erasure. */
export {
  activeRoleOf,
  createUser,
  findUserByEmail,
  findUserById,
  getUser,
  markEmailVerified,
  normalizeEmail,
  countAdmins,
  countSignups,
  registerUserDataContributor,
  type User,
  type UserStatus,
  type UserDataContributor,
} from './service.js';
/** A user's preferences (defaults filled in), e.g. the `marketing_emails` opt-in. */
export { getPreferences as getUserPreferences, type Preferences as UserPreferences } from './service.js';
export { usersRoutes } from './routes.js';
export { userSchema, toUserDto } from './http-schemas.js';
