// Grants the caller's department holds (or, for the provider, has given):
// terms, masking, expiry, and for the consumer a lookup through the gateway —
// the same audited path an application takes, answered masked as granted.

import { useState, type FormEvent } from "react";
import { post, get } from "../api";
import { Async, FieldMessage, FormError, useAction, useLoad } from "../components/Async";
import { useT } from "../i18n";
import { useDepartmentName, useSession } from "../session";
import type { Grant, LookupResult } from "../types";

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

export function Grants() {
  const { t, label, date } = useT();
  const { me, has } = useSession();
  const department = useDepartmentName();
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
              <li key={grant.id} className="panel" data-grant={grant.id}>
                <h2>
                  {grant.entry_code} · {department(grant.provider_department_id)} → {department(grant.consumer_department_id)}
                </h2>
                <p className="meta">
                  <span className="tag">{label(grant.state)}</span>
                  <span>
                    {t("grants.expires")} {date(grant.expires_at)}
                  </span>
                  <span>{grant.terms.delivery.map(label).join("、")}</span>
                  {grant.terms.daily_quota ? <span>{t("grants.quota", { quota: grant.terms.daily_quota.toLocaleString() })}</span> : null}
                  {grant.terms.rate_per_second ? <span>{t("grants.rate", { rate: grant.terms.rate_per_second })}</span> : null}
                </p>
                <GrantUsageLine usage={usageOf(grant.id)} />
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
                {grant.state === "active" && grant.terms.delivery.includes("lookup") && grant.consumer_department_id === me?.department_id && has("consumer") ? (
                  <Lookup grant={grant} />
                ) : null}
                {mayManage(grant) && grant.state !== "revoked" ? <Manage grant={grant} onDone={grants.reload} /> : null}
              </li>
            ))}
          </ul>
        )}
      </Async>
    </section>
  );
}

function Lookup({ grant }: { grant: Grant }) {
  const { t } = useT();
  const [keys, setKeys] = useState("");
  const [result, setResult] = useState<LookupResult>();
  const { error, busy, run } = useAction();
  const submit = (event: FormEvent) => {
    event.preventDefault();
    setResult(undefined);
    void run(() => post<LookupResult>(`/gateway/grants/${grant.id}/lookup`, { keys: keys.split(/\s+/).filter(Boolean) }), setResult);
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
