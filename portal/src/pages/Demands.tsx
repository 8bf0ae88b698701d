// 供需对接 and 异议: a consumer states a need (routed by an entry to its
// provider, or to a named department), the provider answers that it will
// provide it (naming the entry) or cannot (with the legal basis); objections
// against a rejection or a data problem are answered by the provider and ruled
// on by the authority, an upheld rejection reopening the application.

import { useState, type FormEvent } from "react";
import { Link } from "wouter";
import { codePath, get, post } from "../api";
import { Async, FieldMessage, FormError, useAction, useLoad } from "../components/Async";
import { useT } from "../i18n";
import { DepartmentOptions, useDepartmentName, useSession } from "../session";

interface Demand {
  id: string;
  consumer_department_id: string;
  provider_department_id: string;
  entry_code: string | null;
  request: { description: string; items: string[]; purpose: string; legal_basis: string };
  status: "open" | "will_provide" | "cannot_provide";
  answer_entry_code: string | null;
  answer_legal_basis: string | null;
  answer_comment: string | null;
  due_at: string;
  overdue: boolean;
  created_at: string;
}

export interface Objection {
  id: string;
  kind: "rejection" | "data_problem";
  application_id: string | null;
  grant_id: string | null;
  consumer_department_id: string;
  provider_department_id: string;
  statement: string;
  status: "open" | "upheld" | "dismissed";
  provider_response: string | null;
  ruling: string | null;
  created_at: string;
}

export function Demands() {
  const { t } = useT();
  const { has, me } = useSession();
  const [notice, setNotice] = useState<string>();
  const demands = useLoad(() => get<Demand[]>("/sharing/demands"), [me?.actor]);
  const objections = useLoad(() => get<Objection[]>("/sharing/objections"), [me?.actor]);
  const done = (message: string) => {
    setNotice(message);
    demands.reload();
    objections.reload();
  };
  return (
    <section>
      <h1>{t("nav.demands")}</h1>
      {notice ? (
        <p className="notice" role="status">
          {notice}
        </p>
      ) : null}
      {has("consumer") ? <NewDemand onDone={() => done(t("demands.created"))} /> : null}
      <h2>{t("demands.title")}</h2>
      <Async loaded={demands} empty={(list) => list.length === 0}>
        {(list) => (
          <ul className="cards">
            {list.map((demand) => (
              <DemandCard key={demand.id} demand={demand} onDone={() => done(t("demands.answered"))} />
            ))}
          </ul>
        )}
      </Async>
      <h2>{t("objections.title")}</h2>
      <Async loaded={objections} empty={(list) => list.length === 0}>
        {(list) => (
          <ul className="cards">
            {list.map((objection) => (
              <ObjectionCard key={objection.id} objection={objection} onDone={() => done(t("objections.done"))} />
            ))}
          </ul>
        )}
      </Async>
    </section>
  );
}

function NewDemand({ onDone }: { onDone: () => void }) {
  const { t } = useT();
  const { me } = useSession();
  const empty = { description: "", items: "", purpose: "", legal_basis: "", entry_code: "", provider_department_id: "" };
  const [form, setForm] = useState(empty);
  const action = useAction();
  const submit = (event: FormEvent) => {
    event.preventDefault();
    void action.run(
      () =>
        post("/sharing/demands", {
          description: form.description.trim(),
          items: form.items.split(/[,，、\s]+/).filter(Boolean),
          purpose: form.purpose.trim(),
          legal_basis: form.legal_basis.trim(),
          ...(form.entry_code.trim() ? { entry_code: form.entry_code.trim() } : {}),
          ...(form.provider_department_id ? { provider_department_id: form.provider_department_id } : {}),
        }),
      () => {
        setForm(empty);
        onDone();
      },
    );
  };
  const field = (name: keyof typeof empty, label: string, multiline = false) => (
    <label>
      {label}
      {multiline ? (
        <textarea name={name} value={form[name]} onChange={(e) => setForm({ ...form, [name]: e.target.value })} />
      ) : (
        <input name={name} value={form[name]} onChange={(e) => setForm({ ...form, [name]: e.target.value })} />
      )}
      <FieldMessage error={action.error} field={name} />
    </label>
  );
  return (
    <details className="panel">
      <summary>{t("demands.new")}</summary>
      <form onSubmit={submit}>
        {field("description", t("demands.description"), true)}
        {field("items", t("demands.items"))}
        {field("purpose", t("cart.purpose"))}
        {field("legal_basis", t("cart.legalBasis"))}
        <div className="row">
          {field("entry_code", t("demands.entry"))}
          <label>
            {t("demands.provider")}
            <select
              name="provider_department_id"
              value={form.provider_department_id}
              onChange={(e) => setForm({ ...form, provider_department_id: e.target.value })}
            >
              <option value="">—</option>
              <DepartmentOptions except={me?.department_id} />
            </select>
            <FieldMessage error={action.error} field="provider_department_id" />
          </label>
        </div>
        <FormError error={action.error} fields={Object.keys(empty)} />
        <button type="submit" className="primary" disabled={action.busy}>
          {t("common.submit")}
        </button>
      </form>
    </details>
  );
}

