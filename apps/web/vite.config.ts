import react from '@vitejs/plugin-react';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

// The SPA. In development `npm run dev:web` proxies /api to the API on :8080; in production the
// API serves apps/web/dist itself, so every request stays same-origin (the session cookie is SameSite).
export default defineConfig({
  root: here('.'),
  plugins: [react()],
  resolve: {
    // libs/domain is pure (no Node or Nest imports), so the SPA takes its lifecycle facts from it.
    alias: { '@virtuoso/api-client': here('../../libs/api-client/src/index.ts'), '@virtuoso/domain': here('../../libs/domain/src/index.ts') },
  },
  // noVNC (@novnc/novnc, ESM) uses top-level await (core/util/browser.js probes H.264 decoding),
  // so the output and the dev pre-bundle must target ES2022 or later. It is loaded lazily by the
  // console page (its own chunk); listing it here pre-bundles it at dev-server start, so opening
  // a console does not trigger a re-optimisation and a full reload.
  optimizeDeps: {
    include: ['@novnc/novnc'],
    esbuildOptions: { target: 'es2022' },
  },
  build: {
    target: 'es2022',
    outDir: here('dist'),
    emptyOutDir: true,
    sourcemap: true,
  },
  server: {
    port: 5173,
    proxy: {
      '/api': { target: 'http://127.0.0.1:8080', changeOrigin: false, ws: true },
    },
  },
});
