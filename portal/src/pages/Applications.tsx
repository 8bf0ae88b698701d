// Applications: a consumer's own, or the inbox of a provider (submitted to its
// department) and of the authority (重要/核心 forwarded, and overdue ones).
// Opening one shows its steps and the actions the caller may take. A consumer
// also follows the applications sent to other nodes, read live from there.

import { Fragment, useState, type FormEvent } from "react";
import { Link } from "wouter";
import { codePath, get, post } from "../api";
import { Async, FieldMessage, FormError, useAction, useLoad } from "../components/Async";
import { useT } from "../i18n";
import { DepartmentName, useSession } from "../session";
import type { Application, EntryView, FederatedEntry, RemoteApplication, RemoteApplicationView } from "../types";
import { RaiseObjection } from "./Demands";
import { entryPath, useNodeName } from "./Federation";

const MASK_RULES = ["clear", "name", "id_number", "phone", "hash", "null", "year"];

/** Still waiting for a decision (and so for its deadline). */
const undecided = (application: Application) => ["submitted", "awaiting_authority"].includes(application.status);

export function Applications({ side }: { side: "consumer" | "inbox" }) {
  const { t, label } = useT();
  const { has, me } = useSession();
  const [open, setOpen] = useState<string>();
  const [notice, setNotice] = useState<string>();
  const list = useLoad(async () => {
    if (side === "consumer") return get<Application[]>("/sharing/applications", { side: "consumer" });
    const lists = await Promise.all([
      has("provider") ? get<Application[]>("/sharing/applications", { side: "provider", status: "submitted" }) : [],
      has("authority") ? get<Application[]>("/sharing/applications", { status: "awaiting_authority" }) : [],
      has("authority") ? get<Application[]>("/sharing/applications", { status: "submitted", overdue: true }) : [],
    ]);
    const unique = new Map(lists.flat().map((application) => [application.id, application]));
    return [...unique.values()].sort((a, b) => a.due_at.localeCompare(b.due_at));
  }, [side, me?.actor]);

  return (
    <section>
      <h1>{side === "consumer" ? t("apps.title") : t("apps.inbox")}</h1>
      {notice ? (
        <p className="notice" role="status">
          {notice}
        </p>
      ) : null}
      <Async loaded={list} empty={(data) => data.length === 0}>
        {(applications) => (
          <table className="applications">
            <thead>
              <tr>
                <th scope="col">{t("common.entry")}</th>
                <th scope="col">{side === "consumer" ? t("common.provider") : t("common.consumer")}</th>
                <th scope="col">{t("common.status")}</th>
                <th scope="col">{t("common.due")}</th>
                <th scope="col">{t("common.created")}</th>
                <th scope="col">
                  <span className="visually-hidden">{t("common.details")}</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {applications.map((application) => (
                <ApplicationRow
                  key={application.id}
                  application={application}
                  counterpart={side === "consumer" ? application.provider_department_id : application.consumer_department_id}
                  open={open === application.id}
                  onToggle={() => setOpen(open === application.id ? undefined : application.id)}
                  onChanged={(message) => {
                    setNotice(message);
                    list.reload();
                  }}
                  statusLabel={label(application.status)}
                />
              ))}
            </tbody>
          </table>
        )}
      </Async>
      {side === "consumer" && has("consumer") ? <RemoteApplications /> : null}
    </section>
  );
}

/** Entry names by node and code, read once per page load however many rows name the entry. */
const entryNames = new Map<string, Promise<string>>();

/** An entry's name, linked: this node's entry, or with `node` a descendant node's entry as held here. */
export function EntryName({ code, node }: { code: string; node?: string }) {
  const key = `${node ?? ""} ${code}`;
  const name = useLoad(() => {
    if (!entryNames.has(key)) {
      const view = node
        ? get<FederatedEntry>(`/federation/entries/${encodeURIComponent(node)}/${codePath(code)}`)
        : get<EntryView>(`/catalog/entries/${codePath(code)}`);
      const read = view.then((found) => found.entry.metadata.name);
      read.catch(() => entryNames.delete(key));
      entryNames.set(key, read);
    }
    return entryNames.get(key)!;
  }, [key]);
  return <Link href={entryPath(code, node)}>{name.data ?? code}</Link>;
}

