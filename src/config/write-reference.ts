/**
 * Rewrites docs/configuration.md from the schema. Run from the repository root after a build:
 * `node dist/src/config/write-reference.js`.
 */
import { writeFileSync } from 'node:fs';
import { CONFIG_REFERENCE_PATH, renderConfigReference } from './reference';

/** Writes the rendered reference to `path`. */
export function writeConfigReference(path: string = CONFIG_REFERENCE_PATH): void {
  writeFileSync(path, renderConfigReference());
}

if (require.main === module) writeConfigReference();
