/**
 * A well-formed UUID (any version, either case). Ids from requests are checked against it before
 * they reach a query, so a malformed one is "not found" or a validation error, never a database
 * error.
 */
export const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const isUuid = (value: string): boolean => UUID_PATTERN.test(value);