function ApplicationRow(props: {
  application: Application;
  /** The department on the other side: the provider for a consumer, else the consumer. */
  counterpart: string;
  open: boolean;
  onToggle: () => void;
  onChanged: (message: string) => void;
  statusLabel: string;
}) {
  const { t, time } = useT();
  const { application } = props;
  return (
    <>
      <tr className={application.overdue ? "overdue" : undefined} data-application={application.id}>
        <td>
          <EntryName code={application.entry_code} />
        </td>
        <td>
          <DepartmentName id={props.counterpart} />
        </td>
        <td>
          <span className="tag">{props.statusLabel}</span>
          {application.overdue ? <span className="tag warn">{t("common.overdue")}</span> : null}
        </td>
        <td>{undecided(application) ? time(application.due_at) : "—"}</td>
        <td>{time(application.created_at)}</td>
        <td>
          <button type="button" className="link" aria-expanded={props.open} onClick={props.onToggle}>
            {t("common.details")}
          </button>
        </td>
      </tr>
      {props.open ? (
        <tr className="detail">
          <td colSpan={6}>
            <ApplicationDetail id={application.id} onChanged={props.onChanged} />
          </td>
        </tr>
      ) : null}
    </>
  );
}

function ApplicationDetail({ id, onChanged }: { id: string; onChanged: (message: string) => void }) {
  const { t, label } = useT();
  const { me, has } = useSession();
  const detail = useLoad(() => get<Application>(`/sharing/applications/${id}`), [id]);
  const [objected, setObjected] = useState(false);
  const changed = (message: string) => {
    detail.reload();
    onChanged(message);
  };
  const decided = (application: Application) => changed(`${t("apps.decided")} ${label(application.status)}`);
  return (
    <Async loaded={detail}>
      {(application) => {
        const open = undecided(application);
        const mine = application.consumer_department_id === me?.department_id;
        const mayDecide =
          open &&
          !mine &&
          ((application.status === "submitted" && has("provider") && application.provider_department_id === me?.department_id) ||
            (has("authority") && (application.status === "awaiting_authority" || application.overdue)));
        return (
          <div className="application-detail">
            <ApplicationAttributes application={application} />
            <Steps application={application} />
            {mayDecide ? <DecisionForm application={application} onDone={decided} /> : null}
            {open && mine && has("consumer") ? <WithdrawForm id={application.id} onDone={decided} /> : null}
            {application.status === "rejected" && mine && has("consumer") && !objected ? (
              <RaiseObjection
                target={{ application_id: application.id }}
                onDone={() => {
                  setObjected(true);
                  changed(t("objections.raised"));
                }}
              />
            ) : null}
          </div>
        );
      }}
    </Async>
  );
}

/** Applications this department sent to other nodes; opening one reads its state at the home node now. */
function RemoteApplications() {
  const { t, time } = useT();
  const { me } = useSession();
  const nodeName = useNodeName();
  const [open, setOpen] = useState<string>();
  const list = useLoad(() => get<RemoteApplication[]>("/federation/applications"), [me?.actor]);
  return (
    <section className="remote-applications">
      <h2>{t("federation.remoteApps")}</h2>
      <Async loaded={list} empty={(data) => data.length === 0}>
        {(applications) => (
          <table className="applications">
            <thead>
              <tr>
                <th scope="col">{t("common.entry")}</th>
                <th scope="col">{t("federation.homeNode")}</th>
                <th scope="col">{t("common.created")}</th>
                <th scope="col">
                  <span className="visually-hidden">{t("common.details")}</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {applications.map((application) => (
                <Fragment key={application.id}>
                  <tr data-remote-application={application.id}>
                    <td>
                      {application.request.entries.map((wanted, index) => (
                        <Fragment key={wanted.entry_code}>
                          {index > 0 ? "、" : null}
                          <EntryName code={wanted.entry_code} node={application.home_node} />
                        </Fragment>
                      ))}
                    </td>
                    <td>{nodeName(application.home_node)}</td>
                    <td>{time(application.created_at)}</td>
                    <td>
                      <button
                        type="button"
                        className="link"
                        aria-expanded={open === application.id}
                        onClick={() => setOpen(open === application.id ? undefined : application.id)}
                      >
                        {t("common.details")}
                      </button>
                    </td>
                  </tr>
                  {open === application.id ? (
                    <tr className="detail">
                      <td colSpan={4}>
                        <RemoteApplicationDetail id={application.id} />
                      </td>
                    </tr>
                  ) : null}
                </Fragment>
              ))}
            </tbody>
          </table>
        )}
      </Async>
    </section>
  );
}

