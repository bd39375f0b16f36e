import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

// DESIGN.md §2: libs/domain is pure rules. It may import nothing but itself; contracts may not import apps.
const root = resolve(__dirname, '../..');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return /\.tsx?$/.test(name) ? [path] : [];
  });
}

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/(?:from\s+|import\s*\(\s*|require\(\s*)['"]([^'"]+)['"]/g)].map((m) => m[1]);
}

describe('module boundaries', () => {
  it('libs/domain imports only its own files (no Nest, TypeORM, React or other packages)', () => {
    const offenders = sourceFiles(join(root, 'libs/domain/src'))
      .filter((f) => !f.endsWith('.spec.ts'))
      .flatMap((f) => importsOf(f).filter((m) => !m.startsWith('.')).map((m) => `${f.slice(root.length + 1)} imports ${m}`));
    expect(offenders).toEqual([]);
  });

  it('libs never import from apps', () => {
    const offenders = ['domain', 'contracts', 'api-client']
      .flatMap((lib) => sourceFiles(join(root, 'libs', lib, 'src')))
      .flatMap((f) => importsOf(f).filter((m) => /(^|\/)apps\//.test(m)).map((m) => `${f.slice(root.length + 1)} imports ${m}`));
    expect(offenders).toEqual([]);
  });

  it('the domain lib really is checked (it has source files)', () => {
    expect(sourceFiles(join(root, 'libs/domain/src')).length).toBeGreaterThan(3);
  });
});
