// Grants the caller's department holds (or, for the provider, has given):
// terms, masking, expiry, and for the consumer a lookup through the gateway —
// the same audited path an application takes, answered masked as granted.
// A consumer also sees the grants other nodes issued to its department and
// reads through them at the owner's gateway. A grant with subscription
// delivery shows its webhooks: the consumer adds and ends them (at the owner,
// for another node's grant), the provider sees who receives its data's changes.

import { useState, type FormEvent, type ReactNode } from "react";
import { del, post, get } from "../api";
import { Async, FieldMessage, FormError, useAction, useLoad } from "../components/Async";
import { useT } from "../i18n";
import { DepartmentName, useSession } from "../session";
import type { Grant, LookupResult, RemoteApplication, Subscription } from "../types";
import { EntryName } from "./Applications";
import { useNodeName } from "./Federation";

interface GrantUsage {
  grant_id: string;
  calls: number;
  refused: number;
  rows_returned: number;
  mean_latency_us: number;
}

/** Calls, refusals and rows over the last 30 days, from the gateway's usage statistics. */
function GrantUsageLine({ usage }: { usage?: GrantUsage }) {
  const { t } = useT();
  return (
    <p className="meta usage">
      {t("grants.usage", {
        calls: (usage?.calls ?? 0).toLocaleString(),
        refused: (usage?.refused ?? 0).toLocaleString(),
        rows: (usage?.rows_returned ?? 0).toLocaleString(),
        latency: usage ? (usage.mean_latency_us / 1000).toFixed(1) : "—",
      })}
    </p>
  );
}

type View = "consumer" | "provider" | "all";

/** A grant read by key: active, with lookup among its delivery modes. */
const readable = (grant: Grant) => grant.state === "active" && grant.terms.delivery.includes("lookup");

export function Grants() {
  const { t } = useT();
  const { me, has } = useSession();
  const oversees = has("authority") || has("auditor");
  const views: View[] = [
    ...(has("consumer") || !has("provider") ? (["consumer"] as const) : []),
    ...(has("provider") ? (["provider"] as const) : []),
    ...(oversees ? (["all"] as const) : []),
  ];
  const [view, setView] = useState<View>(views[0]);
  const side = view === "all" ? undefined : view;
  const grants = useLoad(() => get<Grant[]>("/sharing/grants", { side }), [me?.actor, view]);
  const usage = useLoad(() => get<GrantUsage[]>("/sharing/usage", { side, days: 30 }), [me?.actor, view]);
  const usageOf = (id: string) => usage.data?.find((grant) => grant.grant_id === id);
  // Revocation and renewal: the provider department, or the authority for another department's use.
  const mayManage = (grant: Grant) =>
    (has("provider") && grant.provider_department_id === me?.department_id) ||
    (has("authority") && grant.consumer_department_id !== me?.department_id);
  return (
    <section>
      <h1>{t("grants.title")}</h1>
      {views.length > 1 ? (
        <div className="tabs">
          {views.map((option) => (
            <button key={option} type="button" aria-pressed={view === option} onClick={() => setView(option)}>
              {t(`grants.view.${option}`)}
            </button>
          ))}
        </div>
      ) : null}
      <Async loaded={grants} empty={(list) => list.length === 0}>
        {(list) => (
          <ul className="grants">
            {list.map((grant) => (
              <GrantCard
                key={grant.id}
                grant={grant}
                heading={
                  <h2>
                    {grant.entry_code} · <DepartmentName id={grant.provider_department_id} /> → <DepartmentName id={grant.consumer_department_id} />
                  </h2>
                }
                usage={<GrantUsageLine usage={usageOf(grant.id)} />}
              >
                {readable(grant) && grant.consumer_department_id === me?.department_id && has("consumer") ? (
                  <Lookup path={`/gateway/grants/${grant.id}/lookup`} />
                ) : null}
                {grant.terms.delivery.includes("subscription") ? (
                  <Subscriptions
                    grant={grant}
                    mayEdit={grant.state === "active" && grant.consumer_department_id === me?.department_id && has("consumer")}
                  />
                ) : null}
                {mayManage(grant) && grant.state !== "revoked" ? <Manage grant={grant} onDone={grants.reload} /> : null}
              </GrantCard>
            ))}
          </ul>
        )}
      </Async>
      {view === "consumer" && has("consumer") ? <RemoteGrants /> : null}
    </section>
  );
}

