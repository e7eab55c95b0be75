/**
 * Credentials and certificates read from files, re-read when the file changes. Kubernetes
 * rotates projected service-account tokens and cert-manager renews certificates in place (an
 * atomic symlink swap); Prometheus picks the new file up without a restart, and so do we.
 */
import { readFile, stat } from 'node:fs/promises';
import { ConfigError } from '../../errors';

/** A file whose current content is read on demand, from a cache while its mtime and size hold. */
export interface WatchedFile {
  /** The content now; throws ConfigError naming `key` when the file cannot be read. */
  read(): Promise<Buffer>;
}

/** Watches `path`, the value of config key `key` (named in errors). */
export function watchedFile(path: string, key: string): WatchedFile {
  let cached: { mtimeMs: number; size: number; content: Buffer } | undefined;
  return {
    async read() {
      try {
        // stat follows the symlink, so a swapped `..data` link shows up as a new mtime.
        const info = await stat(path);
        if (cached && cached.mtimeMs === info.mtimeMs && cached.size === info.size) return cached.content;
        const content = await readFile(path);
        cached = { mtimeMs: info.mtimeMs, size: info.size, content };
        return content;
      } catch (err) {
        throw new ConfigError(key, `cannot read ${key} ${path}: ${(err as Error).message}`, {
          cause: err,
        });
      }
    },
  };
}

/** A secret held in a file, trimmed of surrounding whitespace as Prometheus does. */
export interface SecretFile {
  read(): Promise<string>;
}

/** Watches a file holding a secret (a bearer token, a password); an empty file is an error. */
export function secretFile(path: string, key: string): SecretFile {
  const file = watchedFile(path, key);
  return {
    async read() {
      const secret = (await file.read()).toString('utf8').trim();
      if (secret === '') throw new ConfigError(key, `${key} ${path} is empty`);
      return secret;
    },
  };
}
