import { defineConfig } from 'vitest/config';

// this repository's own tests (without this file vitest would take the sluice checkout's config above)
export default defineConfig({ test: { include: ['test/**/*.test.ts'] } });
