// The pieces of the cart's application form: the items and row limit asked
// of one entry, and the terms asked for all of them — purpose, legal basis,
// duration, quotas and delivery. The server names the field it refuses
// (`entries[0].items`, `purpose` …); each message stands under its control.

import { useState } from "react";
import { useT } from "../i18n";
import { FieldMessage } from "./Async";

const DELIVERY = ["lookup", "verify", "batch", "subscription"];

/** Delivery modes an entry's share modes allow (DESIGN.md §6). */
const offered = (shareModes: string[]) =>
  DELIVERY.filter((mode) =>
    mode === "lookup" || mode === "verify"
      ? shareModes.includes("api")
      : mode === "batch"
        ? shareModes.includes("table") || shareModes.includes("file")
        : shareModes.includes("table"),
  );

/** The request fields a refusal may name, for `FormError`. */
export const APPLICATION_FIELDS = ["entries", "purpose", "legal_basis", "duration_days", "daily_quota", "rate_per_second", "delivery"];

/** A row limit as typed: an item and its value prefixes, comma-separated. */
export interface RowFilterDraft {
  item: string;
  prefixes: string;
}

/** What is asked of one entry, as the API takes it. */
export function entryWanted(code: string, items: string[], filter?: RowFilterDraft) {
  const prefixes = filter?.prefixes.split(/[,，\s]+/).filter(Boolean) ?? [];
  return {
    entry_code: code,
    items,
    ...(filter?.item && prefixes.length ? { row_filter: { item: filter.item, prefixes } } : {}),
  };
}

/** The items and optional row limit asked of the `index`th entry of the application. */
export function EntryFields(props: {
  index: number;
  items: string[];
  chosen: string[];
  onChosen: (chosen: string[]) => void;
  filter?: RowFilterDraft;
  onFilter: (filter: RowFilterDraft) => void;
  error: unknown;
}) {
  const { t } = useT();
  const { index, items, chosen, error } = props;
  const filter = props.filter ?? { item: "", prefixes: "" };
  return (
    <>
      <FieldMessage error={error} field={`entries[${index}].entry_code`} />
      <div className="items" role="group" aria-label={t("cart.items")}>
        {items.map((item) => (
          <label key={item} className="check">
            <input
              type="checkbox"
              checked={chosen.includes(item)}
              onChange={(e) => props.onChosen(e.target.checked ? [...chosen, item] : chosen.filter((name) => name !== item))}
            />
            {item}
          </label>
        ))}
      </div>
      <FieldMessage error={error} field={`entries[${index}].items`} />
      <div className="row">
        <label>
          {t("cart.rowFilterItem")}
          <select value={filter.item} onChange={(e) => props.onFilter({ ...filter, item: e.target.value })}>
            <option value="">—</option>
            {items.map((item) => (
              <option key={item}>{item}</option>
            ))}
          </select>
        </label>
        <label>
          {t("cart.rowFilterPrefixes")}
          <input value={filter.prefixes} onChange={(e) => props.onFilter({ ...filter, prefixes: e.target.value })} />
        </label>
      </div>
      <FieldMessage error={error} field={`entries[${index}].row_filter`} />
    </>
  );
}

/**
 * The terms of one application for entries with these share modes: only
 * delivery modes every entry offers can be asked for; with none chosen, the
 * first of them. `request` is what the API takes besides `entries`.
 */
export function useApplicationTerms(shareModes: string[][]) {
  const [purpose, setPurpose] = useState("");
  const [legalBasis, setLegalBasis] = useState("");
  const [duration, setDuration] = useState("365");
  const [quota, setQuota] = useState("");
  const [rate, setRate] = useState("");
  const [delivery, setDelivery] = useState<string[]>([]);
  const available = DELIVERY.filter((mode) => shareModes.every((modes) => offered(modes).includes(mode)));
  const chosenModes = delivery.filter((mode) => available.includes(mode));
  const sentModes = chosenModes.length ? chosenModes : available.slice(0, 1);
  return {
    purpose,
    setPurpose,
    legalBasis,
    setLegalBasis,
    duration,
    setDuration,
    quota,
    setQuota,
    rate,
    setRate,
    available,
    sentModes,
    setDelivery,
    request: {
      purpose: purpose.trim(),
      legal_basis: legalBasis.trim(),
      duration_days: Number(duration),
      delivery: sentModes,
      ...(quota.trim() ? { daily_quota: Number(quota) } : {}),
      ...(rate.trim() ? { rate_per_second: Number(rate) } : {}),
    },
  };
}

export type ApplicationTerms = ReturnType<typeof useApplicationTerms>;

/** Purpose, legal basis, duration, quotas and delivery, each with the server's message (or each request's, see `FieldMessage`) under it. */
export function TermsFields({ terms, error }: { terms: ApplicationTerms; error: unknown }) {
  const { t, label } = useT();
  return (
    <>
      <label>
        {t("cart.purpose")}
        <textarea name="purpose" required maxLength={500} value={terms.purpose} onChange={(e) => terms.setPurpose(e.target.value)} />
      </label>
      <FieldMessage error={error} field="purpose" />
      <label>
        {t("cart.legalBasis")}
        <textarea name="legal_basis" required maxLength={500} value={terms.legalBasis} onChange={(e) => terms.setLegalBasis(e.target.value)} />
      </label>
      <FieldMessage error={error} field="legal_basis" />
      <div className="row">
        <label>
          {t("cart.duration")}
          <input name="duration_days" type="number" min={1} max={1098} value={terms.duration} onChange={(e) => terms.setDuration(e.target.value)} />
        </label>
        <label>
          {t("cart.quota")}
          <input name="daily_quota" type="number" min={1} value={terms.quota} onChange={(e) => terms.setQuota(e.target.value)} />
        </label>
        <label>
          {t("cart.rate")}
          <input name="rate_per_second" type="number" min={1} value={terms.rate} onChange={(e) => terms.setRate(e.target.value)} />
        </label>
      </div>
      <FieldMessage error={error} field="duration_days" />
      <FieldMessage error={error} field="daily_quota" />
      <FieldMessage error={error} field="rate_per_second" />
      <fieldset>
        <legend>{t("cart.delivery")}</legend>
        {terms.available.map((mode) => (
          <label key={mode} className="check">
            <input
              type="checkbox"
              checked={terms.sentModes.includes(mode)}
              onChange={(e) => terms.setDelivery(e.target.checked ? [...terms.sentModes, mode] : terms.sentModes.filter((m) => m !== mode))}
            />
            {label(mode)}
          </label>
        ))}
      </fieldset>
      <FieldMessage error={error} field="delivery" />
    </>
  );
}
