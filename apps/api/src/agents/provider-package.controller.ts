import { Controller, Get, Header, Req, RequestMethod, StreamableFile } from '@nestjs/common';
import type { RouteInfo } from '@nestjs/common/interfaces';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request } from 'express';
import { Public } from '../common/auth.decorators';
import { AgentsService } from './agents.service';
import { ProviderPackage } from './provider-package.service';

/** Served at the site's root, outside /api (app.ts excludes them from the prefix): what curl fetches. */
export const PROVIDER_PACKAGE_ROUTES: RouteInfo[] = [
  { path: 'install-agent.sh', method: RequestMethod.GET },
  { path: 'downloads/virtuoso-agent.tar.gz', method: RequestMethod.GET },
  { path: 'downloads/virtuoso-agent.tar.gz.sha256', method: RequestMethod.GET },
];

/**
 * The provider package without sign-in (docs/ARCHITECTURE.md §13): `curl -fsSL <market>/install-agent.sh
 * | sudo bash -s -- --join <token> …` on a provider host. Not part of the JSON API (no OpenAPI).
 */
@ApiExcludeController()
@Public()
@Controller()
export class ProviderPackageController {
  constructor(
    private readonly agents: AgentsService,
    private readonly pkg: ProviderPackage,
  ) {}

  @Get('install-agent.sh')
  @Header('Cache-Control', 'no-cache')
  installScript(@Req() req: Request): StreamableFile {
    // The same address the join command names (VIRTUOSO_PUBLIC_URL, else the request's, behind VIRTUOSO_TRUST_PROXY its client's).
    // A StreamableFile sets its type only on success: an error stays JSON.
    return new StreamableFile(Buffer.from(this.pkg.installScript(this.agents.publicUrl(req))), { type: 'text/x-shellscript; charset=utf-8' });
  }

  @Get('downloads/virtuoso-agent.tar.gz')
  @Header('Cache-Control', 'no-cache')
  tarball(): StreamableFile {
    return this.pkg.download('tarball');
  }

  @Get('downloads/virtuoso-agent.tar.gz.sha256')
  @Header('Cache-Control', 'no-cache')
  sha256(): StreamableFile {
    return this.pkg.download('sha256');
  }
}
