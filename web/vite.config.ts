import { defineConfig } from "vite";

// The picture is served by `picket serve` from web/dist; relative asset paths let the server
// mount it anywhere. The basemap GeoJSON is generated into build/public by scripts/build-basemap.mjs.
export default defineConfig({
  base: "./",
  publicDir: "build/public",
  build: {
    outDir: "dist",
    emptyOutDir: true,
    chunkSizeWarningLimit: 2500,
    sourcemap: false,
  },
  server: {
    host: "127.0.0.1",
    proxy: {
      "/api": { target: "http://127.0.0.1:8642", ws: true },
    },
  },
});
