import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function findPackageRoot(start: string): string {
  let dir = start;
  for (;;) {
    const candidate = join(dir, 'package.json');
    if (existsSync(candidate)) {
      const pkg = JSON.parse(readFileSync(candidate, 'utf8')) as { name?: string };
      if (pkg.name === 'saferoads') return dir;
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`saferoads package.json not found above ${start}`);
    dir = parent;
  }
}

/** The repository / package root, whether code runs from src/ (vitest) or dist/src/ (node). */
export const PACKAGE_ROOT = findPackageRoot(dirname(fileURLToPath(import.meta.url)));
