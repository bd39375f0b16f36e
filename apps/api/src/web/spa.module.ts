import { DynamicModule, Inject, Module, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import express from 'express';
import { extname, join } from 'node:path';

const SPA_DIR = Symbol('SpaDir');
const isApi = (path: string) => path === '/api' || path.startsWith('/api/');

/**
 * Serves the built SPA at / and answers client routes (paths without a file extension) with its
 * index.html. Registered after the API's routes and never touching /api, so an unknown API path
 * still gets the API's JSON 404 and API errors stay the API's.
 */
@Module({})
export class SpaModule implements OnModuleInit {
  constructor(
    private readonly adapterHost: HttpAdapterHost,
    @Inject(SPA_DIR) private readonly dir: string,
  ) {}

  static serve(dir: string): DynamicModule {
    return { module: SpaModule, providers: [{ provide: SPA_DIR, useValue: dir }] };
  }

  onModuleInit(): void {
    const app = this.adapterHost.httpAdapter.getInstance<express.Express>();
    const assets = express.static(this.dir, {
      index: false,
      setHeaders: (res, path) => {
        // Vite puts content-hashed files under assets/: cache them for good; everything else revalidates.
        res.setHeader('Cache-Control', path.includes(`${join(this.dir, 'assets')}`) ? 'public, max-age=31536000, immutable' : 'no-cache');
      },
    });
    app.use((req: express.Request, res: express.Response, next: express.NextFunction) => {
      if (isApi(req.path) || (req.method !== 'GET' && req.method !== 'HEAD')) return next();
      assets(req, res, () => {
        if (extname(req.path) !== '') return next();
        res.setHeader('Cache-Control', 'no-cache');
        // Relative to root, so a web dir under a dot-directory (~/.local/...) is still served.
        res.sendFile('index.html', { root: this.dir }, (error) => error && next(error));
      });
    });
  }
}
