/**
 * Rewrites meshwatch.schema.json from the config schema. Run from the repository root after a
 * build: `node dist/src/config/write-json-schema.js` (part of `npm run generate`).
 */
import { writeFileSync } from 'node:fs';
import { CONFIG_JSON_SCHEMA_PATH, renderConfigJsonSchema } from './json-schema';

/** Writes the rendered JSON Schema to `path`. */
export function writeConfigJsonSchema(path: string = CONFIG_JSON_SCHEMA_PATH): void {
  writeFileSync(path, renderConfigJsonSchema());
}

if (require.main === module) writeConfigJsonSchema();
