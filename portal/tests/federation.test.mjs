// The federation views in a real browser (Debian's Chromium, driven by
// playwright-core) against the demo federation — a national node with two
// provinces, one of which has a department node below it: the topology as
// the national administrator sees it, suspending and resuming a province,
// rotating the national node's key (the later applications across nodes
// reach Guangdong signed with the new key, which Guangdong follows),
// the national dashboard's entries by node opening the search for one, a
// province's entry found in the national search and opened, the national
// node's cosignature of a province's ledger shown on its federation and
// audit pages, one cart applying to the national node and to Guangdong at
// once, and an application across nodes: made at the national node, decided
// at Guangdong, followed and read through from the national node.
// Screenshots go to test-output/portal/.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { shot, useHarness } from "./harness.mjs";

const harness = useHarness(Number(process.env.FEDERATION_TEST_PORT ?? 18680));
const pageAs = (username, node) => harness.pageAs(username, node);

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
    // A page may read several things at once, each loading on its own.
    await page.waitForFunction(() => !document.querySelector("main .loading"));
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

  test("the administrator rotates the national node's key; the provinces follow it when its requests reach them", async () => {
    const page = await pageAs("admin");
    await page.goto("/federation");
    const key = page.locator(".node-key dd code");
    await key.waitFor();
    const before = await key.textContent();
    assert.match(before, /^[A-Za-z0-9+/]{43}=$/, "base64 of a 32-byte Ed25519 key");
    await page.getByText("未轮换过").waitFor();
    await page.getByRole("button", { name: "轮换节点密钥" }).click();
    await page.getByText("以旧密钥签署轮换声明").waitFor();
    await shot(page, "federation-rotate-key");
    await page.getByRole("button", { name: "确认轮换" }).click();
    await page.getByText(/已轮换 1 次，最近一次/).waitFor();
    const after = await key.textContent();
    assert.notEqual(after, before);
    const published = await (await fetch(`${harness.demo.url}/api/v1/federation/keys`)).json();
    assert.equal(published.public_key, after);
    assert.equal(published.rotations[0].previous_key, before);
    // A consumer sees the key but cannot rotate it.
    const consumer = await pageAs(CONSUMER);
    await consumer.goto("/federation");
    await consumer.locator(".node-key dd code").waitFor();
    assert.equal(await consumer.getByRole("button", { name: "轮换节点密钥" }).count(), 0);
    assert.deepEqual(page.scriptErrors, []);
    await consumer.context().close();
    await page.context().close();
  });

  test("the national dashboard counts the entries of every node and opens the search for one; a node without nodes below has no such chart", async () => {
    const page = await pageAs(CONSUMER);
    const chart = page.locator('[role="img"][aria-label^="各节点目录数"]');
    await openUntil(page, "/", async () => (await chart.count()) > 0 && (await chart.getAttribute("aria-label")).includes(GUANGDONG), "counting Guangdong's entries");
    const counts = await chart.getAttribute("aria-label");
    for (const node of ["国家政务数据共享平台", GUANGDONG]) assert.match(counts, new RegExp(`${node} \\d+`));
    // The bars are links too, each with its count.
    const figure = page.locator("figure.chart").filter({ has: chart });
    const link = figure.getByRole("link", { name: GUANGDONG, exact: true });
    assert.match(await link.locator("xpath=..").innerText(), new RegExp(`^${GUANGDONG} [\\d,]+$`));
    await shot(page, "home-nodes");

    await link.click();
    await page.waitForURL(/\/catalog\?node=guangdong&status=published$/);
    await page.locator('.hit[data-node="guangdong"]').first().waitFor();
    assert.equal(await page.locator('.hit:not([data-node="guangdong"])').count(), 0, "only Guangdong's entries are listed");
    assert.ok(await page.getByRole("group", { name: "所属节点" }).getByLabel(GUANGDONG).isChecked(), "the node facet shows the filter");
    await shot(page, "home-nodes-search");
    assert.deepEqual(page.scriptErrors, []);
    await page.context().close();

    // Zhejiang has no node below it: its dashboard counts its own entries only.
    const province = await pageAs(undefined, "zhejiang");
    await province.goto("/");
    await province.locator(".total dd").first().waitFor();
    assert.equal(await province.locator('[role="img"][aria-label^="各节点目录数"]').count(), 0);
    assert.deepEqual(province.scriptErrors, []);
    await province.context().close();
  });

  test("a consumer finds a Guangdong entry in the national search by node and opens it, with the cart button", async () => {
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
    // One that is shared at all, so it can be applied for.
    const hit = page.locator(".hit").filter({ hasNot: page.locator(".tag", { hasText: /^不予共享$/ }) }).first();
    await hit.getByText(`来自 ${GUANGDONG}`).waitFor();
    const name = await hit.locator("h2 a").textContent();
    await shot(page, "federation-search");

    await hit.locator("h2 a").click();
    await page.waitForURL(/\/catalog\/federated\/guangdong\/\d{6}%2F\d{6}$/);
    await page.getByRole("heading", { name, level: 1 }).waitFor();
    await page.getByText(`来自 ${GUANGDONG}`).waitFor();
    await page.getByRole("heading", { name: "信息项" }).waitFor();
    assert.ok((await page.locator("table tbody tr").count()) > 0, "the entry's items are listed");
    await shot(page, "federation-entry");
    // Another node's entry goes into the cart like this node's own.
    await page.getByRole("button", { name: "加入申请清单" }).click();
    await page.getByText("已在申请清单中").waitFor();
    assert.equal(await page.locator("header .badge").textContent(), "1");
    assert.deepEqual(page.scriptErrors, []);
    await page.context().close();
  });

  test("a province shows the national node's cosignature of its ledger", async () => {
    const page = await pageAs("auditor", "guangdong");
    const cosignature = page.getByRole("definition").filter({ hasText: /^— govdata\/national / });
    await openUntil(page, "/federation", async () => (await cosignature.count()) > 0, "cosigned by the national node");
    await page.getByRole("heading", { name: "上级节点对本节点日志的见证" }).waitFor();
    const parent = page.locator('tr[data-node="national"]');
    assert.match(await parent.innerText(), /上级节点[\s\S]*已见证 [\d,]+ 条记录/);
    await page.getByRole("definition").filter({ hasText: "国家政务数据共享平台 national" }).waitFor();
    await shot(page, "federation-witness");
    assert.deepEqual(page.scriptErrors, []);
    await page.context().close();
  });

  test("a province's audit page shows the national node's cosignature of its ledger; the national one, without a parent, shows none", async () => {
    const page = await pageAs("auditor", "guangdong");
    const heading = page.getByRole("heading", { name: "上级节点对本节点日志的见证" });
    const cosignature = page.getByRole("definition").filter({ hasText: /^— govdata\/national / });
    const cosigned = async () => {
      // The witness shows once the page knows this node has a parent; then it reads the cosignature.
      await heading.waitFor();
      await page.waitForFunction(() => !document.querySelector("main .loading"));
      return (await cosignature.count()) > 0;
    };
    await openUntil(page, "/audit", cosigned, "cosigned by the national node");
    await page.getByRole("heading", { name: "审计与存证", level: 1 }).waitFor();
    await page.locator("pre.note").waitFor();
    await page.getByRole("definition").filter({ hasText: "国家政务数据共享平台 national" }).waitFor();
    assert.match(await page.locator("dl.attributes").innerText(), /见证的日志大小\s+[\d,]+/);
    await shot(page, "audit-witness");
    assert.deepEqual(page.scriptErrors, []);
    await page.context().close();

    const national = await pageAs("auditor");
    await national.goto("/audit");
    await national.locator("pre.note").waitFor();
    await national.waitForFunction(() => !document.querySelector("main .loading"));
    assert.equal(await national.getByRole("heading", { name: "上级节点对本节点日志的见证" }).count(), 0);
    assert.deepEqual(national.scriptErrors, []);
    await national.context().close();
  });

  test("a national consumer puts a national and a Guangdong entry in one cart and applies to both nodes at once", async () => {
    const APPLICANT = "renshe.consumer";
    const LOCAL = "人口基础信息";
    const REMOTE = "法人单位基础信息";
    const page = await pageAs(APPLICANT);
    await page.goto(`/catalog?q=${encodeURIComponent(LOCAL)}&node=national`);
    await page.locator('.hit[data-node="national"] h2 a', { hasText: new RegExp(`^${LOCAL}$`) }).click();
    await page.getByRole("heading", { name: LOCAL, level: 1 }).waitFor();
    await page.getByRole("button", { name: "加入申请清单" }).click();
    await page.getByText("已在申请清单中").waitFor();

    const remoteHit = page.locator('.hit[data-node="guangdong"] h2 a', { hasText: new RegExp(`^${REMOTE}$`) });
    await openUntil(page, `/catalog?q=${encodeURIComponent(REMOTE)}&node=guangdong`, async () => (await remoteHit.count()) > 0, "holding Guangdong's entry");
    await remoteHit.click();
    await page.waitForURL(/\/catalog\/federated\/guangdong\//);
    await page.getByRole("heading", { name: REMOTE, level: 1 }).waitFor();
    await page.getByRole("button", { name: "加入申请清单" }).click();
    await page.getByText("已在申请清单中").waitFor();
    assert.equal(await page.locator("header .badge").textContent(), "2");

    // One cart, a group per home node: this node's first.
    await page.getByRole("link", { name: /申请清单/ }).click();
    await page.getByRole("heading", { name: "一站式共享申请" }).waitFor();
    const groups = page.locator(".cart-group");
    await groups.nth(1).waitFor();
    assert.deepEqual(await groups.evaluateAll((all) => all.map((group) => group.dataset.node)), ["national", "guangdong"]);
    assert.equal(await groups.nth(0).getByRole("heading", { level: 2 }).textContent(), "本节点");
    assert.equal(await groups.nth(1).getByRole("heading", { level: 2 }).textContent(), GUANGDONG);
    assert.deepEqual(await groups.nth(0).locator("legend a").allTextContents(), [LOCAL]);
    assert.deepEqual(await groups.nth(1).locator("legend a").allTextContents(), [REMOTE]);
    await groups.nth(1).getByText(`申请将送达 ${GUANGDONG}`).waitFor();

    await page.getByLabel("申请用途").fill("社会保险经办中核验参保人员和用人单位信息");
    await page.getByLabel("法定依据（履职依据）").fill("《中华人民共和国社会保险法》第五十七条、第七十二条");
    await shot(page, "cart-nodes");
    await page.getByRole("button", { name: "提交申请" }).click();

    // One application per node: the national one here, Guangdong's at Guangdong under the id it gave.
    const local = page.locator('.cart-result[data-node="national"]');
    const remote = page.locator('.cart-result[data-node="guangdong"]');
    await local.getByRole("status").waitFor();
    await remote.getByRole("status").waitFor();
    assert.equal(await local.getByRole("heading", { level: 2 }).textContent(), "本节点");
    assert.equal(await local.getByRole("status").textContent(), "已提交 1 项申请。");
    assert.match(await local.locator("li[data-application]").innerText(), new RegExp(`^${LOCAL}\\s+待审核`));
    assert.equal(await remote.getByRole("heading", { level: 2 }).textContent(), GUANGDONG);
    assert.equal(await remote.getByRole("status").textContent(), "已提交 1 项申请。");
    assert.match(await remote.locator("li[data-application]").innerText(), new RegExp(`^${REMOTE}\\s+待审核\\s+对方节点的申请编号 [0-9a-f-]{36}`));
    // Both nodes took their entries: the cart is empty.
    assert.equal(await page.locator(".cart-group").count(), 0);
    await page.locator("header .badge").waitFor({ state: "detached" });
    await shot(page, "cart-nodes-submitted");

    await page.getByRole("link", { name: "我的申请", exact: true }).first().click();
    await page.locator("tr", { hasText: LOCAL }).filter({ hasText: "待审核" }).first().waitFor();
    await page.locator("tr[data-remote-application]").filter({ hasText: GUANGDONG }).filter({ hasText: REMOTE }).waitFor();
    await page.goto("/cart");
    await page.getByText("申请清单为空").waitFor();
    assert.deepEqual(page.scriptErrors, []);
    await page.context().close();
  });

  test("the national topology names the department node below Guangdong, in its rows and its chart", async () => {
    const page = await pageAs("admin");
    const police = page.locator('tr[data-node="guangdong-police"]');
    const chart = page.locator('[role="img"][aria-label^="各节点汇聚到本节点的目录数"]');
    const charted = async () => (await chart.count()) > 0 && /广东省公安厅数据共享平台 \d+/.test(await chart.getAttribute("aria-label"));
    await openUntil(page, "/federation", async () => (await police.count()) > 0 && (await charted()), "told of the node below Guangdong and holding its entries");
    await page.getByRole("heading", { name: "更下级节点" }).waitFor();
    assert.equal(await police.getByRole("rowheader").textContent(), "广东省公安厅数据共享平台");
    assert.match(await police.innerText(), new RegExp(`部门级[\\s\\S]*${GUANGDONG}`));
    assert.deepEqual(page.scriptErrors, []);
    await page.context().close();
  });

  test("a national consumer applies for a Guangdong entry, Guangdong decides, and the consumer reads through the grant", async () => {
    const APPLICANT = "renshe.consumer";
    const ENTRY = "人口基础信息";
    const WANTED = ["公民身份号码", "姓名"];
    const PURPOSE = "核验在粤参保人员身份信息";
    const page = await pageAs(APPLICANT);
    const nodeFacet = page.getByRole("group", { name: "所属节点" });
    await openUntil(page, `/catalog?q=${encodeURIComponent(ENTRY)}`, async () => (await nodeFacet.getByLabel(GUANGDONG).count()) > 0, "holding Guangdong's entries");
    await nodeFacet.getByLabel(GUANGDONG).check();
    await page.waitForURL(/node=guangdong/);
    await page.locator('.hit[data-node="guangdong"] h2 a', { hasText: new RegExp(`^${ENTRY}$`) }).click();
    await page.waitForURL(/\/catalog\/federated\/guangdong\//);
    await page.getByRole("heading", { name: ENTRY, level: 1 }).waitFor();
    await page.getByRole("button", { name: "加入申请清单" }).click();
    await page.getByRole("link", { name: /申请清单/ }).click();
    const group = page.locator('.cart-group[data-node="guangdong"]');
    await group.getByText(`申请将送达 ${GUANGDONG}`).waitFor();
    const items = group.getByRole("group", { name: "申请的信息项" });
    for (const item of await items.locator("label").all()) {
      await item.getByRole("checkbox").setChecked(WANTED.includes((await item.innerText()).trim()));
    }

    await page.getByRole("checkbox", { name: "订阅", exact: true }).check();

    // Guangdong refuses an empty purpose; the message stands under that field, nowhere else, and the entry stays.
    await page.getByLabel("法定依据（履职依据）").fill("《中华人民共和国社会保险法》第七十五条");
    await page.getByRole("button", { name: "提交申请" }).click();
    const refusal = page.locator('.field-error[data-field="purpose"]');
    await refusal.waitFor();
    assert.equal(await refusal.evaluate((message) => message.previousElementSibling.querySelector("textarea").name), "purpose");
    assert.equal(await page.locator(".notice.error").count(), 0, "a refusal at a field is not repeated above the button");
    assert.equal(await group.locator("fieldset.cart-entry").count(), 1, "a refused node's entries stay in the cart");
    await shot(page, "federation-apply-refused");

    await page.getByLabel("申请用途").fill(PURPOSE);
    await page.getByRole("button", { name: "提交申请" }).click();
    const sent = page.locator('.cart-result[data-node="guangdong"] li[data-application]');
    await sent.waitFor();
    const remoteId = await sent.getAttribute("data-application");
    assert.match(await sent.innerText(), /待审核\s+对方节点的申请编号 [0-9a-f-]{36}/);
    assert.equal(await page.locator(".field-error").count(), 0, "the refusal is gone once Guangdong took the application");
    await shot(page, "federation-applied");
    assert.deepEqual(page.scriptErrors, []);
    await page.context().close();

    // Guangdong's provider finds it in the approvals inbox, from the national department, and approves;
    // an important entry then waits for Guangdong's data authority.
    for (const [username, next] of [["gongan.provider", /已通过|待主管部门审批/], ["authority", /已通过/]]) {
      const decider = await pageAs(username, "guangdong");
      await decider.goto("/inbox");
      const row = decider.locator(`tr[data-application="${remoteId}"]`);
      await row.getByText("人力资源和社会保障部（国家政务数据共享平台）").waitFor();
      await row.getByRole("button", { name: "详情" }).click();
      await decider.getByText(PURPOSE).waitFor();
      await shot(decider, `federation-remote-${username.replace(".", "-")}`);
      await decider.getByRole("button", { name: "同意", exact: true }).click();
      const decided = decider.getByRole("status").filter({ hasText: /^已处理。/ });
      await decided.waitFor();
      const status = await decided.innerText();
      assert.match(status, next);
      assert.deepEqual(decider.scriptErrors, []);
      await decider.context().close();
      if (status.includes("已通过")) break;
    }

    // Back at the national node: the application approved, as Guangdong holds it now.
    const consumer = await pageAs(APPLICANT);
    await consumer.goto("/applications");
    await consumer.getByRole("heading", { name: "跨节点申请" }).waitFor();
    const remote = consumer.locator("tr[data-remote-application]").filter({ hasText: GUANGDONG }).filter({ hasText: ENTRY });
    await remote.getByRole("button", { name: "详情" }).click();
    const atHome = consumer.locator(`.application-detail[data-application="${remoteId}"]`);
    await atHome.locator(".tag").filter({ hasText: /^已通过$/ }).waitFor();
    assert.match(await atHome.locator(".timeline").innerText(), /提交[\s\S]*同意/);
    await shot(consumer, "federation-remote-applications");

    // Guangdong's grant, read through Guangdong's gateway from here: granted items only, masked.
    await consumer.goto("/grants");
    await consumer.getByRole("heading", { name: "其他节点的授权" }).waitFor();
    const fromGuangdong = consumer.locator('section[data-node="guangdong"]');
    await fromGuangdong.getByRole("heading", { name: GUANGDONG }).waitFor();
    const grant = fromGuangdong.locator("li[data-grant]").filter({ hasText: ENTRY });
    await grant.getByText("有效").waitFor();
    const [person] = readFileSync(harness.demo.node("guangdong").base_library[0].path, "utf8").split("\n")[1].split(",");
    await grant.getByLabel("主键（身份证号或统一社会信用代码），每行一个").fill(person);
    await grant.getByRole("button", { name: "查询" }).click();
    const rows = grant.locator("table.lookup-result");
    await rows.waitFor();
    assert.deepEqual((await rows.locator("th").allTextContents()).sort(), [...WANTED].sort());
    const shown = await rows.locator("tbody").innerText();
    assert.ok(shown.includes("*"), `masked: ${shown}`);
    assert.ok(!shown.includes(person), "the ID number is never shown in the clear");
    await shot(consumer, "federation-remote-grants");

    // Its changes, by a webhook Guangdong calls itself: added (the secret shown once) and ended from here.
    const HOOK = "http://127.0.0.1:9/changes";
    const subscriptions = grant.locator("section.subscriptions");
    await subscriptions.getByText(/此授权在其他节点/).waitFor();
    await subscriptions.getByLabel("接收地址（http 或 https）").fill(HOOK);
    await subscriptions.getByRole("button", { name: "添加订阅" }).click();
    assert.match(await subscriptions.locator("code.secret").innerText(), /^whsec_/);
    const webhook = subscriptions.locator("li[data-subscription]").filter({ hasText: HOOK });
    await webhook.locator(".tag").filter({ hasText: /^有效$/ }).waitFor();
    await webhook.getByRole("button", { name: "结束订阅" }).click();
    await webhook.locator(".tag").filter({ hasText: /^已关闭$/ }).waitFor();
    assert.equal(await webhook.getByRole("button", { name: "结束订阅" }).count(), 0);
    assert.deepEqual(consumer.scriptErrors, []);
    await consumer.context().close();
  });
});
