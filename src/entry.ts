#!/usr/bin/env node
/**
 * The built `bazaar` command (dist/src/main.js, ADR 0013). On Node.js 22.1 and later it first asks
 * Node to keep V8's compiled code of the bundle on disk (in the OS temporary directory, or
 * `NODE_COMPILE_CACHE`), so every start after the first skips compiling it; then it loads the
 * bundle. On Node.js 20 there is no such cache and it only loads the bundle.
 */
import module from 'node:module';

const { enableCompileCache } = module as { enableCompileCache?: () => unknown };
enableCompileCache?.();

await import('./main.js');
