/**
 * Basic auth against the `basic_auth_users` of the web config file (web-config.ts), with bcrypt
 * (bcryptjs), as exporter-toolkit checks it: a known user and the right password, nothing else.
 */
import { createHash } from 'node:crypto';
import bcrypt from 'bcryptjs';

/** Checks the Authorization header of a request against `basic_auth_users`. */
export interface BasicAuthCheck {
  /** True only for a known user with its right password. */
  allows(authorization: string | undefined): Promise<boolean>;
}

// Successful checks are remembered (bcrypt is slow by design, and Prometheus sends the same credentials
// every scrape), keyed by a digest of user, hash and password: only those exact three match again.
// Failures are not remembered, so a wrong password can never be let in from the cache.
const CACHE_SIZE = 100;
// bcrypt looks at the first 72 bytes only; a longer password would be let in on its first 72.
const BCRYPT_MAX_BYTES = 72;

/** The check of `users` (user name to bcrypt hash); `compare` is bcryptjs's unless a test passes one. */
export function basicAuthCheck(
  users: Record<string, string>,
  compare: (password: string, hash: string) => Promise<boolean> = bcrypt.compare,
): BasicAuthCheck {
  const allowed = new Map<string, true>();
  // One bcrypt at a time, as exporter-toolkit: a burst of bad guesses queues instead of taking every core.
  let queue: Promise<unknown> = Promise.resolve();
  const serial = <T>(run: () => Promise<T>): Promise<T> => {
    const result = queue.then(run, run);
    queue = result.catch(() => undefined);
    return result;
  };
  const anyHash = Object.values(users)[0];
  return {
    async allows(authorization) {
      const credentials = basicCredentials(authorization);
      if (credentials === undefined || anyHash === undefined) return false;
      const { user, password } = credentials;
      const hash = Object.hasOwn(users, user) ? users[user] : undefined;
      if (Buffer.byteLength(password) > BCRYPT_MAX_BYTES) return false;
      // JSON keeps the three apart: no user name or password can run into the next field.
      const key = createHash('sha256')
        .update(JSON.stringify([user, hash ?? '', password]))
        .digest('hex');
      if (hash !== undefined && allowed.has(key)) return true;
      // An unknown user costs one bcrypt too, so that timing does not tell which users exist.
      const ok = await serial(() => compare(password, hash ?? anyHash).catch(() => false));
      if (!ok || hash === undefined) return false;
      if (allowed.size >= CACHE_SIZE) allowed.delete(allowed.keys().next().value as string);
      allowed.set(key, true);
      return true;
    },
  };
}

/** User and password of an `Authorization: Basic ...` header, or undefined when it is not one. */
export function basicCredentials(header: string | undefined): { user: string; password: string } | undefined {
  const match = /^Basic +([A-Za-z0-9+/]+={0,2}) *$/i.exec(header ?? '');
  if (!match?.[1]) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? undefined : { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}
