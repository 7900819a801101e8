#!/usr/bin/env node
// The kubemeta command. The sources are TypeScript run through tsx, so the CLI works from a
// checkout with no build step (Node 20 has no type stripping).
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv);
