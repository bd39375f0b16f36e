import { rmSync } from 'node:fs';

/** Removes the API's data directory when playwright.config.ts made it (E2E_DATA_DIR not given). */
export default function globalTeardown(): void {
  if (process.env.E2E_REMOVE_DATA_DIR === '1' && process.env.E2E_DATA_DIR) {
    rmSync(process.env.E2E_DATA_DIR, { recursive: true, force: true });
  }
}
