// The federation views in a real browser (Debian's Chromium, driven by
// playwright-core) against the demo federation — a national node with two
// provinces, one of which has a department node below it: the topology as
// the national administrator sees it, suspending and resuming a province,
// a province's entry found in the national search and opened read-only, and
// the national node's cosignature of a province's ledger shown there.
// Screenshots go to test-output/portal/.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { shot, useHarness } from "./harness.mjs";

const harness = useHarness(Number(process.env.FEDERATION_TEST_PORT ?? 18680));
const pageAs = (username) => harness.pageAs(username);

const GUANGDONG = "广东省政务大数据平台";
const ZHEJIANG = "浙江省公共数据平台";
const CONSUMER = "gongan.consumer";

/**
 * Opens `path` again and again until `ready()` holds: the provinces join the
 * national node a few seconds after it is up, then sync and get cosigned.
 */
async function openUntil(page, path, ready, what) {
  const deadline = Date.now() + 120_000;
  for (;;) {
    await page.goto(path);
    await page.locator("main h1").waitFor();
    await page.locator("main .loading").waitFor({ state: "detached" });
    if (await ready()) return;
    if (Date.now() > deadline) throw new Error(`still not ${what} after two minutes`);
    await sleep(1000);
  }
}

/** A joined child's row, once it shows a sync time. */
const synced = async (row) => (await row.count()) > 0 && /\d{4}\/\d{1,2}\/\d{1,2} \d{1,2}:\d{2}:\d{2}/.test(await row.innerText());

