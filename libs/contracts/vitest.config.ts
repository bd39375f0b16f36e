import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  plugins: [swc.vite()],
  test: { name: 'contracts', include: ['src/**/*.spec.ts'], environment: 'node', passWithNoTests: true },
});
