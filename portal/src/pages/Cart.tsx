// 一站式申请: every entry in the cart in one application — items per entry,
// one purpose, legal basis, duration and delivery for all. The server takes
// the whole batch or none of it, and names the field it refuses.

import { useState, type FormEvent } from "react";
import { Link } from "wouter";
import { codePath, post } from "../api";
import { FieldMessage, FormError, useAction } from "../components/Async";
import { APPLICATION_FIELDS, EntryFields, TermsFields, entryWanted, useApplicationTerms, type RowFilterDraft } from "../components/ApplicationForm";
import { useT } from "../i18n";
import { useSession, type CartEntry } from "../session";
import type { Application } from "../types";

export function Cart() {
  const { t } = useT();
  const { cart, setCart } = useSession();
  const terms = useApplicationTerms(cart.map((entry) => entry.shareModes));
  const [filters, setFilters] = useState<Record<string, RowFilterDraft>>({});
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

  const update = (code: string, change: Partial<CartEntry>) =>
    setCart(cart.map((entry) => (entry.code === code ? { ...entry, ...change } : entry)));

  const submit = (event: FormEvent) => {
    event.preventDefault();
    void run(
      () =>
        post<Application[]>("/sharing/applications", {
          entries: cart.map((entry) => entryWanted(entry.code, entry.chosen, filters[entry.code])),
          ...terms.request,
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
            <EntryFields
              index={index}
              items={entry.items}
              chosen={entry.chosen}
              onChosen={(chosen) => update(entry.code, { chosen })}
              filter={filters[entry.code]}
              onFilter={(filter) => setFilters({ ...filters, [entry.code]: filter })}
              error={error}
            />
            <button type="button" className="link" onClick={() => setCart(cart.filter((other) => other.code !== entry.code))}>
              {t("cart.remove")}
            </button>
          </fieldset>
        ))}
        <TermsFields terms={terms} error={error} />
        <FormError error={error} fields={APPLICATION_FIELDS} />
        <button type="submit" className="primary" disabled={busy}>
          {t("cart.submit")}
        </button>
      </form>
    </section>
  );
}
