/**
 * Rewrites the generated sections of README.md (configuration, metrics, alerts) from their
 * sources: `npm run generate:readme`. test/unit/readme fails until this has been run and the
 * diff committed.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { README_PATH, replaceGeneratedSections } from '../src/docs/readme';
import { readmeSections } from '../src/docs/sections';
import { repoPath } from './lib/repo';

const path = repoPath(README_PATH);
const before = readFileSync(path, 'utf8');
const after = replaceGeneratedSections(before, readmeSections());
if (after === before) {
  process.stdout.write(`${README_PATH} is up to date\n`);
} else {
  writeFileSync(path, after);
  process.stdout.write(`rewrote the generated sections of ${README_PATH}\n`);
}