/** Each application as the home node holds it now: its id there, status, deadline, request and steps. */
function RemoteApplicationDetail({ id }: { id: string }) {
  const { t, label, time } = useT();
  const detail = useLoad(() => get<RemoteApplicationView>(`/federation/applications/${encodeURIComponent(id)}`), [id]);
  return (
    <Async loaded={detail}>
      {(view) =>
        view.at_home.map((application) => (
          <div key={application.id} className="application-detail" data-application={application.id}>
            <p className="meta">
              <EntryName code={application.entry_code} node={view.application.home_node} />
              <span className="tag">{label(application.status)}</span>
              {application.overdue ? <span className="tag warn">{t("common.overdue")}</span> : null}
              {undecided(application) ? (
                <span>
                  {t("common.due")} {time(application.due_at)}
                </span>
              ) : null}
              <span>
                {t("federation.remoteId")} <code>{application.id}</code>
              </span>
            </p>
            <ApplicationAttributes application={application} />
            <Steps application={application} />
          </div>
        ))
      }
    </Async>
  );
}

/** What an application asks: items, purpose, legal basis, delivery, duration, row limit, and the terms the provider proposed. */
function ApplicationAttributes({ application }: { application: Application }) {
  const { t, label } = useT();
  const terms = application.proposed_terms;
  return (
    <dl className="attributes">
      <dt>{t("common.items")}</dt>
      <dd>{application.request.items.join("、")}</dd>
      <dt>{t("apps.purpose")}</dt>
      <dd>{application.request.purpose}</dd>
      <dt>{t("apps.legalBasis")}</dt>
      <dd>{application.request.legal_basis}</dd>
      <dt>{t("cart.delivery")}</dt>
      <dd>{application.request.delivery.map(label).join("、")}</dd>
      <dt>{t("cart.duration")}</dt>
      <dd>{application.request.duration_days}</dd>
      {application.request.row_filter ? (
        <>
          <dt>{t("cart.rowFilterItem")}</dt>
          <dd>
            {application.request.row_filter.item}: {application.request.row_filter.prefixes.join(", ")}
          </dd>
        </>
      ) : null}
      {terms ? (
        <>
          <dt>{t("apps.proposed")}</dt>
          <dd>
            {Object.entries(terms.masking)
              .map(([item, rule]) => `${item}: ${label(rule)}`)
              .join("；")}
          </dd>
        </>
      ) : null}
    </dl>
  );
}

/** An application's steps, oldest first. */
function Steps({ application }: { application: Application }) {
  const { t, label, time } = useT();
  return (
    <>
      <h3>{t("apps.steps")}</h3>
      <ol className="timeline">
        {application.steps?.map((step) => (
          <li key={step.seq}>
            <time>{time(step.at)}</time> {label(step.action)} · {step.actor}
            {step.comment ? `：${step.comment}` : ""}
            {step.legal_basis && step.action === "reject" ? `（${step.legal_basis}）` : ""}
          </li>
        ))}
      </ol>
    </>
  );
}

