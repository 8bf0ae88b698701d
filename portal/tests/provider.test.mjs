// The provider pages in a real browser (Debian's Chromium, driven by
// playwright-core) against a seeded demo node, in the order a department
// works: register an entry with the automatic checks inline and submit it,
// register an upload resource for it and load a file, then bulk-import
// entries after a dry run. Screenshots go to test-output/portal/.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { shot, useHarness } from "./harness.mjs";

const harness = useHarness(Number(process.env.PROVIDER_TEST_PORT ?? 18580));
const pageAs = (username) => harness.pageAs(username);

const PROVIDER = "gongan.provider";
const run = Date.now().toString(36);
const ENTRY_NAME = `出入境人员身份核验信息${run}`;

/** A valid GB 11643 citizen identity number from its first 17 digits. */
function idNumber(body) {
  const weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  const sum = [...body].reduce((total, digit, i) => total + Number(digit) * weights[i], 0);
  return body + "10X98765432"[sum % 11];
}

/** The entry registered by the first test, used by the second. */
let entryCode;

describe("provider pages", () => {
  test("a provider registers an entry, sees the checks beside the fields, saves and submits it", async () => {
    const page = await pageAs(PROVIDER);
    await page.getByRole("link", { name: "目录编制" }).click();
    await page.getByRole("heading", { name: "本部门目录" }).waitFor();
    await page.locator("li[data-entry]").first().waitFor();
    await shot(page, "provider-entries");

    await page.getByRole("link", { name: "注册新目录" }).click();
    await page.getByRole("heading", { name: "注册数据目录" }).waitFor();
    await page.getByLabel(/^项/).fill("1");
    await page.getByLabel("信息资源名称").fill(ENTRY_NAME);
    await page.getByLabel(/^关键字/).fill("出入境、身份核验");
    await page.getByLabel("所属信息系统").selectOption({ index: 1 });
    await page.getByLabel(/^格式类型/).fill("mysql");
    await page.getByLabel("共享条件").fill("仅用于政务服务中的身份核验");
    await page.getByLabel("信息项名称 1", { exact: true }).fill("公民身份号码");
    await page.getByLabel("数据类型 1").selectOption("C");
    await page.getByLabel("长度 1").fill("18");
    await page.getByLabel("敏感类别 1").selectOption("identity_number");
    await page.getByLabel("分级 1").selectOption("general:4");
    await page.getByRole("button", { name: "添加信息项" }).click();
    await page.getByLabel("信息项名称 2", { exact: true }).fill("姓名");
    await page.getByLabel("长度 2").fill("50");
    await page.getByLabel("敏感类别 2").selectOption("person_name");
    await page.getByLabel("分级 2").selectOption("general:3");

    // The summary is left empty: the check names it under that field.
    const summaryFinding = page.locator('.findings[data-field="summary"] .error');
    await summaryFinding.waitFor();
    assert.match(await summaryFinding.textContent(), /summary/);
    await shot(page, "provider-form-checks");

    await page.getByLabel("信息资源摘要").fill("出入境人员的公民身份号码与姓名，供各部门办理政务服务时核验身份。");
    await summaryFinding.waitFor({ state: "detached" });
    assert.equal(await page.locator(".findings .error").count(), 0, "no other check fails");
    await page.getByRole("button", { name: "保存" }).click();
    await page.waitForURL(/\/provide\?saved=/);
    const row = page.locator("li[data-entry]", { hasText: ENTRY_NAME });
    await row.locator(".tag", { hasText: "草稿" }).waitFor();
    await row.getByText(/编目期限 \d{4}-\d{2}-\d{2}/).waitFor();
    entryCode = await row.getAttribute("data-entry");
    assert.match(entryCode, /^301\/\d{6}$/);

    await row.getByRole("button", { name: "提交审核" }).click();
    await page.getByRole("status").filter({ hasText: `《${ENTRY_NAME}》：待审核` }).waitFor();
    await row.locator(".tag", { hasText: "待审核" }).waitFor();
    await page.getByRole("button", { name: "待审核", exact: true }).click();
    await page.waitForURL(/status=submitted/);
    await page.locator("li[data-entry]", { hasText: ENTRY_NAME }).waitFor();
    assert.deepEqual(page.scriptErrors, []);
    await page.context().close();
  });

  test("a returned entry shows the reviewer's reasons, is edited in place and revised to a draft", async () => {
    const page = await pageAs(PROVIDER);
    await page.goto("/provide");
    await page.getByRole("button", { name: "已退回", exact: true }).click();
    const row = page.locator("li[data-entry]").first();
    await row.locator(".return-reasons", { hasText: "summary" }).waitFor();
    const name = (await row.locator("h2 a").textContent()).trim();
    const code = await row.getAttribute("data-entry");

    await row.getByRole("link", { name: "编辑" }).click();
    await page.getByRole("heading", { name: `编辑数据目录 ${code}` }).waitFor();
    // An existing entry is checked at once; its own versions are not reported as duplicates.
    await page.getByRole("status").filter({ hasText: /自动检查：|自动检查全部通过/ }).waitFor();
    assert.equal(await page.getByLabel(/^项/).isDisabled(), true, "the classification is fixed");
    assert.equal(await page.locator(".findings li", { hasText: code }).count(), 0);
    const summary = page.getByLabel("信息资源摘要");
    await summary.fill(`${await summary.inputValue()}数据覆盖全国，自2010年起。`);
    await page.getByRole("button", { name: "保存" }).click();
    await page.getByRole("status").filter({ hasText: `已保存目录 ${code}。` }).waitFor();

    const saved = page.locator(`li[data-entry="${code}"]`);
    await saved.locator(".tag", { hasText: "已退回" }).waitFor();
    await saved.getByRole("button", { name: "转为草稿修改" }).click();
    await page.getByRole("status").filter({ hasText: `《${name}》：草稿` }).waitFor();
    await saved.locator(".tag", { hasText: "草稿" }).waitFor();
    assert.deepEqual(page.scriptErrors, []);
    await page.context().close();
  });

  test("the provider registers an upload resource, loads a CSV, watches the job and previews the rows", async () => {
    assert.ok(entryCode, "the entry of the previous test");
    const page = await pageAs(PROVIDER);
    await page.goto(`/provide/resources/${encodeURIComponent(entryCode)}`);
    await page.getByRole("heading", { name: `数据资源：${ENTRY_NAME}` }).waitFor();
    await page.getByText("该目录还没有登记数据资源。").waitFor();

    await page.getByRole("button", { name: "登记上传资源" }).click();
    await page.getByLabel("资源名称").fill(`${ENTRY_NAME}表`);
    await page.getByLabel("实体主键（可选）").selectOption("公民身份号码");
    await page.getByLabel("文件列名 公民身份号码").fill("id_number");
    // An item marked absent needs its reason: the refusal stands in that item's row.
    await page.getByLabel("缺失 姓名").check();
    await page.getByRole("button", { name: "登记上传资源" }).click();
    await page.locator('.field-error[data-field="mapping[1]"]').waitFor();
    await page.getByLabel("缺失 姓名").uncheck();
    await page.getByLabel("文件列名 姓名").fill("name");
    await page.getByRole("button", { name: "登记上传资源" }).click();
    await page.getByRole("status").filter({ hasText: "已登记资源" }).waitFor();

    const ids = ["11010119900307001", "11010119900307002", "11010119900307003", "11010119900307004"].map(idNumber);
    const csv = ["id_number,name", `${ids[0]},张三`, `${ids[1]},李四`, "123,王五", `${ids[2]},赵六`, `${ids[3]},钱七`].join("\n");
    const resource = page.locator("li[data-resource]").first();
    await resource.getByLabel("选择文件").setInputFiles({ name: "persons.csv", mimeType: "text/csv", buffer: Buffer.from(csv) });
    await resource.getByRole("button", { name: "上传并汇聚" }).click();
    const job = resource.locator(".job-succeeded");
    await job.waitFor({ timeout: 60_000 });
    const summary = await job.locator(".meta").textContent();
    assert.match(summary, /成功/);
    assert.match(summary, /读取 5 行/);
    assert.match(summary, /写入 4 行/);
    assert.match(summary, /拒绝 1 行/);
    const rejected = job.locator(".reject-sample tbody tr");
    assert.equal(await rejected.count(), 1);
    assert.equal(await rejected.locator("td").first().textContent(), "3", "the bad ID number is the third data row");

    await resource.getByRole("button", { name: "数据预览" }).click();
    const preview = resource.locator("table.preview tbody tr");
    await preview.first().waitFor();
    assert.equal(await preview.count(), 4);
    assert.deepEqual(await resource.locator("table.preview thead th").allTextContents(), ["公民身份号码", "姓名"]);
    await shot(page, "provider-resources");
    await resource.getByRole("button", { name: "数据概况" }).click();
    await resource.locator("table.profile").getByText("共 4 行").waitFor();
    assert.deepEqual(page.scriptErrors, []);
    await page.context().close();
  });

  test("a bulk import is checked by a dry run first, reported by row, and imported only when clean", async () => {
    const page = await pageAs(PROVIDER);
    const me = await (await page.request.get("/api/v1/auth/me")).json();
    const department = await (await page.request.get(`/api/v1/departments/${me.department_id}`)).json();
    const header = "分类,信息资源名称,摘要,提供方统一社会信用代码,格式分类,格式类型,共享类型,共享条件,共享方式,开放类型,更新周期,信息项名称,数据类型,长度,分级";
    const entry = (name, item, type, length, grade) =>
      `301001,${name},${name}的摘要,${department.uscc},数据库,mysql,有条件共享,仅用于身份核验,接口,不予开放,每日,${item},${type},${length},${grade}`;
    const csvFile = (name, lines) => ({ name, mimeType: "text/csv", buffer: Buffer.from([header, ...lines].join("\n")) });

    await page.getByRole("link", { name: "目录编制" }).click();
    await page.getByRole("link", { name: "批量导入" }).click();
    await page.getByRole("heading", { name: "批量导入目录" }).waitFor();

    // One bad data type: the report names its row and column, and nothing can be imported.
    await page.getByLabel("导入文件").setInputFiles(
      csvFile("bad.csv", [entry(`导入测试甲${run}`, "公民身份号码", "C", 18, "一般4级"), ",,,,,,,,,,,姓名,C,50,一般3级", entry(`导入测试乙${run}`, "出生日期", "X型", "", "一般2级")]),
    );
    assert.equal(await page.getByLabel("文件格式").inputValue(), "csv", "the format follows the file name");
    await page.getByRole("button", { name: "试导入（仅检查）" }).click();
    await page.getByText("读取 3 行，2 条目录").waitFor();
    await page.getByRole("alert").filter({ hasText: "未导入任何目录" }).waitFor();
    const problem = page.locator("table.import-errors tbody tr", { hasText: "数据类型" });
    assert.equal(await problem.locator("td").first().textContent(), "4");
    assert.equal(await page.getByRole("button", { name: "正式导入" }).isDisabled(), true);
    await shot(page, "provider-import");

    await page.getByLabel("导入文件").setInputFiles(csvFile("good.csv", [entry(`导入测试丙${run}`, "公民身份号码", "C", 18, "一般4级")]));
    await page.getByRole("button", { name: "试导入（仅检查）" }).click();
    await page.getByText("检查通过，可以正式导入。").waitFor();
    await page.getByRole("button", { name: "正式导入" }).click();
    await page.getByText("已导入 1 条目录（草稿）：").waitFor();
    await page.getByRole("link", { name: /^301001\/\d{6}$/ }).waitFor();

    await page.goto("/provide?status=draft");
    await page.locator("li[data-entry]", { hasText: `导入测试丙${run}` }).locator(".tag", { hasText: "草稿" }).waitFor();
    assert.deepEqual(page.scriptErrors, []);
    await page.context().close();
  });
});
