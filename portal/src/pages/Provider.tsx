// The provider's own department's catalog entries (目录编制): filtered by
// status, with the deadline of versions not yet published, the reviewer's
// reasons on returned ones, and the lifecycle actions each status allows.
// Status and page are kept in the address.

import { useState, type FormEvent } from "react";
import { Link, useLocation, useSearch } from "wouter";
import { codePath, get, post } from "../api";
import { Async, ErrorNotice, FieldMessage, fieldError, useAction, useLoad } from "../components/Async";
import { gradeLabel, useT } from "../i18n";
import { useSession } from "../session";
import type { CatalogEntry, EntryView } from "../types";
import type { Finding } from "./ProviderEntryForm";
import "../provider.css";

const STATUSES = ["draft", "submitted", "returned", "approved", "published", "withdrawn"];
/** Versions on their way to publication: they have a registration deadline. */
const OPEN_STATUSES = ["draft", "submitted", "returned", "approved"];
const PAGE_SIZE = 20;

interface ActionOutcome {
  entry: CatalogEntry;
  checks: { findings: Finding[] } | null;
}

export function Provider() {
  const { t, label } = useT();
  const { me } = useSession();
  const search = useSearch();
  const [, navigate] = useLocation();
  const params = new URLSearchParams(search);
  const status = params.get("status") ?? "";
  const page = Math.max(1, Number(params.get("page")) || 1);
  const saved = params.get("saved");
  const [notice, setNotice] = useState<string>();
  const departmentId = me?.department_id ?? "";
  const list = useLoad(
    () => get<CatalogEntry[]>("/catalog/entries", { department_id: departmentId, status, page, size: PAGE_SIZE }),
    [departmentId, status, page],
  );
  const go = (nextStatus: string, nextPage: number) => {
    setNotice(undefined);
    const next = new URLSearchParams();
    if (nextStatus) next.set("status", nextStatus);
    if (nextPage > 1) next.set("page", String(nextPage));
    navigate(next.size ? `/provide?${next}` : "/provide");
  };
  const done = (message: string) => {
    setNotice(message);
    list.reload();
  };
  const shown = notice ?? (saved ? t("provide.saved", { code: saved }) : undefined);

  return (
    <section className="provider provider-page">
      <div className="provider-head">
        <h1>{t("provide.title")}</h1>
        <div className="actions">
          <Link href="/provide/new" className="button primary">
            {t("provide.new")}
          </Link>
          <Link href="/provide/import" className="button">
            {t("provide.import")}
          </Link>
        </div>
      </div>
      <div className="tabs" role="group" aria-label={t("common.status")}>
        {["", ...STATUSES].map((tab) => (
          <button key={tab || "all"} type="button" aria-pressed={status === tab} onClick={() => go(tab, 1)}>
            {tab ? label(tab) : t("provide.all")}
          </button>
        ))}
      </div>
      {shown ? (
        <p className="notice" role="status">
          {shown}
        </p>
      ) : null}
      <Async loaded={list} empty={(entries) => entries.length === 0 && page === 1}>
        {(entries) => (
          <>
            <ul className="provider-entries">
              {entries.map((entry) => (
                <EntryRow key={`${entry.code}@${entry.version}@${entry.status}`} entry={entry} onDone={done} />
              ))}
            </ul>
            <nav className="pager">
              <button type="button" disabled={page === 1} onClick={() => go(status, page - 1)}>
                {t("common.previous")}
              </button>
              <button type="button" disabled={entries.length < PAGE_SIZE} onClick={() => go(status, page + 1)}>
                {t("common.next")}
              </button>
            </nav>
          </>
        )}
      </Async>
    </section>
  );
}

