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

export function Grants() {
  const { t, label, date } = useT();
  const { me } = useSession();
  const department = useDepartmentName();
  const grants = useLoad(() => get<Grant[]>("/sharing/grants", { side: "consumer" }), [me?.actor]);
  const usage = useLoad(() => get<GrantUsage[]>("/sharing/usage", { side: "consumer", days: 30 }), [me?.actor]);
  const usageOf = (id: string) => usage.data?.find((grant) => grant.grant_id === id);
  return (
    <section>
      <h1>{t("grants.title")}</h1>
      <Async loaded={grants} empty={(list) => list.length === 0}>
        {(list) => (
          <ul className="grants">
            {list.map((grant) => (
              <li key={grant.id} className="panel" data-grant={grant.id}>
                <h2>
                  {grant.entry_code} · {department(grant.provider_department_id)}
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
                {grant.state === "active" && grant.terms.delivery.includes("lookup") ? <Lookup grant={grant} /> : null}
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
