// Starts a small `govdata demo` federation for the browser tests and reads
// its credentials (every node's URL, users and seed files). The binary is the one cargo built (GOVDATA_BIN overrides).

import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, existsSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

const root = resolve(import.meta.dirname, "../..");

export async function startDemo({ port }) {
  const binary = process.env.GOVDATA_BIN ?? join(root, "target/debug/govdata");
  const dataDir = mkdtempSync(join(tmpdir(), "govdata-portal-"));
  const args = ["demo", "--data-dir", dataDir, "--port", String(port), "--persons", "2000", "--enterprises", "400", "--catalog-entries", "200"];
  const child = spawn(binary, args, { stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, RUST_LOG: "warn" } });
  let stderr = "";
  child.stderr.on("data", (chunk) => {
    stderr = (stderr + chunk).slice(-20000);
  });
  const url = `http://127.0.0.1:${port}`;
  const credentialsFile = join(dataDir, "demo-credentials.json");
  for (let attempt = 0; ; attempt++) {
    if (child.exitCode !== null) throw new Error(`govdata demo exited with ${child.exitCode}:\n${stderr}`);
    if (attempt > 1200) throw new Error(`govdata demo was not ready after 10 minutes:\n${stderr}`);
    if (existsSync(credentialsFile)) {
      const ready = await fetch(`${url}/readyz`).then((r) => r.ok, () => false);
      if (ready) break;
    }
    await sleep(500);
  }
  const credentials = JSON.parse(readFileSync(credentialsFile, "utf8"));
  // A node's credentials (url, users, base_library …) and its users' passwords.
  const withPasswords = (node) => ({ ...node, password: (username) => node.users.find((user) => user.username === username).password });
  const national = withPasswords(credentials.nodes.find((node) => node.level === "national"));
  return {
    url,
    dataDir,
    national,
    /** Another node of the demo federation, by id. */
    node: (id) => withPasswords(credentials.nodes.find((node) => node.id === id)),
    async stop() {
      child.kill("SIGTERM");
      await new Promise((done) => (child.exitCode !== null ? done() : child.once("exit", done)));
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