function EntryRow({ entry, onDone }: { entry: CatalogEntry; onDone: (message: string) => void }) {
  const { t, label, language } = useT();
  const open = OPEN_STATUSES.includes(entry.status);
  // The listing has no deadline or history: open versions read their own view.
  const view = useLoad(
    () => (open ? get<EntryView>(`/catalog/entries/${codePath(entry.code)}`) : Promise.resolve(null)),
    [entry.code, entry.version, entry.status],
  );
  const [withdrawing, setWithdrawing] = useState(false);
  const [reason, setReason] = useState("");
  const { error, busy, run } = useAction();
  const name = entry.metadata.name;
  const returned =
    entry.status === "returned"
      ? view.data?.history.filter((step) => step.action === "return" && step.version === entry.version).at(-1)
      : undefined;

  const act = (body: Record<string, unknown>, event?: FormEvent) => {
    event?.preventDefault();
    void run(
      () => post<ActionOutcome>(`/catalog/entries/${codePath(entry.code)}/actions`, body),
      (outcome) => {
        const warnings = outcome.checks?.findings.filter((finding) => finding.severity === "warning").length ?? 0;
        onDone(
          t("provide.done", { name, status: label(outcome.entry.status) }) +
            (warnings ? t("provide.checkWarnings", { count: warnings }) : ""),
        );
      },
    );
  };
  const discard = () => {
    if (window.confirm(t("provide.confirmDiscard", { name }))) void act({ action: "discard" });
  };
  const editable = entry.status === "draft" || entry.status === "returned";

  return (
    <li className="panel" data-entry={entry.code}>
      <h2>
        <Link href={`/catalog/${codePath(entry.code)}`}>{name}</Link>{" "}
        <span className="code">
          {entry.code} v{entry.version}
        </span>
      </h2>
      <p className="meta">
        <span className={`tag status-${entry.status}`}>{label(entry.status)}</span>
        <span className="tag">{gradeLabel(entry.grade, language)}</span>
        <span>{t("provide.updated", { date: entry.updated_at.slice(0, 10) })}</span>
        {view.data?.due_on ? <span>{t("provide.due", { date: view.data.due_on })}</span> : null}
        {view.data?.overdue ? <span className="tag warn">{t("common.overdue")}</span> : null}
      </p>
      {returned?.reasons?.length ? (
        <div className="return-reasons">
          <h3>{t("provide.returnReasons")}</h3>
          <ul>
            {returned.reasons.map((item, index) => (
              <li key={index}>
                <code>{item.field}</code> {item.reason}
              </li>
            ))}
          </ul>
        </div>
      ) : null}
      {error && !(withdrawing && fieldError(error, "reason")) ? <ErrorNotice error={error} /> : null}
      <div className="actions">
        {editable ? <Link href={`/provide/edit/${codePath(entry.code)}`}>{t("provide.edit")}</Link> : null}
        {entry.status === "draft" ? (
          <button type="button" className="primary" disabled={busy} onClick={() => act({ action: "submit" })}>
            {t("provide.submit")}
          </button>
        ) : null}
        {entry.status === "returned" ? (
          <button type="button" disabled={busy} onClick={() => act({ action: "revise" })}>
            {t("provide.revise")}
          </button>
        ) : null}
        {entry.status === "published" ? (
          <>
            <button type="button" disabled={busy} onClick={() => act({ action: "new_version" })}>
              {t("provide.newVersion")}
            </button>
            <button type="button" className="danger" aria-expanded={withdrawing} onClick={() => setWithdrawing(!withdrawing)}>
              {t("provide.withdraw")}
            </button>
          </>
        ) : null}
        {editable ? (
          <button type="button" className="danger" disabled={busy} onClick={discard}>
            {t("provide.discard")}
          </button>
        ) : null}
        {entry.status !== "discarded" ? <Link href={`/provide/resources/${codePath(entry.code)}`}>{t("provide.resources")}</Link> : null}
      </div>
      {withdrawing ? (
        <form className="withdraw-entry" onSubmit={(event) => act({ action: "withdraw", reason: reason.trim() }, event)}>
          <label>
            {t("provide.withdrawReason")}
            <input value={reason} onChange={(e) => setReason(e.target.value)} />
          </label>
          <FieldMessage error={error} field="reason" />
          <button type="submit" className="danger" disabled={busy}>
            {t("provide.confirmWithdraw")}
          </button>
        </form>
      ) : null}
    </li>
  );
}
