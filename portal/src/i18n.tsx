// Simplified Chinese by default, English switchable; the choice is kept in
// the browser. Every visible string goes through `t`, enum values through
// `label`, so both languages cover the same screens.

import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from "react";

export type Language = "zh" | "en";

const messages = {
  "app.title": ["政务数据服务门户", "Government Data Service Portal"],
  "nav.home": ["首页", "Home"],
  "nav.catalog": ["数据目录", "Catalog"],
  "nav.cart": ["申请清单", "Cart"],
  "nav.applications": ["我的申请", "My applications"],
  "nav.inbox": ["待办审批", "Approvals"],
  "nav.grants": ["我的授权", "My grants"],
  "nav.review": ["目录审核", "Catalog review"],
  "nav.audit": ["审计", "Audit"],
  "nav.login": ["登录", "Log in"],
  "nav.logout": ["退出", "Log out"],
  "nav.language": ["English", "中文"],
  "nav.main": ["主导航", "Main navigation"],
  "common.loading": ["加载中…", "Loading…"],
  "common.empty": ["暂无数据", "Nothing here yet"],
  "common.error": ["出错了", "Something went wrong"],
  "common.retry": ["重试", "Retry"],
  "common.submit": ["提交", "Submit"],
  "common.cancel": ["取消", "Cancel"],
  "common.previous": ["上一页", "Previous"],
  "common.next": ["下一页", "Next"],
  "common.page": ["第 {page} / {pages} 页", "Page {page} of {pages}"],
  "common.status": ["状态", "Status"],
  "common.provider": ["提供部门", "Provider"],
  "common.consumer": ["申请部门", "Consumer"],
  "common.entry": ["目录", "Entry"],
  "common.due": ["答复期限", "Due"],
  "common.overdue": ["已超期", "Overdue"],
  "common.created": ["提交时间", "Submitted"],
  "common.items": ["信息项", "Items"],
  "common.details": ["详情", "Details"],
  "login.title": ["用户登录", "Log in"],
  "login.username": ["用户名", "Username"],
  "login.password": ["密码", "Password"],
  "login.submit": ["登录", "Log in"],
  "login.needed": ["请先登录后再查看此页面。", "Please log in to see this page."],
  "home.title": ["全国一体化政务数据目录 · 一本账", "One ledger of government data"],
  "home.entries": ["已发布目录", "Published entries"],
  "home.providers": ["提供部门", "Providing departments"],
  "home.unconditional": ["无条件共享", "Shared unconditionally"],
  "home.openable": ["可开放目录", "Open to the public"],
  "home.byProvider": ["各部门目录数量", "Entries by department"],
  "home.byClass": ["目录分类", "Entries by class"],
  "home.byShareType": ["共享类型", "Share type"],
  "home.byOpenType": ["开放类型", "Open type"],
  "home.byGrade": ["数据分级", "Data grade"],
  "home.applications": ["共享申请状态", "Applications by state"],
  "home.usage": ["近30日共享调用量", "Sharing calls, last 30 days"],
  "home.overdue": ["超期待办", "Overdue"],
  "search.placeholder": ["搜索数据目录，如：人口、营业执照", "Search the catalog, e.g. 人口, 营业执照"],
  "search.label": ["搜索关键词", "Search terms"],
  "search.submit": ["搜索", "Search"],
  "search.total": ["共 {total} 条目录", "{total} entries"],
  "search.sort": ["排序", "Sort"],
  "search.relevance": ["相关度", "Relevance"],
  "search.recent": ["最近更新", "Recently updated"],
  "search.filters": ["筛选", "Filters"],
  "search.clear": ["清除筛选", "Clear filters"],
  "search.none": ["没有找到符合条件的目录。", "No entries match."],
  "facet.provider": ["提供部门", "Provider"],
  "facet.class": ["目录分类", "Class"],
  "facet.share_type": ["共享类型", "Share type"],
  "facet.open_type": ["开放类型", "Open type"],
  "facet.grade": ["数据分级", "Grade"],
  "facet.update_cycle": ["更新周期", "Update cycle"],
  "facet.format_class": ["资源格式", "Format"],
  "facet.region": ["行政区划", "Region"],
  "facet.node": ["所属节点", "Node"],
  "facet.status": ["状态", "Status"],
  "entry.code": ["资源代码", "Resource code"],
  "entry.version": ["版本", "Version"],
  "entry.summary": ["摘要", "Summary"],
  "entry.keywords": ["关键字", "Keywords"],
  "entry.format": ["资源格式", "Format"],
  "entry.shareType": ["共享类型", "Share type"],
  "entry.shareCondition": ["共享条件", "Share condition"],
  "entry.legalBasis": ["不予共享依据", "Legal basis for not sharing"],
  "entry.shareModes": ["共享方式", "Share modes"],
  "entry.openType": ["开放类型", "Open type"],
  "entry.updateCycle": ["更新周期", "Update cycle"],
  "entry.published": ["发布日期", "Published"],
  "entry.grade": ["数据分级", "Grade"],
  "entry.items": ["信息项", "Information items"],
  "entry.itemName": ["信息项名称", "Name"],
  "entry.itemType": ["类型", "Type"],
  "entry.itemLength": ["长度", "Length"],
  "entry.itemSensitivity": ["敏感类别", "Sensitivity"],
  "entry.versions": ["版本与变更", "Versions and changes"],
  "entry.history": ["流转记录", "History"],
  "entry.compare": ["比较版本", "Compare versions"],
  "entry.diffNone": ["两个版本没有差异。", "The versions are identical."],
  "entry.addToCart": ["加入申请清单", "Add to cart"],
  "entry.inCart": ["已在申请清单中", "In the cart"],
  "entry.notShared": ["该目录不予共享", "This entry is not shared"],
  "entry.ownDepartment": ["本部门目录，无需申请", "Your own department's entry"],
  "cart.title": ["一站式共享申请", "One-stop application"],
  "cart.empty": ["申请清单为空。请在数据目录中选择需要的目录。", "The cart is empty. Pick entries in the catalog."],
  "cart.remove": ["移出清单", "Remove"],
  "cart.items": ["申请的信息项", "Items wanted"],
  "cart.purpose": ["申请用途", "Purpose"],
  "cart.legalBasis": ["法定依据（履职依据）", "Legal basis (statutory duty)"],
  "cart.duration": ["使用期限（天）", "Duration (days)"],
  "cart.delivery": ["共享方式", "Delivery"],
  "cart.quota": ["每日调用上限（可选）", "Daily quota (optional)"],
  "cart.rowFilterItem": ["按信息项限定范围（可选）", "Limit rows by item (optional)"],
  "cart.rowFilterPrefixes": ["取值前缀，逗号分隔", "Value prefixes, comma-separated"],
  "cart.submit": ["提交申请", "Submit application"],
  "cart.done": ["已提交 {count} 项申请。", "{count} applications submitted."],
  "apps.title": ["我的共享申请", "My applications"],
  "apps.inbox": ["待我审批", "Waiting for my decision"],
  "apps.request": ["申请内容", "Request"],
  "apps.purpose": ["用途", "Purpose"],
  "apps.legalBasis": ["依据", "Legal basis"],
  "apps.steps": ["办理过程", "Steps"],
  "apps.approve": ["同意", "Approve"],
  "apps.reject": ["驳回", "Reject"],
  "apps.withdraw": ["撤回", "Withdraw"],
  "apps.masking": ["脱敏方式", "Masking"],
  "apps.defaultMasking": ["默认", "Default"],
  "apps.comment": ["审批意见", "Comment"],
  "apps.rejectBasis": ["驳回的法定依据", "Legal basis for the rejection"],
  "apps.decided": ["已处理。", "Decision recorded."],
  "apps.proposed": ["提供部门拟定的授权条件", "Terms proposed by the provider"],
  "grants.title": ["我的数据授权", "My grants"],
  "grants.expires": ["到期时间", "Expires"],
  "grants.lookup": ["按主键查询", "Look up by key"],
  "grants.keys": ["主键（身份证号或统一社会信用代码），每行一个", "Keys (ID numbers or USCCs), one per line"],
  "grants.query": ["查询", "Look up"],
  "grants.noRows": ["没有查到记录", "No records"],
  "review.title": ["目录审核", "Catalog review"],
  "review.submitted": ["待审核", "Submitted"],
  "review.approved": ["待发布", "Approved, to publish"],
  "review.open": ["审核", "Review"],
  "review.checks": ["自动检查", "Automatic checks"],
  "review.checksPassed": ["自动检查全部通过。", "All automatic checks pass."],
  "review.comment": ["审核意见（可选）", "Comment (optional)"],
  "review.approve": ["审核通过", "Approve"],
  "review.reasons": ["退回理由（逐字段）", "Reasons to return (per field)"],
  "review.field": ["字段", "Field"],
  "review.reason": ["理由", "Reason"],
  "review.addReason": ["添加一条理由", "Add a reason"],
  "review.return": ["退回修改", "Return for changes"],
  "review.publish": ["发布", "Publish"],
  "audit.title": ["审计与存证", "Audit ledger"],
  "audit.checkpoint": ["当前签名检查点", "Current signed checkpoint"],
  "audit.verifierKey": ["验证公钥", "Verifier key"],
  "audit.actor": ["操作者", "Actor"],
  "audit.kind": ["类型", "Kind"],
  "audit.subject": ["对象", "Subject"],
  "audit.at": ["时间", "Time"],
  "audit.proof": ["存在性证明", "Inclusion proof"],
  "audit.download": ["下载证明", "Download proof"],
  "audit.notYet": ["该记录尚未纳入已签名的检查点，请稍后再试。", "Not yet covered by a signed checkpoint; try again shortly."],
  "audit.earlier": ["更早", "Earlier"],
  "audit.later": ["更新", "Later"],
} satisfies Record<string, [string, string]>;

