#!/usr/bin/env node
// The `sluice` command. Sources are TypeScript run through tsx, so apps written in TypeScript
// load the same way as sluice itself; nothing needs a build step.
import { register } from 'tsx/esm/api';

register();
await import('../cli/main.ts');
