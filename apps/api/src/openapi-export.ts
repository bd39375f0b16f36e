import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { stringify } from 'yaml';
import { createApp } from './app';
import { buildOpenApiDocument } from './openapi';

/** Renders the document as YAML; no anchors, no line folding, so diffs stay readable. */
export function toYaml(document: object): string {
  return stringify(document, { aliasDuplicateObjects: false, lineWidth: 0 });
}

/** `node apps/api/dist/openapi-export.js <out.yaml>`: the API's OpenAPI document, without listening or seeding. */
async function main(): Promise<void> {
  const out = process.argv[2];
  if (!out) {
    process.stderr.write('usage: node apps/api/dist/openapi-export.js <out.yaml>\n');
    process.exit(2);
  }
  const app = await createApp({ env: {}, config: { dbPath: ':memory:', webDir: null }, seed: false, daemons: false, docs: false, logger: false });
  try {
    writeFileSync(resolve(out), toYaml(buildOpenApiDocument(app)));
  } finally {
    await app.close();
  }
  process.stdout.write(`wrote ${resolve(out)}\n`);
}

if (require.main === module) {
  main().catch((error) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  });
}
