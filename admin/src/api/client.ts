import type { paths } from './schema';

/** A typed fetch for the public /api/v1 API, with the browser session's token handling. */
type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';
type PathsFor<M extends Method> = {
  [P in keyof paths]: paths[P] extends Record<M, object> ? P : never;
}[keyof paths];
type Op<P extends keyof paths, M extends Method> = paths[P] extends Record<M, infer O> ? O : never;
type JsonOf<R> = R extends { content: { 'application/json': infer J } } ? J : null;
/** The JSON of the operation's success answer (200, 201 or 202; null for 204). */
export type Ok<P extends keyof paths, M extends Method> =
  Op<P, M> extends { responses: infer R } ? JsonOf<R[Extract<keyof R, 200 | 201 | 202 | 204>]> : never;
type BodyOf<O> = O extends { requestBody?: { content: { 'application/json': infer B } } } ? B : never;
type QueryOf<O> = O extends { parameters: { query?: infer Q } } ? Q : never;
type PathOf<O> = O extends { parameters: { path?: infer Pp } } ? Pp : never;

export interface RequestOptions<O> {
  path?: PathOf<O>;
  query?: QueryOf<O>;
  body?: BodyOf<O>;
  /** A raw body with its own content type (CSV import). */
  raw?: { contentType: string; text: string };
  headers?: Record<string, string>;
}

export interface FieldError {
  field: string;
  message: string;
}

/** An error answer of the API, in its envelope. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }

  /** Field errors by field name (`variants.0.sku`), for inline form messages. */
  get fieldErrors(): Record<string, string> {
    if (!Array.isArray(this.details)) return {};
    return Object.fromEntries(
      (this.details as FieldError[])
        .filter((d) => d && typeof d.field === 'string')
        .map((d) => [d.field, d.message]),
    );
  }
}

const CSRF = { 'x-bazaar-csrf': '1' };
let accessToken: string | null = null;
let refreshing: Promise<boolean> | null = null;
let onSessionExpired: () => void = () => undefined;

export function setSessionExpiredHandler(handler: () => void) {
  onSessionExpired = handler;
}
export function setAccessToken(token: string | null) {
  accessToken = token;
}
export const hasAccessToken = () => accessToken !== null;

/** Exchanges the refresh cookie for a new access token (one request at a time). */
export function refreshSession(): Promise<boolean> {
  refreshing ??= (async () => {
    try {
      const res = await fetch('/api/v1/auth/session/refresh', { method: 'POST', headers: CSRF });
      if (!res.ok) return false;
      const body = (await res.json()) as { data: { access_token: string } };
      accessToken = body.data.access_token;
      return true;
    } catch {
      return false;
    } finally {
      refreshing = null;
    }
  })();
  return refreshing;
}

function urlOf(template: string, path: unknown, query: unknown): string {
  let url = template.replace(/\{(\w+)\}/g, (_, name: string) =>
    encodeURIComponent(String((path as Record<string, string | number> | undefined)?.[name] ?? '')),
  );
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(
    (query ?? {}) as Record<string, string | number | boolean | null | undefined>,
  )) {
    if (value !== undefined && value !== null && value !== '') params.set(key, String(value));
  }
  const search = params.toString();
  if (search) url += `?${search}`;
  return url;
}

async function send<R>(
  method: Method,
  template: string,
  options: RequestOptions<unknown>,
  retried = false,
): Promise<R> {
  const headers: Record<string, string> = { ...options.headers };
  if (accessToken) headers.authorization = `Bearer ${accessToken}`;
  if (template.startsWith('/api/v1/auth/session/')) Object.assign(headers, CSRF);
  let body: string | undefined;
  if (options.raw) {
    headers['content-type'] = options.raw.contentType;
    body = options.raw.text;
  } else if (options.body !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(options.body);
  }
  const res = await fetch(urlOf(template, options.path ?? undefined, options.query ?? undefined), {
    method: method.toUpperCase(),
    headers,
    body,
  });
  if (res.status === 401 && accessToken !== null && !retried && !template.includes('/auth/session/')) {
    if (await refreshSession()) return send<R>(method, template, options, true);
    accessToken = null;
    onSessionExpired();
  }
  if (res.status === 204) return null as R;
  const text = await res.text();
  const json = text ? (JSON.parse(text) as unknown) : null;
  if (!res.ok) {
    const error = (json as { error?: { code: string; message: string; details?: unknown } } | null)?.error;
    throw new ApiError(
      res.status,
      error?.code ?? 'INTERNAL_ERROR',
      error?.message ?? res.statusText,
      error?.details,
    );
  }
  return json as R;
}

export const api = {
  get: <P extends PathsFor<'get'>>(path: P, options: RequestOptions<Op<P, 'get'>> = {}) =>
    send<Ok<P, 'get'>>('get', path, options),
  post: <P extends PathsFor<'post'>>(path: P, options: RequestOptions<Op<P, 'post'>> = {}) =>
    send<Ok<P, 'post'>>('post', path, options),
  put: <P extends PathsFor<'put'>>(path: P, options: RequestOptions<Op<P, 'put'>> = {}) =>
    send<Ok<P, 'put'>>('put', path, options),
  patch: <P extends PathsFor<'patch'>>(path: P, options: RequestOptions<Op<P, 'patch'>> = {}) =>
    send<Ok<P, 'patch'>>('patch', path, options),
  delete: <P extends PathsFor<'delete'>>(path: P, options: RequestOptions<Op<P, 'delete'>> = {}) =>
    send<Ok<P, 'delete'>>('delete', path, options),
};

export type Schemas = import('./schema').components['schemas'];
