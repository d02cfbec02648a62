/**
 * Role-based access: the one table of what each role may do. Routes declare the permission
 * they need (`config: { permission }`); ownership of a row is decided by each module's policy.
 */
export const permissions = [
  'profile:read',
  'profile:write',
  'users:read',
  'users:write',
  'audit:read',
  'clients:read',
  'clients:write',
  'keys:rotate',
  'products:read',
  'products:write',
  'inventory:read',
  'inventory:write',
  'orders:read',
  'orders:write',
  'orders:read:own',
  'orders:write:own',
  'payments:write',
  'jobs:read',
  'jobs:write',
  'notifications:read',
  'notifications:write',
] as const;

export type Permission = (typeof permissions)[number];

export const roles = ['admin', 'user', 'guest'] as const;
export type Role = (typeof roles)[number];

const customer: Permission[] = [
  'profile:read',
  'profile:write',
  'products:read',
  'orders:read:own',
  'orders:write:own',
  'payments:write',
];

export const rolePermissions: Record<Role, readonly Permission[]> = {
  admin: permissions,
  user: customer,
  guest: ['profile:read', 'products:read', 'orders:read:own', 'orders:write:own', 'payments:write'],
};

/** Permissions an API client may be granted (no user-profile permissions: a client is not a person). */
export const clientGrantable: readonly Permission[] = permissions.filter(
  (p) => !p.startsWith('profile:') && !p.endsWith(':own'),
);

export function permissionsOf(roleList: readonly string[]): Set<string> {
  const out = new Set<string>();
  for (const role of roleList) for (const p of rolePermissions[role as Role] ?? []) out.add(p);
  return out;
}
