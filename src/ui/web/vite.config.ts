import path from 'node:path';
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// The dashboard's bundle: built at `npm ci` (package.json "prepare") into dist/web, which
// `weld server` serves at `/`. Hashed file names under assets/ let the server cache them
// for a year; nothing is fetched from a CDN.
const here = path.dirname(fileURLToPath(import.meta.url));

export default defineConfig({
  root: here,
  base: '/',
  plugins: [react()],
  logLevel: 'warn',
  build: {
    outDir: path.resolve(here, '../../../dist/web'),
    emptyOutDir: true,
    target: 'es2022',
    // The server's CSP allows only its own scripts: no inline polyfill.
    modulePreload: { polyfill: false },
    sourcemap: false,
    reportCompressedSize: false,
  },
});