function DemandCard({ demand, onDone }: { demand: Demand; onDone: () => void }) {
  const { t, label, date } = useT();
  const { has, me } = useSession();
  const department = useDepartmentName();
  const mayAnswer = demand.status === "open" && has("provider") && demand.provider_department_id === me?.department_id;
  return (
    <li className="panel" data-demand={demand.id}>
      <p className="meta">
        <span className="tag">{label(demand.status)}</span>
        {demand.overdue ? <span className="tag warn">{t("common.overdue")}</span> : null}
        <span>
          {department(demand.consumer_department_id)} → {department(demand.provider_department_id)}
        </span>
        <span>{date(demand.created_at)}</span>
      </p>
      <p>{demand.request.description}</p>
      <dl className="attributes">
        <dt>{t("apps.purpose")}</dt>
        <dd>{demand.request.purpose}</dd>
        <dt>{t("apps.legalBasis")}</dt>
        <dd>{demand.request.legal_basis}</dd>
        {demand.request.items.length ? (
          <>
            <dt>{t("common.items")}</dt>
            <dd>{demand.request.items.join("、")}</dd>
          </>
        ) : null}
        {demand.answer_entry_code ? (
          <>
            <dt>{t("demands.answerEntry")}</dt>
            <dd>
              <Link href={`/catalog/${codePath(demand.answer_entry_code)}`}>{demand.answer_entry_code}</Link>
            </dd>
          </>
        ) : null}
        {demand.answer_legal_basis ? (
          <>
            <dt>{t("demands.answerBasis")}</dt>
            <dd>{demand.answer_legal_basis}</dd>
          </>
        ) : null}
      </dl>
      {mayAnswer ? <DemandAnswer demand={demand} onDone={onDone} /> : null}
    </li>
  );
}

function DemandAnswer({ demand, onDone }: { demand: Demand; onDone: () => void }) {
  const { t } = useT();
  const [answer, setAnswer] = useState<"will_provide" | "cannot_provide">("will_provide");
  const [entryCode, setEntryCode] = useState(demand.entry_code ?? "");
  const [basis, setBasis] = useState("");
  const [comment, setComment] = useState("");
  const action = useAction();
  const submit = (event: FormEvent) => {
    event.preventDefault();
    void action.run(
      () =>
        post(`/sharing/demands/${demand.id}/answer`, {
          answer,
          ...(answer === "will_provide" ? { entry_code: entryCode.trim() } : { legal_basis: basis.trim() }),
          ...(comment.trim() ? { comment: comment.trim() } : {}),
        }),
      onDone,
    );
  };
  return (
    <form onSubmit={submit} className="answer">
      <fieldset>
        <legend>{t("demands.answer")}</legend>
        {(["will_provide", "cannot_provide"] as const).map((kind) => (
          <label key={kind} className="check">
            <input type="radio" name={`answer-${demand.id}`} checked={answer === kind} onChange={() => setAnswer(kind)} />
            {t(kind === "will_provide" ? "demands.willProvide" : "demands.cannotProvide")}
          </label>
        ))}
      </fieldset>
      {answer === "will_provide" ? (
        <label>
          {t("demands.answerEntry")}
          <input name="entry_code" value={entryCode} onChange={(e) => setEntryCode(e.target.value)} />
          <FieldMessage error={action.error} field="entry_code" />
        </label>
      ) : (
        <label>
          {t("demands.answerBasis")}
          <input name="legal_basis" value={basis} onChange={(e) => setBasis(e.target.value)} />
          <FieldMessage error={action.error} field="legal_basis" />
        </label>
      )}
      <label>
        {t("apps.comment")}
        <input name="comment" value={comment} onChange={(e) => setComment(e.target.value)} />
      </label>
      <FormError error={action.error} fields={["entry_code", "legal_basis"]} />
      <button type="submit" className="primary" disabled={action.busy}>
        {t("common.submit")}
      </button>
    </form>
  );
}