describe("federation", () => {
  test("the administrator sees the provinces joined and synced, suspends one with a reason and resumes it", async () => {
    const page = await pageAs("admin");
    await page.getByRole("link", { name: "联邦拓扑" }).click();
    const guangdong = page.locator('tr[data-node="guangdong"]');
    const zhejiang = page.locator('tr[data-node="zhejiang"]');
    await openUntil(page, "/federation", async () => (await synced(guangdong)) && (await synced(zhejiang)), "joined and synced");

    await page.getByRole("heading", { name: "联邦拓扑", level: 1 }).waitFor();
    assert.equal(await page.locator("dl.attributes dd").first().textContent(), "国家政务数据共享平台");
    assert.equal(await guangdong.getByRole("rowheader").textContent(), GUANGDONG);
    assert.equal(await zhejiang.getByRole("rowheader").textContent(), ZHEJIANG);
    for (const row of [guangdong, zhejiang]) {
      const text = await row.innerText();
      for (const shown of ["省级", "下级节点", "正常"]) assert.ok(text.includes(shown), `${shown} in ${text}`);
    }
    await guangdong.getByText("广东省（440000）").waitFor();
    const held = Number((await guangdong.locator("td").nth(7).textContent()).replace(/,/g, ""));
    assert.ok(held > 0, "the national node holds Guangdong's entries");
    // The chart carries each home node's count as text too.
    const chart = page.locator('[role="img"][aria-label^="各节点汇聚到本节点的目录数"]');
    await chart.waitFor();
    const counts = await chart.getAttribute("aria-label");
    for (const home of [GUANGDONG, ZHEJIANG]) assert.match(counts, new RegExp(`${home} \\d+`));
    // The national node has no parent: no cosignature of its own to show.
    assert.equal(await page.getByRole("heading", { name: "上级节点对本节点日志的见证" }).count(), 0);
    await shot(page, "federation");

    // A blank reason is refused under the field.
    await zhejiang.getByRole("button", { name: "暂停", exact: true }).click();
    await zhejiang.getByLabel("理由（记入审计日志）").fill("   ");
    await zhejiang.getByRole("button", { name: "确认暂停" }).click();
    await zhejiang.locator('.field-error[data-field="reason"]').waitFor();
    await shot(page, "federation-reason-refused");

    await zhejiang.getByLabel("理由（记入审计日志）").fill("节点例行维护，暂停数据同步");
    await zhejiang.getByRole("button", { name: "确认暂停" }).click();
    await zhejiang.getByText("已暂停").waitFor();
    assert.equal(await zhejiang.getByLabel("理由（记入审计日志）").count(), 0, "the form closes once done");
    assert.ok((await guangdong.innerText()).includes("正常"), "only the chosen node is suspended");
    await shot(page, "federation-suspended");

    await zhejiang.getByRole("button", { name: "恢复", exact: true }).click();
    await zhejiang.getByLabel("理由（记入审计日志）").fill("维护完成");
    await zhejiang.getByRole("button", { name: "确认恢复" }).click();
    await zhejiang.getByText("正常").waitFor();
    await zhejiang.getByRole("button", { name: "暂停", exact: true }).waitFor();
    assert.deepEqual(page.scriptErrors, []);
    await page.context().close();
  });

  test("a consumer finds a Guangdong entry in the national search by node and opens it read-only", async () => {
    const page = await pageAs(CONSUMER);
    const nodeFacet = page.getByRole("group", { name: "所属节点" });
    await openUntil(page, "/catalog", async () => (await nodeFacet.getByLabel(GUANGDONG).count()) > 0, "holding Guangdong's entries");
    // Only entries of other nodes name their home node (known once the header names this one).
    await page.locator(".node-name").waitFor();
    for (const hit of await page.locator(".hit").all()) {
      const home = await hit.getAttribute("data-node");
      assert.equal(await hit.getByText(/^来自 /).count(), home === "national" ? 0 : 1, `hit of ${home}`);
    }

    await nodeFacet.getByLabel(GUANGDONG).check();
    await page.waitForURL(/node=guangdong/);
    await page.locator('.hit[data-node="guangdong"]').first().waitFor();
    assert.equal(await page.locator('.hit:not([data-node="guangdong"])').count(), 0, "only Guangdong's entries remain");
    const hit = page.locator(".hit").first();
    await hit.getByText(`来自 ${GUANGDONG}`).waitFor();
    const name = await hit.locator("h2 a").textContent();
    await shot(page, "federation-search");

    await hit.locator("h2 a").click();
    await page.waitForURL(/\/catalog\/federated\/guangdong\/\d{6}%2F\d{6}$/);
    await page.getByRole("heading", { name, level: 1 }).waitFor();
    await page.getByText(`来自 ${GUANGDONG}`).waitFor();
    await page.getByText("跨节点共享申请暂未开放").waitFor();
    await page.getByRole("heading", { name: "信息项" }).waitFor();
    assert.ok((await page.locator("table tbody tr").count()) > 0, "the entry's items are listed");
    assert.equal(await page.getByRole("button", { name: "加入申请清单" }).count(), 0, "no cart across nodes");
    await shot(page, "federation-entry");
    assert.deepEqual(page.scriptErrors, []);
    await page.context().close();
  });

  test("a province shows the national node's cosignature of its ledger", async () => {
    const credentials = JSON.parse(readFileSync(join(harness.demo.dataDir, "demo-credentials.json"), "utf8"));
    const guangdong = credentials.nodes.find((node) => node.id === "guangdong");
    const auditor = guangdong.users.find((user) => user.username === "auditor");
    const page = await pageAs();
    await page.goto(`${guangdong.url}/login`);
    await page.getByLabel("用户名").fill(auditor.username);
    await page.getByLabel("密码").fill(auditor.password);
    await page.getByRole("button", { name: "登录" }).click();
    await page.getByText("退出").waitFor();
    const cosignature = page.getByRole("definition").filter({ hasText: /^— govdata\/national / });
    await openUntil(page, `${guangdong.url}/federation`, async () => (await cosignature.count()) > 0, "cosigned by the national node");
    await page.getByRole("heading", { name: "上级节点对本节点日志的见证" }).waitFor();
    const parent = page.locator('tr[data-node="national"]');
    assert.match(await parent.innerText(), /上级节点[\s\S]*已见证 [\d,]+ 条记录/);
    await page.getByRole("definition").filter({ hasText: "国家政务数据共享平台 national" }).waitFor();
    await shot(page, "federation-witness");
    assert.deepEqual(page.scriptErrors, []);
    await page.context().close();
  });
});
