// The portal in a real browser (Debian's Chromium, driven by playwright-core)
// against a seeded demo node: one scenario per role, in the order the work
// flows — a consumer searches in Chinese and applies from the cart, the
// provider approves with masking, the consumer reads the masked records.
// Screenshots of each main page go to test-output/portal/.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import { join } from "node:path";
import { verifyBundle } from "./rfc9162.mjs";
import { shot, useHarness } from "./harness.mjs";

const harness = useHarness(Number(process.env.PORTAL_TEST_PORT ?? 18480));
const pageAs = (username) => harness.pageAs(username);

// Today's applications by this consumer, in the order they were made.
const CONSUMER = "weijian.consumer";
const PROVIDER = "gongan.provider";
const person = () => {
  const [, first] = readFileSync(join(harness.demo.dataDir, "national/seed/persons.csv"), "utf8").split("\n");
  const [id, name] = first.split(",");
  return { id, name };
};

describe("portal", () => {
  test("the public home page shows the one-ledger dashboard in Chinese, and English on request", async () => {
    const page = await pageAs();
    await page.goto("/");
    await page.getByRole("heading", { name: "全国一体化政务数据目录 · 一本账" }).waitFor();
    await page.locator(".total dd").first().waitFor();
    const published = Number((await page.locator(".total dd").first().textContent()).replace(/,/g, ""));
    assert.ok(published > 0, "the dashboard counts published, openable entries");
    assert.equal(await page.locator("figure.chart canvas").count() >= 5, true, "five catalog charts are drawn");
    await shot(page, "home");
    await page.getByRole("button", { name: "English" }).click();
    await page.getByRole("link", { name: "Catalog" }).waitFor();
    assert.equal(await page.evaluate(() => document.documentElement.lang), "en");
    // Facet values are named in English too (the charts carry their numbers as text).
    await page.locator('[role="img"][aria-label*="Department resources"]').waitFor();
    await page.getByRole("button", { name: "中文" }).click();
    assert.deepEqual(page.scriptErrors, []);
    await page.context().close();
  });

  test("a wrong password is refused at the form", async () => {
    const page = await pageAs();
    await page.goto("/login");
    await page.getByLabel("用户名").fill(CONSUMER);
    await page.getByLabel("密码").fill("wrong-password-1");
    await page.getByRole("button", { name: "登录" }).click();
    await page.getByRole("alert").filter({ hasText: "invalid username or password" }).waitFor();
    await page.context().close();
  });

  test("a consumer searches in Chinese, fills the cart and applies once", async () => {
    const page = await pageAs(CONSUMER);
    await page.goto("/catalog");
    await page.getByLabel("搜索关键词").fill("人口");
    await page.getByRole("button", { name: "搜索" }).click();
    const hit = page.locator(".hit", { hasText: "人口基础信息" }).first();
    await hit.waitFor();
    assert.match(await hit.locator("h2 mark").first().textContent(), /人口/, "the match is highlighted");
    await shot(page, "search");

    // Facets narrow the result and are kept in the address.
    await page.getByRole("group", { name: "共享类型" }).getByLabel(/有条件/).check();
    await page.waitForURL(/share_type=conditional/);
    await page.locator(".hit", { hasText: "人口基础信息" }).first().waitFor();

    // The national node's own entry: the provinces' entries of that name open read-only, without the cart.
    await page.locator('.hit[data-node="national"] h2 a', { hasText: "人口基础信息" }).first().click();
    await page.getByRole("heading", { name: "人口基础信息", level: 1 }).waitFor();
    await page.getByRole("rowheader", { name: "公民身份号码" }).waitFor();
    await shot(page, "entry");
    await page.getByRole("button", { name: "加入申请清单" }).click();
    await page.getByText("已在申请清单中").waitFor();

    await page.getByRole("link", { name: /申请清单/ }).click();
    await page.getByRole("heading", { name: "一站式共享申请" }).waitFor();
    const items = page.getByRole("group", { name: "申请的信息项" });
    for (const item of ["性别", "民族", "户籍地行政区划代码", "住址", "手机号码"]) await items.getByLabel(item).uncheck();

    // Missing purpose: the server's error appears under that field.
    await page.getByLabel("法定依据（履职依据）").fill("《中华人民共和国基本医疗卫生与健康促进法》第四十九条");
    await page.getByRole("button", { name: "提交申请" }).click();
    await page.locator('.field-error[data-field="purpose"]').waitFor();

    await page.getByLabel("申请用途").fill("医保参保人员身份核验");
    await shot(page, "cart");
    await page.getByRole("button", { name: "提交申请" }).click();
    await page.getByText("已提交 1 项申请。").waitFor();

    await page.getByRole("link", { name: "我的申请", exact: true }).first().click();
    const row = page.locator("tr", { hasText: "人口基础信息" }).filter({ hasText: "待审核" }).first();
    await row.waitFor();
    await shot(page, "my-applications");
    assert.deepEqual(page.scriptErrors, []);
    await page.context().close();
  });

  test("the provider approves with masking chosen per item", async () => {
    const page = await pageAs(PROVIDER);
    await page.getByRole("link", { name: "待办审批" }).click();
    const row = page.locator("tr", { hasText: "国家卫生健康委员会" }).first();
    await row.waitFor();
    await row.getByRole("button", { name: "详情" }).click();
    await page.getByText("医保参保人员身份核验").waitFor();
    // Enter in the comment decides nothing: approving is an explicit click.
    await page.getByLabel("审批意见").fill("同意，限医保身份核验使用");
    await page.getByLabel("审批意见").press("Enter");
    await page.getByLabel("出生日期").selectOption("year");
    await shot(page, "approval");
    await page.getByRole("button", { name: "同意", exact: true }).click();
    await page.getByRole("status").filter({ hasText: "已处理。 已通过" }).waitFor();
    assert.deepEqual(page.scriptErrors, []);
    await page.context().close();
  });

  test("the consumer reads the granted records masked, never in the clear", async () => {
    const { id, name } = person();
    const page = await pageAs(CONSUMER);
    await page.getByRole("link", { name: "我的授权" }).click();
    const grant = page.locator("li[data-grant]").first();
    await grant.waitFor();
    assert.equal(await grant.getByRole("row", { name: /出生日期/ }).getByRole("cell").textContent(), "仅保留年份");
    await grant.getByLabel(/主键/).fill(id);
    await grant.getByRole("button", { name: "查询" }).click();
    const result = grant.locator("table.lookup-result tbody tr").first();
    await result.waitFor();
    const cells = await result.locator("td").allTextContents();
    await shot(page, "grants");
    assert.ok(!cells.includes(id), "the ID number is masked");
    assert.ok(cells.includes(`${id.slice(0, 6)}********${id.slice(-4)}`), `ID number masked as granted: ${cells}`);
    assert.ok(!cells.includes(name) && cells.includes(`${name[0]}${"*".repeat(name.length - 1)}`), `name masked: ${cells}`);
    assert.ok(cells.includes(id.slice(6, 10)), `birth date reduced to the year: ${cells}`);
    const shown = await page.evaluate(() => {
      const main = document.querySelector("main").cloneNode(true);
      main.querySelectorAll("textarea").forEach((typed) => typed.remove());
      return main.innerHTML;
    });
    assert.ok(!shown.includes(id) && !shown.includes(name), "the raw values are nowhere in the page but the typed key");
    // The lookup is counted in the grant's usage once the page reads it again.
    await page.reload();
    await page.locator("li[data-grant] .usage").first().filter({ hasText: /调用 [1-9]/ }).waitFor();
    assert.deepEqual(page.scriptErrors, []);
    await page.context().close();
  });

  test("a consumer subscribes a webhook to its grant's changes; the provider sees it; the consumer ends it", async () => {
    // The consumer's receiver: it keeps every call.
    const calls = [];
    const receiver = createServer((request, response) => {
      let body = "";
      request.on("data", (chunk) => (body += chunk));
      request.on("end", () => {
        calls.push({ headers: request.headers, body });
        response.end("ok");
      });
    });
    await new Promise((done) => receiver.listen(0, "127.0.0.1", done));
    const hook = `http://127.0.0.1:${receiver.address().port}/hook`;

    const page = await pageAs("renshe.consumer");
    await page.getByRole("link", { name: "我的授权" }).click();
    const grant = page.locator("li[data-grant]", { hasText: "订阅" }).first();
    await grant.getByRole("heading", { name: "变更订阅" }).waitFor();
    await grant.getByLabel(/接收地址/).fill("ftp://receiver/hook");
    await grant.getByRole("button", { name: "添加订阅" }).click();
    await grant.locator('.field-error[data-field="url"]').waitFor();
    await grant.getByLabel(/接收地址/).fill(hook);
    await grant.getByRole("button", { name: "添加订阅" }).click();
    const secret = (await grant.locator("code.secret").textContent()).trim();
    assert.match(secret, /^whsec_/);
    const subscription = grant.locator("li[data-subscription]");
    await subscription.filter({ hasText: hook }).waitFor();

    // 公安 renames one person: the upsert job commits, the webhook gets the pre- and post-image.
    const provider = await pageAs(PROVIDER);
    const [header, first] = readFileSync(join(harness.demo.dataDir, "national/seed/persons.csv"), "utf8").split("\n");
    const columns = header.split(",");
    const renamed = first.split(",");
    renamed[columns.indexOf("name")] = `${renamed[columns.indexOf("name")]}更`;
    const library = harness.demo.national.libraries.find((l) => l.library === "人口基础库");
    const job = await provider.request.post(`/api/v1/resources/${library.resource_id}/jobs`, {
      data: `${header}\n${renamed.join(",")}\n`,
      headers: {
        "content-type": "text/csv",
        "x-csrf-token": (await provider.context().cookies()).find((c) => c.name === "govdata_csrf").value,
      },
    });
    assert.equal(job.status(), 202, await job.text());
    for (let waited = 0; calls.length === 0; waited++) {
      assert.ok(waited < 600, "no webhook call within a minute");
      await new Promise((done) => setTimeout(done, 100));
    }
    const [call] = calls;
    const signed = createHmac("sha256", Buffer.from(secret.slice("whsec_".length), "base64"))
      .update(`${call.headers["webhook-id"]}.${call.headers["webhook-timestamp"]}.${call.body}`)
      .digest("base64");
    assert.equal(call.headers["webhook-signature"], `v1,${signed}`, "signed as Standard Webhooks says");
    const changes = JSON.parse(call.body).changes;
    assert.deepEqual(changes.map((change) => change.op).sort(), ["update_postimage", "update_preimage"]);
    assert.ok(changes.every((change) => change.row["公民身份号码"] !== first.split(",")[0]), "masked as granted");
    await page.reload();
    await page.locator("li[data-subscription]").filter({ hasText: "已送达 2 行" }).waitFor();
    await shot(page, "grants-subscription");

    // The provider sees who receives its data's changes, and cannot end it.
    await provider.goto("/grants");
    const given = provider.locator("li[data-grant]", { hasText: "订阅" }).first();
    await given.locator("li[data-subscription]").filter({ hasText: hook }).waitFor();
    assert.equal(await given.getByRole("button", { name: "结束订阅" }).count(), 0);
    await provider.context().close();

    await page.locator("li[data-subscription]").filter({ hasText: hook }).getByRole("button", { name: "结束订阅" }).click();
    await page.locator("li[data-subscription]").filter({ hasText: hook }).locator(".tag", { hasText: "已关闭" }).waitFor();
    assert.deepEqual(page.scriptErrors, []);
    await page.context().close();
    receiver.close();
  });

  test("the provider revokes the grant at once; the consumer can no longer look up", async () => {
    const page = await pageAs(PROVIDER);
    await page.getByRole("link", { name: "我的授权" }).click();
    const grant = page.locator("li[data-grant]", { hasText: "国家卫生健康委员会" }).first();
    await grant.getByRole("button", { name: "撤销授权" }).click();
    await grant.locator('.field-error[data-field="reason"]').waitFor();
    await grant.getByLabel("撤销理由").fill("申请部门超范围使用，暂停共享");
    await grant.getByRole("button", { name: "撤销授权" }).click();
    await page.locator("li[data-grant]", { hasText: "国家卫生健康委员会" }).first().locator(".tag", { hasText: "已撤销" }).waitFor();
    await shot(page, "grants-provider");
    assert.deepEqual(page.scriptErrors, []);
    await page.context().close();

    const consumer = await pageAs(CONSUMER);
    await consumer.getByRole("link", { name: "我的授权" }).click();
    const held = consumer.locator("li[data-grant]").first();
    await held.locator(".tag", { hasText: "已撤销" }).waitFor();
    await held.getByText("申请部门超范围使用，暂停共享").waitFor();
    assert.equal(await held.getByRole("button", { name: "查询" }).count(), 0, "no lookup through a revoked grant");
    const refused = await consumer.request.post(`/api/v1/gateway/grants/${await held.getAttribute("data-grant")}/lookup`, {
      data: { keys: [person().id] },
      headers: { "x-csrf-token": (await consumer.context().cookies()).find((c) => c.name === "govdata_csrf").value },
    });
    assert.equal(refused.status(), 403, "the gateway refuses a revoked grant");
    await consumer.context().close();
  });

  test("the authority returns a submitted catalog entry with a reason per field", async () => {
    const page = await pageAs("authority");
    // The authority's dashboard adds every department's sharing report.
    await page.getByRole("heading", { name: "共享申请办理情况（近12个月）" }).waitFor();
    await page.locator(".total", { hasText: "按期答复率" }).locator("dd").filter({ hasText: "%" }).waitFor();
    await shot(page, "home-authority");
    await page.getByRole("link", { name: "目录审核" }).click();
    const entry = page.locator("li[data-entry]").first();
    await entry.waitFor();
    const name = (await entry.locator("h2 a").textContent()).trim();
    const code = await entry.getAttribute("data-entry");
    await entry.getByRole("button", { name: "审核" }).click();
    await entry.getByRole("heading", { name: "自动检查" }).waitFor();
    await entry.locator(".findings, .ok").first().waitFor();

    // A reason must not be blank: the refusal stands under the reason.
    await entry.getByRole("button", { name: "退回修改" }).click();
    await entry.locator('.field-error[data-field="reasons[0].reason"]').waitFor();

    await entry.getByLabel("字段").first().selectOption("summary");
    await entry.getByLabel("理由").first().fill("摘要未说明数据覆盖的时间和地域范围");
    await entry.getByRole("button", { name: "添加一条理由" }).click();
    await entry.getByLabel("字段").nth(1).selectOption({ index: 13 });
    await entry.getByLabel("理由").nth(1).fill("该信息项的长度与数据元标准不符");
    await shot(page, "review");
    await entry.getByRole("button", { name: "退回修改" }).click();
    await page.getByRole("status").filter({ hasText: `${name}：已退回` }).waitFor();

    await page.goto(`/catalog/${encodeURIComponent(code)}`);
    await page.locator(".timeline .reason", { hasText: "摘要未说明数据覆盖的时间和地域范围" }).waitFor();
    await page.locator(".timeline .reason", { hasText: "该信息项的长度与数据元标准不符" }).waitFor();
    assert.deepEqual(page.scriptErrors, []);
    await page.context().close();
  });

  test("an auditor downloads an entry with its proof, and it verifies", async () => {
    const page = await pageAs("auditor");
    await page.getByRole("link", { name: "审计" }).click();
    await page.locator("pre.note").waitFor();
    // The authority's return above is in the ledger, with its reasons in the payload.
    await page.getByLabel("类型").fill("catalog.return");
    await page.getByRole("button", { name: "搜索" }).click();
    const row = page.locator("table.ledger tbody tr").last();
    await row.waitFor();
    await shot(page, "audit");
    const index = Number(await row.getAttribute("data-index"));
    // The checkpointer signs a new size every second; wait until it covers the entry.
    let download;
    for (let attempt = 0; !download; attempt++) {
      const waiting = page.waitForEvent("download", { timeout: 3000 }).catch(() => undefined);
      await row.getByRole("button", { name: /下载证明/ }).click();
      download = await waiting;
      assert.ok(attempt < 10, "the entry is covered by a checkpoint within seconds");
    }
    const bundle = JSON.parse(readFileSync(await download.path(), "utf8"));
    assert.equal(bundle.entry.index, index);
    assert.equal(bundle.entry.entry.kind, "catalog.return");
    const checkpoint = verifyBundle(bundle);
    assert.ok(checkpoint.size > index);

    // The verifier is not a rubber stamp: one changed byte, or another entry's proof, fails.
    const altered = structuredClone(bundle);
    const bytes = Buffer.from(altered.entry.canonical, "base64");
    bytes[bytes.length - 2] ^= 1;
    altered.entry.canonical = bytes.toString("base64");
    assert.throws(() => verifyBundle(altered), /do not hash to its leaf/);
    const forged = structuredClone(bundle);
    forged.checkpoint = forged.checkpoint.replace(/^(.*\n)(\d+)\n/, (_, origin, size) => `${origin}${Number(size) + 1}\n`);
    assert.throws(() => verifyBundle(forged), /no valid signature/);
    assert.deepEqual(page.scriptErrors, []);
    await page.context().close();
  });

  test("a consumer makes application credentials limited to a network, uses them, and revokes them", async () => {
    const page = await pageAs(CONSUMER);
    await page.getByRole("link", { name: "应用凭证" }).click();
    await page.getByLabel("应用名称").fill("医保身份核验应用");
    await page.getByLabel(/允许的来源网络/).fill("10.0.0.0/33");
    await page.getByRole("button", { name: "新建" }).click();
    await page.locator('.field-error[data-field="allowed_networks"]').waitFor();

    await page.getByLabel(/允许的来源网络/).fill("127.0.0.0/8\n10.12.0.0/16");
    await page.getByRole("button", { name: "新建" }).click();
    const secret = (await page.locator("code.secret").textContent()).trim();
    assert.match(secret, /^gdk_[0-9a-f]{8}_/);
    const row = page.locator(`tr[data-key="${secret.slice(0, 12)}"]`);
    await row.waitFor();
    await shot(page, "credentials");
    const me = () => fetch(`${harness.demo.url}/api/v1/auth/me`, { headers: { authorization: `Bearer ${secret}` } });
    assert.equal((await me()).status, 200, "the new key works from an allowed network");

    page.once("dialog", (dialog) => dialog.accept());
    await row.getByRole("button", { name: "吊销" }).click();
    await row.getByText("已吊销").waitFor();
    assert.equal((await me()).status, 401, "a revoked key is refused at once");
    assert.deepEqual(page.scriptErrors, []);
    await page.context().close();
  });

  test("the administrator creates an account; a weak password is refused at its field", async () => {
    const page = await pageAs("admin");
    await page.getByRole("link", { name: "系统管理" }).click();
    await page.getByRole("button", { name: "用户与角色" }).click();
    const form = page.locator("form.panel");
    await form.getByLabel("用户名").fill("weijian.analyst");
    await form.getByLabel("姓名").fill("国家卫生健康委员会数据分析员");
    await form.getByLabel("所属部门").selectOption({ label: "国家卫生健康委员会" });
    await form.getByLabel("初始密码").fill("short");
    await form.getByRole("group", { name: "角色" }).getByLabel("数据分析员").check();
    await form.getByRole("button", { name: "新建" }).click();
    await form.locator('.field-error[data-field="password"]').waitFor();
    await form.getByLabel("初始密码").fill("analysis-2026-ok");
    await form.getByRole("button", { name: "新建" }).click();
    await page.locator('tr[data-user="weijian.analyst"]').waitFor();
    await shot(page, "admin-users");
    assert.deepEqual(page.scriptErrors, []);
    await page.context().close();
  });

  test("a consumer states a demand, the provider answers it with a legal basis, the authority rules on an objection", async () => {
    const consumer = await pageAs(CONSUMER);
    await consumer.getByRole("link", { name: "需求与异议" }).click();
    await consumer.getByText("提出数据需求").click();
    await consumer.getByLabel("需求描述").fill("需要出生医学证明签发信息，用于新生儿参保登记");
    await consumer.getByLabel("或者：提供部门").selectOption({ label: "公安部" });
    await consumer.getByLabel("法定依据（履职依据）").fill("《中华人民共和国社会保险法》第二十五条");
    await consumer.getByRole("button", { name: "提交" }).click();
    await consumer.locator('.field-error[data-field="purpose"]').waitFor();
    await consumer.getByLabel("申请用途").fill("新生儿参保登记");
    await consumer.getByRole("button", { name: "提交" }).click();
    await consumer.getByRole("status").filter({ hasText: "需求已提交。" }).waitFor();
    assert.deepEqual(consumer.scriptErrors, []);
    await consumer.context().close();

    const provider = await pageAs(PROVIDER);
    await provider.getByRole("link", { name: "需求与异议" }).click();
    const demand = provider.locator("li[data-demand]", { hasText: "新生儿参保登记" });
    await demand.getByLabel("无法提供").check();
    await demand.getByLabel("无法提供的法定依据").fill("《中华人民共和国母婴保健法》第二十三条：出生医学证明由卫生健康部门签发");
    await demand.getByRole("button", { name: "提交" }).click();
    await provider.getByRole("status").filter({ hasText: "已答复。" }).waitFor();
    await demand.locator(".tag", { hasText: "无法提供" }).waitFor();
    await shot(provider, "demands");
    assert.deepEqual(provider.scriptErrors, []);
    await provider.context().close();

    const authority = await pageAs("authority");
    await authority.getByRole("link", { name: "需求与异议" }).click();
    const objection = authority.locator("li[data-objection]").filter({ has: authority.getByRole("button", { name: "支持异议" }) }).first();
    await objection.getByLabel("裁决理由").fill("驳回所引依据不适用于本次申请的信息项");
    await objection.getByRole("button", { name: "支持异议" }).click();
    await authority.getByRole("status").filter({ hasText: "已处理。" }).waitFor();
    assert.deepEqual(authority.scriptErrors, []);
    await authority.context().close();
  });

  test("the security administrator sees any department's application credentials", async () => {
    const page = await pageAs("secadmin");
    await page.getByRole("link", { name: "系统管理" }).click();
    await page.getByRole("button", { name: "应用凭证（API 密钥）" }).click();
    await page.getByLabel("所属部门").first().selectOption({ label: "人力资源和社会保障部" });
    await page.locator("table.keys tr", { hasText: "社保待遇资格认证应用" }).waitFor();
    assert.deepEqual(page.scriptErrors, []);
    await page.context().close();
  });

  test("pages that need a login say so", async () => {
    const page = await pageAs();
    await page.goto("/applications");
    await page.getByText("请先登录后再查看此页面。").waitFor();
    const response = await page.request.get("/api/v1/sharing/applications");
    assert.equal(response.status(), 401);
    await page.context().close();
  });
});