function DecisionForm({ application, onDone }: { application: Application; onDone: (changed: Application) => void }) {
  const { t, label } = useT();
  const [masking, setMasking] = useState<Record<string, string>>({});
  const [comment, setComment] = useState("");
  const [basis, setBasis] = useState("");
  const [quota, setQuota] = useState("");
  const [rate, setRate] = useState("");
  const { error, busy, run } = useAction();
  const items = application.proposed_terms?.items ?? application.request.items;

  const decide = (decision: "approve" | "reject") => {
    void run(
      () =>
        post<Application>(`/sharing/applications/${application.id}/decision`, {
          decision,
          ...(comment.trim() ? { comment: comment.trim() } : {}),
          ...(decision === "reject" ? { legal_basis: basis.trim() } : {}),
          ...(decision === "approve" && Object.keys(masking).length ? { masking } : {}),
          ...(decision === "approve" && quota.trim() ? { daily_quota: Number(quota) } : {}),
          ...(decision === "approve" && rate.trim() ? { rate_per_second: Number(rate) } : {}),
        }),
      onDone,
    );
  };

  return (
    // Enter in a text field decides nothing: approving and rejecting are explicit clicks.
    <form className="decision" onSubmit={(event) => event.preventDefault()}>
      <fieldset>
        <legend>{t("apps.masking")}</legend>
        {items.map((item) => (
          <label key={item}>
            {item}
            <select
              name={`masking.${item}`}
              value={masking[item] ?? ""}
              onChange={(e) => {
                const next = { ...masking };
                if (e.target.value) next[item] = e.target.value;
                else delete next[item];
                setMasking(next);
              }}
            >
              <option value="">
                {t("apps.defaultMasking")}
                {application.proposed_terms?.masking[item] ? `（${label(application.proposed_terms.masking[item])}）` : ""}
              </option>
              {MASK_RULES.map((rule) => (
                <option key={rule} value={rule}>
                  {label(rule)}
                </option>
              ))}
            </select>
            <FieldMessage error={error} field={`masking.${item}`} />
          </label>
        ))}
      </fieldset>
      <div className="row">
        <label>
          {t("apps.quota")}
          <input name="daily_quota" type="number" min={1} value={quota} placeholder={application.request.daily_quota?.toString() ?? ""} onChange={(e) => setQuota(e.target.value)} />
          <FieldMessage error={error} field="daily_quota" />
        </label>
        <label>
          {t("apps.rate")}
          <input name="rate_per_second" type="number" min={1} value={rate} placeholder={application.request.rate_per_second?.toString() ?? ""} onChange={(e) => setRate(e.target.value)} />
          <FieldMessage error={error} field="rate_per_second" />
        </label>
      </div>
      <label>
        {t("apps.comment")}
        <input name="comment" value={comment} maxLength={1000} onChange={(e) => setComment(e.target.value)} />
      </label>
      <label>
        {t("apps.rejectBasis")}
        <input name="legal_basis" value={basis} maxLength={500} onChange={(e) => setBasis(e.target.value)} />
      </label>
      <FieldMessage error={error} field="legal_basis" />
      <FormError error={error} fields={["masking", "legal_basis", "daily_quota", "rate_per_second"]} />
      <div className="actions">
        <button type="button" className="primary" disabled={busy} onClick={() => decide("approve")}>
          {t("apps.approve")}
        </button>
        <button type="button" className="danger" disabled={busy} onClick={() => decide("reject")}>
          {t("apps.reject")}
        </button>
      </div>
    </form>
  );
}

function WithdrawForm({ id, onDone }: { id: string; onDone: (changed: Application) => void }) {
  const { t } = useT();
  const [reason, setReason] = useState("");
  const { error, busy, run } = useAction();
  const submit = (event: FormEvent) => {
    event.preventDefault();
    void run(() => post<Application>(`/sharing/applications/${id}/withdraw`, { reason: reason.trim() }), onDone);
  };
  return (
    <form className="withdraw" onSubmit={submit}>
      <label>
        {t("apps.comment")}
        <input name="reason" value={reason} onChange={(e) => setReason(e.target.value)} />
      </label>
      <FieldMessage error={error} field="reason" />
      <FormError error={error} fields={["reason"]} />
      <button type="submit" disabled={busy}>
        {t("apps.withdraw")}
      </button>
    </form>
  );
}
