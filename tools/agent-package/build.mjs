#!/usr/bin/env node
// The provider package (docs/ARCHITECTURE.md §13): the built provider agent bundled into one
// JavaScript file with esbuild, the Node binary of this machine next to it, a wrapper, in a
// reproducible tar.gz with its sha256; the install script beside them. What the API serves at
// /downloads/virtuoso-agent.tar.gz, /downloads/virtuoso-agent.tar.gz.sha256 and /install-agent.sh.
//
//   node tools/agent-package/build.mjs [--out DIR]   (default: dist/agent-package, git-ignored)
//
// Needs apps/provider-agent/dist (nx build). Does nothing when the package of the same agent and
// Node is already there (its version names both), so calling it again is cheap.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..', '..');
const outArg = process.argv.indexOf('--out');
const out = resolve(outArg > 0 ? process.argv[outArg + 1] : join(root, 'dist', 'agent-package'));
const entry = join(root, 'apps', 'provider-agent', 'dist', 'main.js');
if (!existsSync(entry)) {
  console.error(`agent-package: ${entry} is missing: build the agent first (npx nx run provider-agent:build)`);
  process.exit(1);
}

// Transports and features of Nest the agent does not use: Nest loads them with optional requires
// (loadPackage / try-require) and carries on without them, so they stay unresolved requires.
const OPTIONAL = [
  '@grpc/grpc-js',
  '@grpc/proto-loader',
  '@nestjs/websockets/socket-module',
  'amqp-connection-manager',
  'amqplib',
  'class-transformer/storage',
  'ioredis',
  'kafkajs',
  'mqtt',
  'nats',
];

const started = Date.now();
const bundled = await build({
  entryPoints: [entry],
  // The bundle names its modules relative to this: the repository, whatever the caller's directory.
  absWorkingDir: root,
  bundle: true,
  platform: 'node',
  target: `node${process.versions.node.split('.')[0]}`,
  format: 'cjs',
  external: OPTIONAL,
  write: false,
  logLevel: 'warning',
  // The bundled packages' licence notices, kept at the end of the file.
  legalComments: 'eof',
  // Nest's dependency injection reads class names at run time: keep them.
  keepNames: true,
});
const agentJs = bundled.outputFiles[0].contents;
const agentVersion = createRequire(import.meta.url)(join(root, 'apps', 'provider-agent', 'dist', 'version.js')).AGENT_VERSION;
const node = process.execPath;
const nodeHash = createHash('sha256').update(readFileSync(node)).digest('hex');
const installScript = readFileSync(join(here, 'install-agent.sh'));
// Node's licence, shipped beside its binary (where Node's own and Debian's packages put it).
const nodeLicense = [join(dirname(node), '..', 'share', 'doc', 'node', 'LICENSE'), join(dirname(node), '..', 'share', 'doc', 'nodejs', 'LICENSE')].find((f) =>
  existsSync(f),
);
// The version names the agent, the Node it runs on and the install script it ships with.
const contentHash = createHash('sha256').update(agentJs).update(nodeHash).update(installScript).digest('hex').slice(0, 12);
const version = `${agentVersion}-${contentHash}`;

const tarball = join(out, 'virtuoso-agent.tar.gz');
const versionFile = join(out, 'VERSION');
if (existsSync(tarball) && existsSync(versionFile) && readFileSync(versionFile, 'utf8').trim() === version) {
  writeFileSync(join(out, 'install-agent.sh'), installScript, { mode: 0o755 });
  console.log(`agent-package: ${version} is up to date in ${out}`);
  process.exit(0);
}

const work = mkdtempSync(join(tmpdir(), 'virtuoso-agent-package-'));
try {
  const top = `virtuoso-agent-${version}`;
  const dir = join(work, top);
  mkdirSync(join(dir, 'bin'), { recursive: true });
  mkdirSync(join(dir, 'lib'));
  writeFileSync(join(dir, 'lib', 'agent.js'), agentJs);
  copyFileSync(node, join(dir, 'bin', 'node'));
  chmodSync(join(dir, 'bin', 'node'), 0o755);
  if (nodeLicense) copyFileSync(nodeLicense, join(dir, 'bin', 'node.LICENSE'));
  writeFileSync(
    join(dir, 'bin', 'virtuoso-agent'),
    `#!/bin/sh\n# The provider agent ${version} on its own Node (${process.version}); flags and environment: --help.\nhere=$(dirname "$(readlink -f "$0")")\nexec "$here/node" "$here/../lib/agent.js" "$@"\n`,
    { mode: 0o755 },
  );
  writeFileSync(join(dir, 'VERSION'), `${version}\n`);
  writeFileSync(join(dir, 'install-agent.sh'), installScript, { mode: 0o755 });
  // Reproducible: sorted names, fixed times and owners, no name or time in the gzip header.
  mkdirSync(out, { recursive: true });
  const tmpTar = join(work, 'virtuoso-agent.tar.gz');
  execFileSync(
    'bash',
    [
      '-o',
      'pipefail',
      '-c',
      'tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner --mode=go-w -C "$1" -cf - "$2" | gzip -1 -n > "$3"',
      'tar',
      work,
      top,
      tmpTar,
    ],
    { stdio: ['ignore', 'inherit', 'inherit'] },
  );
  const sha = createHash('sha256').update(readFileSync(tmpTar)).digest('hex');
  renameSync(tmpTar, tarball);
  writeFileSync(join(out, 'virtuoso-agent.tar.gz.sha256'), `${sha}  virtuoso-agent.tar.gz\n`);
  writeFileSync(join(out, 'install-agent.sh'), installScript, { mode: 0o755 });
  writeFileSync(versionFile, `${version}\n`);
  const mb = (readFileSync(tarball).length / 1e6).toFixed(1);
  console.log(
    `agent-package: ${version} (agent ${(agentJs.length / 1e6).toFixed(1)} MB, Node ${process.version}) → ${tarball} (${mb} MB, sha256 ${sha}) in ${Date.now() - started} ms`,
  );
} finally {
  rmSync(work, { recursive: true, force: true });
}
