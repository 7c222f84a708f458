/** The session (token and role, in this tab's sessionStorage only) and JSON calls that send the token as a header. */

export type Role = 'operator' | 'owner';
export interface Session {
  token: string;
  role: Role;
}

const STORAGE_KEY = 'switchyard.session';
const KEY_PREFIX = 'sk-sy-';

export function loadSession(): Session | null {
  try {
    const saved = JSON.parse(sessionStorage.getItem(STORAGE_KEY) ?? 'null') as Session | null;
    return saved && typeof saved.token === 'string' && (saved.role === 'operator' || saved.role === 'owner') ? saved : null;
  } catch {
    return null;
  }
}

export function saveSession(session: Session): void {
  sessionStorage.setItem(STORAGE_KEY, JSON.stringify(session));
}

export function clearSession(): void {
  sessionStorage.removeItem(STORAGE_KEY);
}

/** An error answer of the gateway: its status, code and message. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string | null,
    message: string,
  ) {
    super(message);
  }
}

/** Called when a token stops working mid-session (a revoked key, a changed admin token). */
let onUnauthorized: (message: string) => void = () => undefined;
export function setUnauthorizedHandler(handler: (message: string) => void): void {
  onUnauthorized = handler;
}

async function errorOf(response: Response): Promise<ApiError> {
  let message = `${response.status} ${response.statusText}`;
  let code: string | null = null;
  try {
    const body = (await response.json()) as { error?: { message?: string; code?: string } };
    if (body.error?.message) message = body.error.message;
    code = body.error?.code ?? null;
  } catch {
    // Not JSON: the status line says enough.
  }
  return new ApiError(response.status, code, message);
}

/** A call with the session's token; throws ApiError on an error status. */
export async function request(token: string, path: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  headers.set('authorization', `Bearer ${token}`);
  if (init.body !== undefined) headers.set('content-type', 'application/json');
  const response = await fetch(path, { ...init, headers, cache: 'no-store', credentials: 'omit' });
  if (!response.ok) throw await errorOf(response);
  return response;
}

export async function api<T>(session: Session, path: string, init: RequestInit = {}): Promise<T> {
  try {
    return (await (await request(session.token, path, init)).json()) as T;
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) onUnauthorized(error.message);
    throw error;
  }
}

/** A query string from the non-empty values of an object. */
export function query(params: Record<string, string | number | undefined | null>): string {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) if (value !== undefined && value !== null && value !== '') search.set(name, String(value));
  const text = search.toString();
  return text ? `?${text}` : '';
}

/**
 * Checks a token and decides who signs in: a gateway key (`sk-sy-…`) is its owner, anything else is tried as the
 * admin token. The message of a refusal says which it was taken for, and why it failed.
 */
export async function signIn(raw: string): Promise<Session> {
  const token = raw.trim();
  if (!token) throw new Error('Paste the admin token or a gateway key.');
  if (token.startsWith(KEY_PREFIX)) {
    try {
      await request(token, '/v1/usage');
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) throw new Error(`This gateway key was not accepted: ${error.message}`);
      throw error;
    }
    return { token, role: 'owner' };
  }
  try {
    await request(token, '/admin/keys');
  } catch (error) {
    if (error instanceof ApiError && error.status === 401)
      throw new Error('Wrong admin token. Use the ADMIN_TOKEN the gateway was started with, or a gateway key (sk-sy-…).');
    if (error instanceof ApiError && error.status === 404) {
      throw new Error(
        'The admin API is off on this gateway. Put ADMIN_TOKEN=<a long random string> in .env and restart it; key owners can sign in with their sk-sy-… key meanwhile.',
      );
    }
    throw error;
  }
  return { token, role: 'operator' };
}
