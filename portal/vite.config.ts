import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// The portal is built into the govdata binary (crates/govdata-portal/build.rs
// passes --outDir); in development, `npx vite` proxies the API to a local node.
export default defineConfig({
  plugins: [react()],
  build: {
    assetsInlineLimit: 0,
    chunkSizeWarningLimit: 1500,
  },
  server: {
    proxy: { "/api": process.env.GOVDATA_URL ?? "http://127.0.0.1:8080" },
  },
});
