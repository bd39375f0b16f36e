import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(__dirname, '../..');

describe('generated artefacts', () => {
  it('openapi.yaml and libs/api-client match what the API generates', () => {
    let output = '';
    let status = 0;
    try {
      output = execFileSync(process.execPath, ['tools/openapi/generate.mjs', '--check'], { cwd: root, encoding: 'utf8', stdio: 'pipe' });
    } catch (error) {
      const e = error as { status: number; stdout: string; stderr: string };
      status = e.status;
      output = e.stdout + e.stderr;
    }
    expect(output).not.toMatch(/drift:/);
    expect(status).toBe(0);
  });
});