export type MessageKey = keyof typeof messages;

const labels: Record<string, [string, string]> = {
  draft: ["草稿", "Draft"],
  submitted: ["待审核", "Submitted"],
  returned: ["已退回", "Returned"],
  approved: ["已通过", "Approved"],
  published: ["已发布", "Published"],
  superseded: ["已被替代", "Superseded"],
  withdrawn: ["已撤销", "Withdrawn"],
  discarded: ["已作废", "Discarded"],
  awaiting_authority: ["待主管部门审批", "Awaiting the authority"],
  rejected: ["已驳回", "Rejected"],
  active: ["有效", "Active"],
  expired: ["已过期", "Expired"],
  revoked: ["已撤销", "Revoked"],
  unconditional: ["无条件", "Unconditional"],
  conditional: ["有条件", "Conditional"],
  not_shared: ["不予共享", "Not shared"],
  not_open: ["不予开放", "Not open"],
  "open.unconditional": ["无条件开放", "Open unconditionally"],
  "open.conditional": ["有条件开放", "Open on conditions"],
  "open.not_open": ["不予开放", "Not open"],
  table: ["库表", "Table"],
  api: ["接口", "API"],
  file: ["文件", "File"],
  lookup: ["查询", "Lookup"],
  verify: ["核验", "Verify"],
  batch: ["批量", "Batch"],
  subscription: ["订阅", "Subscription"],
  real_time: ["实时", "Real time"],
  daily: ["每日", "Daily"],
  weekly: ["每周", "Weekly"],
  monthly: ["每月", "Monthly"],
  quarterly: ["每季度", "Quarterly"],
  half_yearly: ["每半年", "Half-yearly"],
  yearly: ["每年", "Yearly"],
  irregular: ["不定期", "Irregular"],
  core: ["核心数据", "Core"],
  important: ["重要数据", "Important"],
  general: ["一般数据", "General"],
  ungraded: ["未分级", "Ungraded"],
  clear: ["不脱敏", "Clear"],
  name: ["姓名遮盖", "Name mask"],
  id_number: ["证件号遮盖", "ID number mask"],
  phone: ["电话遮盖", "Phone mask"],
  hash: ["哈希替换", "Keyed hash"],
  null: ["置空", "Null"],
  year: ["仅保留年份", "Year only"],
  submit: ["提交", "Submit"],
  auto_approve: ["自动通过", "Auto-approved"],
  forward: ["转主管部门", "Forwarded"],
  approve: ["同意", "Approve"],
  reject: ["驳回", "Reject"],
  reopen: ["重新办理", "Reopened"],
  withdraw: ["撤回", "Withdraw"],
  return: ["退回", "Return"],
  revise: ["修改", "Revise"],
  publish: ["发布", "Publish"],
  new_version: ["新版本", "New version"],
};

