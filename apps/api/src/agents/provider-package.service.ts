import { Inject, Injectable, StreamableFile } from '@nestjs/common';
import { createReadStream, existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ApiError } from '../common/errors';
import { APP_CONFIG, AppConfig } from '../config';

/** The install script's placeholder for the market it was served by (tools/agent-package/install-agent.sh). */
export const MARKET_URL_PLACEHOLDER = '@@VIRTUOSO_MARKET_URL@@';
export const PACKAGE_FILES = { tarball: 'virtuoso-agent.tar.gz', sha256: 'virtuoso-agent.tar.gz.sha256' } as const;
/** What a URL may hold to go into the script between single quotes: no quote, space or shell character. */
const SHELL_SAFE_URL = /^https?:\/\/[A-Za-z0-9.:[\]_%~/-]+$/;

/**
 * The provider package (docs/ARCHITECTURE.md §13): the install script and the agent bundle with
 * its sha256, as tools/agent-package/build.mjs left them in VIRTUOSO_AGENT_PACKAGE_DIR.
 */
@Injectable()
export class ProviderPackage {
  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  /** The install script with `marketUrl` as its default --market. */
  installScript(marketUrl: string): string {
    if (!SHELL_SAFE_URL.test(marketUrl)) throw new ApiError(400, `this market's address (${JSON.stringify(marketUrl)}) cannot go into a shell script`);
    const file = this.path('install-agent.sh');
    return readFileSync(file, 'utf8').replace(MARKET_URL_PLACEHOLDER, marketUrl);
  }

  download(which: keyof typeof PACKAGE_FILES): StreamableFile {
    const file = this.path(PACKAGE_FILES[which]);
    const type = which === 'tarball' ? 'application/gzip' : 'text/plain; charset=utf-8';
    return new StreamableFile(createReadStream(file), { type, length: statSync(file).size, disposition: `attachment; filename="${PACKAGE_FILES[which]}"` });
  }

  private path(name: string): string {
    const file = join(this.config.agentPackageDir, name);
    if (!existsSync(file)) {
      throw new ApiError(
        404,
        `the provider package is not built on this server (${name} is missing): run node tools/agent-package/build.mjs, or set VIRTUOSO_AGENT_PACKAGE_DIR`,
      );
    }
    return file;
  }
}