function ObjectionCard({ objection, onDone }: { objection: Objection; onDone: () => void }) {
  const { t, label, date } = useT();
  const { has, me } = useSession();
  const department = useDepartmentName();
  const open = objection.status === "open";
  const mayRespond = open && !objection.provider_response && has("provider") && objection.provider_department_id === me?.department_id;
  const mayRule = open && has("authority");
  return (
    <li className="panel" data-objection={objection.id}>
      <p className="meta">
        <span className="tag">{label(objection.status)}</span>
        <span>{t(`objections.${objection.kind}`)}</span>
        <span>
          {department(objection.consumer_department_id)} → {department(objection.provider_department_id)}
        </span>
        <span>{date(objection.created_at)}</span>
      </p>
      <p>{objection.statement}</p>
      {objection.provider_response ? (
        <p>
          <strong>{t("objections.response")}：</strong>
          {objection.provider_response}
        </p>
      ) : null}
      {objection.ruling ? (
        <p>
          <strong>{t("objections.ruling")}：</strong>
          {objection.ruling}
        </p>
      ) : null}
      {mayRespond ? <Respond objection={objection} onDone={onDone} /> : null}
      {mayRule ? <Rule objection={objection} onDone={onDone} /> : null}
    </li>
  );
}

function Respond({ objection, onDone }: { objection: Objection; onDone: () => void }) {
  const { t } = useT();
  const [response, setResponse] = useState("");
  const action = useAction();
  return (
    <form
      onSubmit={(event) => {
        event.preventDefault();
        void action.run(() => post(`/sharing/objections/${objection.id}/response`, { response: response.trim() }), onDone);
      }}
    >
      <label>
        {t("objections.respond")}
        <textarea name="response" value={response} onChange={(e) => setResponse(e.target.value)} />
        <FieldMessage error={action.error} field="response" />
      </label>
      <FormError error={action.error} fields={["response"]} />
      <button type="submit" disabled={action.busy}>
        {t("objections.respond")}
      </button>
    </form>
  );
}

function Rule({ objection, onDone }: { objection: Objection; onDone: () => void }) {
  const { t } = useT();
  const [reason, setReason] = useState("");
  const action = useAction();
  const rule = (ruling: "upheld" | "dismissed") =>
    action.run(() => post(`/sharing/objections/${objection.id}/ruling`, { ruling, reason: reason.trim() }), onDone);
  return (
    <form onSubmit={(event) => event.preventDefault()} className="ruling">
      <label>
        {t("objections.reason")}
        <textarea name="reason" value={reason} onChange={(e) => setReason(e.target.value)} />
        <FieldMessage error={action.error} field="reason" />
      </label>
      {objection.kind === "rejection" ? <p className="hint">{t("objections.upheldNote")}</p> : null}
      <FormError error={action.error} fields={["reason"]} />
      <div className="actions">
        <button type="button" className="primary" disabled={action.busy} onClick={() => rule("upheld")}>
          {t("objections.uphold")}
        </button>
        <button type="button" className="danger" disabled={action.busy} onClick={() => rule("dismissed")}>
          {t("objections.dismiss")}
        </button>
      </div>
    </form>
  );
}

/** "提出异议" for a consumer, on a rejected application or a grant with a data problem. */
export function RaiseObjection({ target, onDone }: { target: { application_id: string } | { grant_id: string }; onDone: () => void }) {
  const { t } = useT();
  const [statement, setStatement] = useState("");
  const action = useAction();
  const kind = "application_id" in target ? "rejection" : "data_problem";
  return (
    <form
      className="objection"
      onSubmit={(event) => {
        event.preventDefault();
        void action.run(() => post("/sharing/objections", { kind, ...target, statement: statement.trim() }), onDone);
      }}
    >
      <label>
        {t("objections.statement")}
        <textarea name="statement" value={statement} onChange={(e) => setStatement(e.target.value)} />
        <FieldMessage error={action.error} field="statement" />
      </label>
      <FormError error={action.error} fields={["statement"]} />
      <button type="submit" disabled={action.busy}>
        {t("objections.raise")}
      </button>
    </form>
  );
}