interface LanguageContext {
  language: Language;
  setLanguage: (language: Language) => void;
}

const Context = createContext<LanguageContext>({ language: "zh", setLanguage: () => {} });

const STORAGE_KEY = "govdata.language";

export function LanguageProvider({ children }: { children: ReactNode }) {
  const [language, setLanguage] = useState<Language>(() =>
    localStorage.getItem(STORAGE_KEY) === "en" ? "en" : "zh",
  );
  useEffect(() => {
    localStorage.setItem(STORAGE_KEY, language);
    document.documentElement.lang = language === "zh" ? "zh-CN" : "en";
  }, [language]);
  const value = useMemo(() => ({ language, setLanguage }), [language]);
  return <Context.Provider value={value}>{children}</Context.Provider>;
}

export function useLanguage() {
  return useContext(Context);
}

/** `t(key, {name: value})` and `label(enumValue)` in the chosen language. */
export function useT() {
  const { language } = useContext(Context);
  const index = language === "zh" ? 0 : 1;
  const t = useCallback(
    (key: MessageKey, values?: Record<string, string | number>) => {
      let text = messages[key][index];
      for (const [name, value] of Object.entries(values ?? {})) text = text.replace(`{${name}}`, String(value));
      return text;
    },
    [index],
  );
  const label = useCallback((value: string) => labels[value]?.[index] ?? value, [index]);
  return { t, label, language };
}

export function gradeLabel(grade: { level: string; sublevel?: number } | null | undefined, language: Language) {
  if (!grade) return language === "zh" ? "未分级" : "Ungraded";
  const base = labels[grade.level]?.[language === "zh" ? 0 : 1] ?? grade.level;
  return grade.sublevel ? (language === "zh" ? `${base}${grade.sublevel}级` : `${base} ${grade.sublevel}`) : base;
}
