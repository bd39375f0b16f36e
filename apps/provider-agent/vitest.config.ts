import { defineConfig } from 'vitest/config';
import { agentProject } from './vitest.shared';

// Every agent test (`cd apps/provider-agent && npx vitest run [file]`); integration tests boot real
// QEMU guests (TCG-sized: 128 MB, 1 vCPU). The whole run (root vitest.config.ts) splits the files
// into pure units and files with guests.
export default defineConfig(agentProject('all'));
