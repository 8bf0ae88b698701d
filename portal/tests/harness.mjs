// What every browser test file shares: a small demo node, Debian's Chromium
// driven by playwright-core, pages logged in as a demo user that collect
// script errors, and screenshots under test-output/portal/.

import { after, before } from "node:test";
import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { chromium } from "playwright-core";
import { startDemo } from "./demo.mjs";

const shots = resolve(import.meta.dirname, "../../test-output/portal");
mkdirSync(shots, { recursive: true });

/** Starts a demo on `port` and a browser for the file's tests; `harness.demo` once started. */
export function useHarness(port) {
  const harness = {};
  let browser;
  before(async () => {
    harness.demo = await startDemo({ port });
    browser = await chromium.launch({
      executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
      args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    });
  });
  after(async () => {
    await browser?.close();
    await harness.demo?.stop();
  });

  /**
   * A fresh browser context at the national node (or the node `nodeId`
   * names, its portal the base of relative paths), logged in there as
   * `username` unless it is omitted.
   */
  harness.pageAs = async (username, nodeId) => {
    const node = nodeId ? harness.demo.node(nodeId) : harness.demo.national;
    const context = await browser.newContext({ baseURL: node.url, locale: "zh-CN", viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    const errors = [];
    page.on("pageerror", (error) => errors.push(error));
    // Refusals are answers (4xx), not script errors.
    page.on("console", (message) => message.type() === "error" && !/status of 4\d\d/.test(message.text()) && errors.push(message.text()));
    page.scriptErrors = errors;
    if (username) {
      await page.goto("/login");
      await page.getByLabel("用户名").fill(username);
      await page.getByLabel("密码").fill(node.password(username));
      await page.getByRole("button", { name: "登录" }).click();
      await page.getByText("退出").waitFor();
    }
    return page;
  };
  return harness;
}

export const shot = (page, name) => page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
