// The data authority's catalog review: submitted entries with the automatic
// checks shown beside them, approved with a comment or returned with a
// reason per field; approved entries are published from here.

import { useState, type FormEvent } from "react";
import { Link } from "wouter";
import { codePath, get, post } from "../api";
import { Async, FieldMessage, FormError, useAction, useLoad } from "../components/Async";
import { gradeLabel, useT } from "../i18n";
import { useDepartmentName, useSession } from "../session";
import { Pager } from "./Search";
import type { CatalogEntry } from "../types";

interface Finding {
  check: string;
  severity: "warning" | "error";
  field: string;
  message: string;
  related_code?: string;
}

const REVIEW_PAGE = 50;

const ENTRY_FIELDS = ["name", "summary", "keywords", "classification", "format_type", "share_type", "share_condition", "legal_basis", "share_modes", "open_type", "open_condition", "update_cycle", "system_id"];

export function Review() {
  const { t, language } = useT();
  const { me } = useSession();
  const [status, setStatus] = useState<"submitted" | "approved">("submitted");
  const [open, setOpen] = useState<string>();
  const [notice, setNotice] = useState<string>();
  const [page, setPage] = useState(1);
  // The listing has no total: a full page means there may be another.
  const list = useLoad(() => get<CatalogEntry[]>("/catalog/entries", { status, page, size: REVIEW_PAGE }), [status, page, me?.actor]);
  const department = useDepartmentName();
  const done = (message: string) => {
    setNotice(message);
    setOpen(undefined);
    list.reload();
  };
  return (
    <section>
      <h1>{t("review.title")}</h1>
      <div className="tabs">
        {(["submitted", "approved"] as const).map((tab) => (
          <button
            key={tab}
            type="button"
            aria-pressed={status === tab}
            onClick={() => {
              setStatus(tab);
              setPage(1);
            }}
          >
            {t(tab === "submitted" ? "review.submitted" : "review.approved")}
          </button>
        ))}
      </div>
      {notice ? (
        <p className="notice" role="status">
          {notice}
        </p>
      ) : null}
      <Async loaded={list} empty={(entries) => entries.length === 0}>
        {(entries) => (
          <ul className="review-list">
            {entries.map((entry) => (
              <li key={`${entry.code}@${entry.version}`} className="panel" data-entry={entry.code}>
                <h2>
                  <Link href={`/catalog/${codePath(entry.code)}`}>{entry.metadata.name}</Link>{" "}
                  <span className="code">
                    {entry.code} v{entry.version}
                  </span>
                </h2>
                <p className="meta">
                  <span>{department(entry.metadata.provider.department_id)}</span>
                  <span>{entry.updated_at.slice(0, 10)}</span>
                  <span className="tag">{gradeLabel(entry.grade, language)}</span>
                </p>
                <button type="button" className="link" aria-expanded={open === entry.code} onClick={() => setOpen(open === entry.code ? undefined : entry.code)}>
                  {t("review.open")}
                </button>
                {open === entry.code ? <ReviewForm entry={entry} onDone={done} /> : null}
              </li>
            ))}
          </ul>
        )}
      </Async>
      <Pager page={page} pages={list.data && list.data.length === REVIEW_PAGE ? page + 1 : page} onPage={setPage} />
    </section>
  );
}

function ReviewForm({ entry, onDone }: { entry: CatalogEntry; onDone: (message: string) => void }) {
  const { t, label } = useT();
  const checks = useLoad(() => post<{ findings: Finding[] }>(`/catalog/check?code=${codePath(entry.code)}`, entry.metadata), [entry.code, entry.version]);
  const [comment, setComment] = useState("");
  const [reasons, setReasons] = useState([{ field: "summary", reason: "" }]);
  const { error, busy, run } = useAction();
  const fields = [...ENTRY_FIELDS, ...entry.metadata.items.map((item, index) => `items[${index}] ${item.name}`)];

  const act = (body: Record<string, unknown>, event?: FormEvent) => {
    event?.preventDefault();
    void run(
      () => post<{ transition: { to: string } }>(`/catalog/entries/${codePath(entry.code)}/actions?version=${entry.version}`, body),
      (outcome) => onDone(`${entry.metadata.name}：${label(outcome.transition.to)}`),
    );
  };

  if (entry.status === "approved")
    return (
      <div className="review-form">
        <FormError error={error} fields={[]} />
        <button type="button" className="primary" disabled={busy} onClick={() => act({ action: "publish" })}>
          {t("review.publish")}
        </button>
      </div>
    );

  return (
    <div className="review-form">
      <h3>{t("review.checks")}</h3>
      <Async loaded={checks}>
        {(report) =>
          report.findings.length === 0 ? (
            <p className="ok">{t("review.checksPassed")}</p>
          ) : (
            <ul className="findings">
              {report.findings.map((finding, index) => (
                <li key={index} className={finding.severity}>
                  <code>{finding.field}</code> {finding.message}
                  {finding.related_code ? (
                    <>
                      {" "}
                      <Link href={`/catalog/${codePath(finding.related_code)}`}>{finding.related_code}</Link>
                    </>
                  ) : null}
                </li>
              ))}
            </ul>
          )
        }
      </Async>
      <form onSubmit={(event) => act({ action: "approve", ...(comment.trim() ? { comment: comment.trim() } : {}) }, event)}>
        <label>
          {t("review.comment")}
          <input name="comment" value={comment} onChange={(e) => setComment(e.target.value)} />
        </label>
        <button type="submit" className="primary" disabled={busy}>
          {t("review.approve")}
        </button>
      </form>
      <form
        onSubmit={(event) =>
          act({ action: "return", reasons: reasons.map((r) => ({ field: r.field.split(" ")[0], reason: r.reason.trim() })) }, event)
        }
      >
        <fieldset>
          <legend>{t("review.reasons")}</legend>
          {reasons.map((reason, index) => (
            <div key={index} className="row reason-row">
              <label>
                {t("review.field")}
                <select
                  value={reason.field}
                  onChange={(e) => setReasons(reasons.map((r, i) => (i === index ? { ...r, field: e.target.value } : r)))}
                >
                  {fields.map((field) => (
                    <option key={field} value={field}>
                      {field}
                    </option>
                  ))}
                </select>
              </label>
              <label>
                {t("review.reason")}
                <input value={reason.reason} onChange={(e) => setReasons(reasons.map((r, i) => (i === index ? { ...r, reason: e.target.value } : r)))} />
                <FieldMessage error={error} field={`reasons[${index}].reason`} />
              </label>
              {reasons.length > 1 ? (
                <button type="button" className="link" onClick={() => setReasons(reasons.filter((_, i) => i !== index))}>
                  {t("cart.remove")}
                </button>
              ) : null}
            </div>
          ))}
          <button type="button" className="link" onClick={() => setReasons([...reasons, { field: "name", reason: "" }])}>
            {t("review.addReason")}
          </button>
        </fieldset>
        <FormError error={error} fields={["reasons"]} />
        <button type="submit" className="danger" disabled={busy}>
          {t("review.return")}
        </button>
      </form>
    </div>
  );
}
