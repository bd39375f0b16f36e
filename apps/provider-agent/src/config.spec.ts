import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config';

const dir = mkdtempSync(path.join(os.tmpdir(), 'vzc-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function problems(argv: string[], env: Record<string, string> = {}): string[] {
  try {
    loadConfig(argv, env);
    return [];
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
}

describe('agent configuration', () => {
  it('takes the add-host command line, defaults the rest', () => {
    const c = loadConfig(['--data', dir, '--port', '7001', '--frontend', 'http://127.0.0.1:8080/', '--join=tok'], {});
    expect(c).toMatchObject({
      dataDir: dir,
      listenHost: '127.0.0.1',
      port: 7001,
      consolePort: 7002,
      advertiseHost: '127.0.0.1',
      frontendUrl: 'http://127.0.0.1:8080',
      joinToken: 'tok',
      accel: 'probe',
      heartbeatMs: 5_000,
    });
  });

  it('flags override the environment', () => {
    const env = {
      VIRTUOSO_AGENT_DATA_DIR: '/nonexistent-but-fine',
      VIRTUOSO_AGENT_PORT: '9000',
      VIRTUOSO_FRONTEND_URL: 'http://a',
      VIRTUOSO_JOIN_TOKEN: 't',
      VIRTUOSO_AGENT_ADVERTISE_HOST: '10.0.0.5',
    };
    expect(loadConfig(['--port', '9100'], env)).toMatchObject({ port: 9100, consolePort: 9101, advertiseHost: '10.0.0.5' });
  });

  it('names every bad variable', () => {
    const p = problems(['--bogus', 'x'], {
      VIRTUOSO_AGENT_PORT: '70000',
      VIRTUOSO_AGENT_CONSOLE_PORT: 'x',
      VIRTUOSO_FRONTEND_URL: 'ftp://x',
      VIRTUOSO_ACCEL: 'fast',
      VIRTUOSO_AGENT_LISTEN: '0.0.0.0',
    });
    const text = p.join('\n');
    for (const name of [
      '--bogus',
      'VIRTUOSO_AGENT_DATA_DIR',
      'VIRTUOSO_AGENT_PORT',
      'VIRTUOSO_AGENT_CONSOLE_PORT',
      'VIRTUOSO_FRONTEND_URL',
      'VIRTUOSO_ACCEL',
      'VIRTUOSO_AGENT_ADVERTISE_HOST',
    ]) {
      expect(text).toContain(name);
    }
  });

  it("refuses a data directory too deep for the machines' unix sockets", () => {
    expect(problems(['--data', `/tmp/${'d'.repeat(60)}`, '--port', '7001', '--frontend', 'http://a', '--join', 't']).join()).toMatch(/too deep/);
  });

  it('after the join, agent.json supplies the front-end and ports: no token needed', () => {
    const d = mkdtempSync(path.join(os.tmpdir(), 'vzc-'));
    writeFileSync(
      path.join(d, 'agent.json'),
      JSON.stringify({ agentId: 'a', secret: 's'.repeat(32), frontendUrl: 'http://fe:8080', agentHost: '127.0.0.1', agentPort: 7100, consolePort: 7200 }),
    );
    expect(loadConfig(['--data', d], {})).toMatchObject({ frontendUrl: 'http://fe:8080', port: 7100, consolePort: 7200, joinToken: undefined });
    rmSync(d, { recursive: true, force: true });
  });
});