/** One grant: state, expiry, delivery and quotas, its items with their masking, why it was revoked; `children` act on it. */
function GrantCard({ grant, heading, usage, children }: { grant: Grant; heading: ReactNode; usage?: ReactNode; children?: ReactNode }) {
  const { t, label, date } = useT();
  return (
    <li className="panel" data-grant={grant.id}>
      {heading}
      <p className="meta">
        <span className="tag">{label(grant.state)}</span>
        <span>
          {t("grants.expires")} {date(grant.expires_at)}
        </span>
        <span>{grant.terms.delivery.map(label).join("、")}</span>
        {grant.terms.daily_quota ? <span>{t("grants.quota", { quota: grant.terms.daily_quota.toLocaleString() })}</span> : null}
        {grant.terms.rate_per_second ? <span>{t("grants.rate", { rate: grant.terms.rate_per_second })}</span> : null}
      </p>
      {usage}
      <table>
        <thead>
          <tr>
            <th scope="col">{t("entry.itemName")}</th>
            <th scope="col">{t("apps.masking")}</th>
          </tr>
        </thead>
        <tbody>
          {grant.terms.items.map((item) => (
            <tr key={item}>
              <th scope="row">{item}</th>
              <td>{label(grant.terms.masking[item] ?? "clear")}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {grant.revoke_reason ? (
        <p className="hint">
          {t("grants.revokedBecause")}
          {grant.revoke_reason}
        </p>
      ) : null}
      {children}
    </li>
  );
}

/** The grants of every node this department applied to, as each node holds them. */
function RemoteGrants() {
  const { t } = useT();
  const { me } = useSession();
  const nodeName = useNodeName();
  const applications = useLoad(() => get<RemoteApplication[]>("/federation/applications"), [me?.actor]);
  return (
    <section className="remote-grants">
      <h2>{t("federation.remoteGrants")}</h2>
      <Async loaded={applications} empty={(list) => list.length === 0}>
        {(list) =>
          [...new Set(list.map((application) => application.home_node))].map((node) => (
            <NodeGrants key={node} node={node} name={nodeName(node)} />
          ))
        }
      </Async>
    </section>
  );
}

/** The grants one node issued to this department; each read through that node's gateway. */
function NodeGrants({ node, name }: { node: string; name: string }) {
  const grants = useLoad(() => get<Grant[]>(`/federation/grants/${encodeURIComponent(node)}`), [node]);
  return (
    <section data-node={node}>
      <h3>{name}</h3>
      <Async loaded={grants} empty={(list) => list.length === 0}>
        {(list) => (
          <ul className="grants">
            {list.map((grant) => (
              <GrantCard
                key={grant.id}
                grant={grant}
                heading={
                  <h4>
                    <EntryName code={grant.entry_code} node={node} /> <span className="code">{grant.entry_code}</span>
                  </h4>
                }
              >
                {readable(grant) ? <Lookup path={`/federation/grants/${encodeURIComponent(node)}/${grant.id}/lookup`} /> : null}
                {grant.terms.delivery.includes("subscription") ? (
                  <Subscriptions grant={grant} node={node} mayEdit={grant.state === "active"} />
                ) : null}
              </GrantCard>
            ))}
          </ul>
        )}
      </Async>
    </section>
  );
}

/** Reads through a grant at `path` (this node's gateway or, across nodes, the owner's): the rows as granted, masked. */
function Lookup({ path }: { path: string }) {
  const { t } = useT();
  const [keys, setKeys] = useState("");
  const [result, setResult] = useState<LookupResult>();
  const { error, busy, run } = useAction();
  const submit = (event: FormEvent) => {
    event.preventDefault();
    setResult(undefined);
    void run(() => post<LookupResult>(path, { keys: keys.split(/\s+/).filter(Boolean) }), setResult);
  };
  const rows = result?.results.flatMap((found) => found.rows) ?? [];
  return (
    <form className="lookup" onSubmit={submit}>
      <label>
        {t("grants.keys")}
        <textarea name="keys" rows={3} value={keys} onChange={(e) => setKeys(e.target.value)} />
      </label>
      <FieldMessage error={error} field="keys" />
      <FormError error={error} fields={["keys"]} />
      <button type="submit" disabled={busy}>
        {t("grants.query")}
      </button>
      {result ? (
        rows.length === 0 ? (
          <p className="empty">{t("grants.noRows")}</p>
        ) : (
          <table className="lookup-result">
            <thead>
              <tr>
                {result.items.map((item) => (
                  <th key={item} scope="col">
                    {item}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {rows.map((row, index) => (
                <tr key={index}>
                  {result.items.map((item) => (
                    <td key={item}>{row[item] === null || row[item] === undefined ? "—" : String(row[item])}</td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        )
      ) : null}
    </form>
  );
}

/**
 * The webhooks that receive a grant's changes; the consumer adds (the secret shown once) and ends them.
 * For another `node`'s grant the same calls are routed to that node, which calls the webhooks itself.
 */
function Subscriptions({ grant, node, mayEdit }: { grant: Grant; node?: string; mayEdit: boolean }) {
  const { t, label, date } = useT();
  const listing = node ? `/federation/subscriptions/${encodeURIComponent(node)}` : "/gateway/subscriptions";
  const making = node
    ? `/federation/grants/${encodeURIComponent(node)}/${grant.id}/subscriptions`
    : `/gateway/grants/${grant.id}/subscriptions`;
  const list = useLoad(() => get<Subscription[]>(listing, { grant_id: grant.id }), [listing, grant.id]);
  const [url, setUrl] = useState("");
  const [start, setStart] = useState("now");
  const [made, setMade] = useState<Subscription>();
  const add = useAction();
  const end = useAction();
  const submit = (event: FormEvent) => {
    event.preventDefault();
    void add.run(
      () => post<Subscription>(making, { url: url.trim(), cursor: start }),
      (subscription) => {
        setMade(subscription);
        setUrl("");
        list.reload();
      },
    );
  };
  return (
    <section className="subscriptions">
      <h3>{t("subs.title")}</h3>
      <p className="hint">{t("subs.hint")}</p>
      {node ? <p className="hint">{t("subs.remoteHint")}</p> : null}
      <Async loaded={list} empty={(subscriptions) => subscriptions.length === 0}>
        {(subscriptions) => (
          <ul>
            {subscriptions.map((subscription) => (
              <li key={subscription.id} data-subscription={subscription.id}>
                <span className="code">{subscription.url}</span> <span className="tag">{label(subscription.status)}</span>
                <span className="meta">
                  {t("subs.cursor", { cursor: subscription.cursor, rows: subscription.delivered_rows.toLocaleString() })}
                  {subscription.last_delivered_at ? ` · ${t("subs.lastDelivered")} ${date(subscription.last_delivered_at)}` : ""}
                </span>
                {subscription.failures > 0 ? (
                  <p className={subscription.failing ? "error" : "hint"}>
                    {t("subs.failing", { failures: subscription.failures, error: subscription.last_error ?? "" })}
                  </p>
                ) : null}
                {subscription.closed_reason ? (
                  <p className="hint">
                    {t("subs.closedBecause")}
                    {subscription.closed_reason}
                  </p>
                ) : null}
                {mayEdit && subscription.status === "active" ? (
                  <button
                    type="button"
                    className="danger"
                    disabled={end.busy}
                    onClick={() => void end.run(() => del(`${listing}/${subscription.id}`), list.reload)}
                  >
                    {t("subs.end")}
                  </button>
                ) : null}
              </li>
            ))}
          </ul>
        )}
      </Async>
      <FormError error={end.error} fields={[]} />
      {made?.secret ? (
        <p className="notice" role="status">
          {t("subs.secret")} <code className="secret">{made.secret}</code>
        </p>
      ) : null}
      {mayEdit ? (
        <form className="row" onSubmit={submit}>
          <label>
            {t("subs.url")}
            <input name="url" type="url" value={url} onChange={(e) => setUrl(e.target.value)} required />
            <FieldMessage error={add.error} field="url" />
          </label>
          <label>
            {t("subs.start")}
            <select name="cursor" value={start} onChange={(e) => setStart(e.target.value)}>
              <option value="now">{t("subs.start.now")}</option>
              <option value="beginning">{t("subs.start.beginning")}</option>
            </select>
          </label>
          <FormError error={add.error} fields={["url", "cursor"]} />
          <button type="submit" disabled={add.busy}>
            {t("subs.add")}
          </button>
        </form>
      ) : null}
    </section>
  );
}

/** Revoke (at once, even for an export already streaming) or renew for a number of days from now. */
function Manage({ grant, onDone }: { grant: Grant; onDone: () => void }) {
  const { t } = useT();
  const [reason, setReason] = useState("");
  const [days, setDays] = useState("365");
  const revoke = useAction();
  const renew = useAction();
  return (
    <div className="manage row">
      <form
        onSubmit={(event) => {
          event.preventDefault();
          void revoke.run(() => post(`/sharing/grants/${grant.id}/revoke`, { reason: reason.trim() }), onDone);
        }}
      >
        <label>
          {t("grants.revokeReason")}
          <input name="reason" value={reason} onChange={(e) => setReason(e.target.value)} />
          <FieldMessage error={revoke.error} field="reason" />
        </label>
        <FormError error={revoke.error} fields={["reason"]} />
        <button type="submit" className="danger" disabled={revoke.busy}>
          {t("grants.revoke")}
        </button>
      </form>
      <form
        onSubmit={(event) => {
          event.preventDefault();
          void renew.run(() => post(`/sharing/grants/${grant.id}/renew`, { days: Number(days) }), onDone);
        }}
      >
        <label>
          {t("grants.renewDays")}
          <input name="days" type="number" min={1} max={1098} value={days} onChange={(e) => setDays(e.target.value)} />
          <FieldMessage error={renew.error} field="days" />
        </label>
        <FormError error={renew.error} fields={["days"]} />
        <button type="submit" disabled={renew.busy}>
          {t("grants.renew")}
        </button>
      </form>
    </div>
  );
}
