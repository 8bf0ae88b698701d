// 一站式申请: every entry in the cart in one application — items per entry,
// one purpose, legal basis, duration and delivery for all. The server takes
// the whole batch or none of it, and names the field it refuses.

import { useState, type FormEvent } from "react";
import { Link } from "wouter";
import { codePath, post } from "../api";
import { FieldMessage, FormError, useAction } from "../components/Async";
import { useT } from "../i18n";
import { useSession, type CartEntry } from "../session";
import type { Application } from "../types";

const DELIVERY = ["lookup", "verify", "batch", "subscription"];

/** Delivery modes an entry's share modes allow (DESIGN.md §6). */
const offered = (entry: CartEntry) =>
  DELIVERY.filter((mode) =>
    mode === "lookup" || mode === "verify"
      ? entry.shareModes.includes("api")
      : mode === "batch"
        ? entry.shareModes.includes("table") || entry.shareModes.includes("file")
        : entry.shareModes.includes("table"),
  );

export function Cart() {
  const { t, label } = useT();
  const { cart, setCart } = useSession();
  const [purpose, setPurpose] = useState("");
  const [legalBasis, setLegalBasis] = useState("");
  const [duration, setDuration] = useState("365");
  const [quota, setQuota] = useState("");
  const [rate, setRate] = useState("");
  const [delivery, setDelivery] = useState<string[]>([]);
  const [filters, setFilters] = useState<Record<string, { item: string; prefixes: string }>>({});
  const [submitted, setSubmitted] = useState<Application[]>();
  const { error, busy, run } = useAction();

  if (submitted)
    return (
      <section className="panel">
        <p role="status">{t("cart.done", { count: submitted.length })}</p>
        <Link href="/applications">{t("nav.applications")}</Link>
      </section>
    );
  if (cart.length === 0)
    return (
      <section className="panel">
        <h1>{t("cart.title")}</h1>
        <p className="empty">{t("cart.empty")}</p>
        <Link href="/catalog">{t("nav.catalog")}</Link>
      </section>
    );

  const available = DELIVERY.filter((mode) => cart.every((entry) => offered(entry).includes(mode)));
  // Only modes every entry offers can be asked for; with none chosen, the first of them.
  const chosenModes = delivery.filter((mode) => available.includes(mode));
  const sentModes = chosenModes.length ? chosenModes : available.slice(0, 1);
  const update = (code: string, change: Partial<CartEntry>) =>
    setCart(cart.map((entry) => (entry.code === code ? { ...entry, ...change } : entry)));

  const submit = (event: FormEvent) => {
    event.preventDefault();
    void run(
      () =>
        post<Application[]>("/sharing/applications", {
          entries: cart.map((entry) => {
            const filter = filters[entry.code];
            const prefixes = filter?.prefixes.split(/[,，\s]+/).filter(Boolean) ?? [];
            return {
              entry_code: entry.code,
              items: entry.chosen,
              ...(filter?.item && prefixes.length ? { row_filter: { item: filter.item, prefixes } } : {}),
            };
          }),
          purpose: purpose.trim(),
          legal_basis: legalBasis.trim(),
          duration_days: Number(duration),
          delivery: sentModes,
          ...(quota.trim() ? { daily_quota: Number(quota) } : {}),
          ...(rate.trim() ? { rate_per_second: Number(rate) } : {}),
        }),
      (created) => {
        setCart([]);
        setSubmitted(created);
      },
    );
  };

  return (
    <section>
      <h1>{t("cart.title")}</h1>
      <form onSubmit={submit} className="application-form" noValidate>
        <FieldMessage error={error} field="entries" />
        {cart.map((entry, index) => (
          <fieldset key={entry.code} className="cart-entry">
            <legend>
              <Link href={`/catalog/${codePath(entry.code)}`}>{entry.name}</Link> <span className="code">{entry.code}</span>
            </legend>
            <FieldMessage error={error} field={`entries[${index}].entry_code`} />
            <div className="items" role="group" aria-label={t("cart.items")}>
              {entry.items.map((item) => (
                <label key={item} className="check">
                  <input
                    type="checkbox"
                    checked={entry.chosen.includes(item)}
                    onChange={(e) =>
                      update(entry.code, {
                        chosen: e.target.checked ? [...entry.chosen, item] : entry.chosen.filter((name) => name !== item),
                      })
                    }
                  />
                  {item}
                </label>
              ))}
            </div>
            <FieldMessage error={error} field={`entries[${index}].items`} />
            <div className="row">
              <label>
                {t("cart.rowFilterItem")}
                <select
                  value={filters[entry.code]?.item ?? ""}
                  onChange={(e) => setFilters({ ...filters, [entry.code]: { item: e.target.value, prefixes: filters[entry.code]?.prefixes ?? "" } })}
                >
                  <option value="">—</option>
                  {entry.items.map((item) => (
                    <option key={item}>{item}</option>
                  ))}
                </select>
              </label>
              <label>
                {t("cart.rowFilterPrefixes")}
                <input
                  value={filters[entry.code]?.prefixes ?? ""}
                  onChange={(e) => setFilters({ ...filters, [entry.code]: { item: filters[entry.code]?.item ?? "", prefixes: e.target.value } })}
                />
              </label>
            </div>
            <FieldMessage error={error} field={`entries[${index}].row_filter`} />
            <button type="button" className="link" onClick={() => setCart(cart.filter((other) => other.code !== entry.code))}>
              {t("cart.remove")}
            </button>
          </fieldset>
        ))}
        <label>
          {t("cart.purpose")}
          <textarea name="purpose" required maxLength={500} value={purpose} onChange={(e) => setPurpose(e.target.value)} />
        </label>
        <FieldMessage error={error} field="purpose" />
        <label>
          {t("cart.legalBasis")}
          <textarea name="legal_basis" required maxLength={500} value={legalBasis} onChange={(e) => setLegalBasis(e.target.value)} />
        </label>
        <FieldMessage error={error} field="legal_basis" />
        <div className="row">
          <label>
            {t("cart.duration")}
            <input name="duration_days" type="number" min={1} max={1098} value={duration} onChange={(e) => setDuration(e.target.value)} />
          </label>
          <label>
            {t("cart.quota")}
            <input name="daily_quota" type="number" min={1} value={quota} onChange={(e) => setQuota(e.target.value)} />
          </label>
          <label>
            {t("cart.rate")}
            <input name="rate_per_second" type="number" min={1} value={rate} onChange={(e) => setRate(e.target.value)} />
          </label>
        </div>
        <FieldMessage error={error} field="duration_days" />
        <FieldMessage error={error} field="daily_quota" />
        <FieldMessage error={error} field="rate_per_second" />
        <fieldset>
          <legend>{t("cart.delivery")}</legend>
          {available.map((mode) => (
            <label key={mode} className="check">
              <input
                type="checkbox"
                checked={sentModes.includes(mode)}
                onChange={(e) => setDelivery(e.target.checked ? [...sentModes, mode] : sentModes.filter((m) => m !== mode))}
              />
              {label(mode)}
            </label>
          ))}
        </fieldset>
        <FieldMessage error={error} field="delivery" />
        <FormError error={error} fields={["entries", "purpose", "legal_basis", "duration_days", "daily_quota", "rate_per_second", "delivery"]} />
        <button type="submit" className="primary" disabled={busy}>
          {t("cart.submit")}
        </button>
      </form>
    </section>
  );
}
