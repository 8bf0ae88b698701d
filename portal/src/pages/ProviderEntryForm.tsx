// Registering or editing a catalog entry (EntryDraft). The server's
// automatic checks run while the provider types (debounced) and again before
// saving; each finding stands next to the field it names, and so does a
// refusal of the save itself.

import { useCallback, useEffect, useRef, useState, type FormEvent, type ReactNode } from "react";
import { Link, useLocation } from "wouter";
import { api, ApiError, codePath, get, post } from "../api";
import { Async, ErrorNotice, useLoad } from "../components/Async";
import { gradeLabel, useT, type MessageKey } from "../i18n";
import { useSession } from "../session";
import type { CatalogEntry, EntryDraft, EntryView, Grade, InfoItem } from "../types";
import "../provider.css";

const CHECK_DELAY_MS = 600;
const CLASSES = ["base", "theme", "department"];
const FORMAT_CLASSES = ["database", "spreadsheet", "electronic_file", "image", "streaming_media", "self_describing", "other"];
const SHARE_TYPES = ["unconditional", "conditional", "not_shared"];
const OPEN_TYPES = ["unconditional", "conditional", "not_open"];
const SHARE_MODES = ["table", "api", "file"];
const UPDATE_CYCLES = ["real_time", "daily", "weekly", "monthly", "quarterly", "half_yearly", "yearly", "irregular"];
const TYPE_CODES = ["C", "N", "Y", "D", "T", "L", "M", "G", "B", "I", "F"];
const SENSITIVITIES = [
  "identity_number", "biometric", "religion", "criminal_record", "health", "financial", "location",
  "minor", "credential", "person_name", "contact", "address", "birth_date", "other_personal",
];
const GRADES = ["general:1", "general:2", "general:3", "general:4", "important", "core"];
/** Item fields with their own column in the items table. */
const ITEM_COLUMNS = ["name", "type_code", "length", "sensitivity", "grade"];
/** Entry fields shown in the form; a finding on anything else is listed apart. */
const ENTRY_FIELDS = [
  "classification", "name", "summary", "keywords", "provider", "system_id", "format_class", "format_type",
  "update_cycle", "share_type", "share_condition", "legal_basis", "share_modes", "open_type", "open_condition", "items",
];

export interface Finding {
  check: string;
  severity: "warning" | "error";
  field: string;
  message: string;
  related_code?: string;
}

interface InfoSystem {
  id: string;
  name: string;
}

/** A stored draft: the form keeps what it does not edit (links, item details). */
type StoredDraft = EntryDraft & { system_id?: string | null; related_codes?: string[]; resources?: unknown[] };

interface ItemRow extends InfoItem {
  key: number;
}

interface Form {
  topClass: string;
  section: string;
  category: string;
  subcategory: string;
  name: string;
  summary: string;
  keywords: string;
  format_class: string;
  format_type: string;
  update_cycle: string;
  system_id: string;
  share_type: string;
  share_condition: string;
  legal_basis: string;
  share_modes: string[];
  open_type: string;
  open_condition: string;
  items: ItemRow[];
}

let nextItemKey = 0;
const itemRow = (item: InfoItem): ItemRow => ({ ...item, key: nextItemKey++ });
const blankItem = () => itemRow({ name: "", type_code: "C", length: null, sensitivity: null, grade: null });

const NEW_FORM: Omit<Form, "items"> = {
  topClass: "department",
  section: "",
  category: "",
  subcategory: "",
  name: "",
  summary: "",
  keywords: "",
  format_class: "database",
  format_type: "",
  update_cycle: "daily",
  system_id: "",
  share_type: "conditional",
  share_condition: "",
  legal_basis: "",
  share_modes: ["api"],
  open_type: "not_open",
  open_condition: "",
};

function formOf(draft: StoredDraft): Form {
  const { classification } = draft;
  return {
    topClass: classification.class,
    section: String(classification.section),
    category: classification.category ? String(classification.category) : "",
    subcategory: classification.subcategory ? String(classification.subcategory) : "",
    name: draft.name,
    summary: draft.summary,
    keywords: draft.keywords.join("、"),
    format_class: draft.format_class,
    format_type: draft.format_type,
    update_cycle: draft.update_cycle,
    system_id: draft.system_id ?? "",
    share_type: draft.share_type,
    share_condition: draft.share_condition ?? "",
    legal_basis: draft.legal_basis ?? "",
    share_modes: draft.share_modes,
    open_type: draft.open_type,
    open_condition: draft.open_condition ?? "",
    items: draft.items.map(itemRow),
  };
}

const optional = (text: string) => (text ? Number(text) : undefined);

function draftOf(form: Form, provider: EntryDraft["provider"], original?: StoredDraft): StoredDraft {
  return {
    ...original,
    classification: {
      class: form.topClass,
      // 0 rather than nothing, so the coding check names the 项 at fault.
      section: Number(form.section) || 0,
      category: optional(form.category),
      subcategory: optional(form.subcategory),
    },
    name: form.name,
    summary: form.summary,
    keywords: form.keywords.split(/[、，,；;\n]/).map((keyword) => keyword.trim()).filter(Boolean),
    provider,
    format_class: form.format_class,
    format_type: form.format_type,
    update_cycle: form.update_cycle,
    system_id: form.system_id || null,
    share_type: form.share_type,
    share_condition: form.share_type === "conditional" ? form.share_condition : null,
    legal_basis: form.share_type === "not_shared" ? form.legal_basis : null,
    share_modes: form.share_type === "not_shared" ? [] : form.share_modes,
    open_type: form.open_type,
    open_condition: form.open_type === "conditional" ? form.open_condition : null,
    items: form.items.map(({ key: _key, ...item }) => item),
  };
}

const gradeValue = (grade?: Grade | null) => (grade ? (grade.sublevel ? `${grade.level}:${grade.sublevel}` : grade.level) : "");
function gradeOf(value: string): Grade | null {
  if (!value) return null;
  const [level, sublevel] = value.split(":");
  return sublevel ? { level: level as Grade["level"], sublevel: Number(sublevel) } : { level: level as Grade["level"] };
}

/** Where a finding is shown: next to the control of the field it names. */
function placeOf(field: string, itemCount: number): string {
  const item = /^items\[(\d+)\](?:\.(\w+))?/.exec(field);
  if (item) {
    if (Number(item[1]) >= itemCount) return "other";
    return `items[${item[1]}].${item[2] && ITEM_COLUMNS.includes(item[2]) ? item[2] : "name"}`;
  }
  const head = field.split(/[.[]/)[0];
  return ENTRY_FIELDS.includes(head) ? head : "other";
}

export function ProviderEntryForm({ code }: { code?: string }) {
  const { t, label } = useT();
  const view = useLoad(
    () => (code ? get<EntryView>(`/catalog/entries/${codePath(code)}`) : Promise.resolve(null)),
    [code],
  );
  return (
    <section className="provider-form provider-page">
      <h1>{code ? t("form.editTitle", { code }) : t("form.newTitle")}</h1>
      <Async loaded={view}>
        {(loaded) =>
          loaded && !["draft", "returned"].includes(loaded.entry.status) ? (
            <p className="notice error">{t("form.notEditable", { status: label(loaded.entry.status) })}</p>
          ) : (
            <DraftEditor code={code} original={loaded?.entry.metadata} />
          )
        }
      </Async>
    </section>
  );
}

function DraftEditor({ code, original }: { code?: string; original?: StoredDraft }) {
  const { t, label, language } = useT();
  const { me, departments } = useSession();
  const [, navigate] = useLocation();
  const departmentId = me?.department_id ?? "";
  const department = departments.get(departmentId);
  const systems = useLoad(() => get<InfoSystem[]>("/systems", { department_id: departmentId }), [departmentId]);
  const [form, setForm] = useState<Form>(() => (original ? formOf(original) : { ...NEW_FORM, items: [blankItem()] }));
  // A new entry is checked once the provider starts typing; an existing one at once.
  const [edited, setEdited] = useState(Boolean(original));
  const [findings, setFindings] = useState<Finding[]>([]);
  const [checking, setChecking] = useState(false);
  const [checkFailure, setCheckFailure] = useState<Error>();
  const [saveError, setSaveError] = useState<Error>();
  const [busy, setBusy] = useState(false);
  const latestCheck = useRef(0);

  const draft = draftOf(form, { department_id: departmentId, uscc: department?.uscc ?? "" }, original);
  const draftText = JSON.stringify(draft);

  /** The findings on `body`; only the latest run updates the form. A failure is kept in `checkFailure`. */
  const runCheck = useCallback(
    async (body: StoredDraft) => {
      const run = ++latestCheck.current;
      const latest = () => run === latestCheck.current;
      setChecking(true);
      try {
        let found: Finding[];
        try {
          // Naming the edited entry: it is no duplicate of itself.
          const path = code ? `/catalog/check?code=${codePath(code)}` : "/catalog/check";
          found = (await post<{ findings: Finding[] }>(path, body)).findings;
        } catch (error) {
          // A draft the server cannot even read (a malformed value) names the field.
          if (!(error instanceof ApiError && error.field)) throw error;
          found = [{ check: "input", severity: "error", field: error.field, message: error.message }];
        }
        if (latest()) {
          setFindings(found);
          setCheckFailure(undefined);
        }
        return found;
      } catch (failure) {
        if (latest()) setCheckFailure(failure as Error);
        throw failure;
      } finally {
        if (latest()) setChecking(false);
      }
    },
    [code],
  );

  useEffect(() => {
    if (!edited) return;
    const timer = setTimeout(() => runCheck(JSON.parse(draftText)).catch(() => undefined), CHECK_DELAY_MS);
    return () => clearTimeout(timer);
  }, [draftText, edited, runCheck]);

  const change = (patch: Partial<Form>) => {
    setForm((current) => ({ ...current, ...patch }));
    setEdited(true);
  };
  const changeItem = (index: number, patch: Partial<InfoItem>) =>
    change({ items: form.items.map((item, i) => (i === index ? { ...item, ...patch } : item)) });

  const save = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setSaveError(undefined);
    try {
      const saved = code
        ? await api<CatalogEntry>("PUT", `/catalog/entries/${codePath(code)}`, draft)
        : await post<CatalogEntry>("/catalog/entries", draft);
      navigate(`/provide?saved=${encodeURIComponent(saved.code)}`);
    } catch (failure) {
      setSaveError(failure as Error);
    } finally {
      setBusy(false);
    }
  };

  const refusal: Finding[] =
    saveError instanceof ApiError && saveError.field
      ? [{ check: "save", severity: "error", field: saveError.field, message: saveError.message }]
      : [];
  const placed = new Map<string, Finding[]>();
  for (const finding of [...refusal, ...findings]) {
    const place = placeOf(finding.field, form.items.length);
    placed.set(place, [...(placed.get(place) ?? []), finding]);
  }
  const errors = findings.filter((finding) => finding.severity === "error").length;
  const show = (place: string) => <FindingList place={place} findings={placed.get(place)} />;
  const invalid = (place: string) => placed.get(place)?.some((finding) => finding.severity === "error") || undefined;
  const options = (prefix: string, values: string[]) =>
    values.map((value) => (
      <option key={value} value={value}>
        {t(`${prefix}.${value}` as MessageKey)}
      </option>
    ));

  return (
    <form onSubmit={save} noValidate>
      <fieldset>
        <legend>{t("form.basics")}</legend>
        <div className="row" role="group" aria-label={t("form.classification")}>
          <label>
            {t("form.class")}
            <select value={form.topClass} disabled={Boolean(code)} onChange={(e) => change({ topClass: e.target.value })}>
              {options("class", CLASSES)}
            </select>
          </label>
          <label>
            {t("form.section")}
            <input type="number" min={1} max={99} value={form.section} disabled={Boolean(code)} aria-invalid={invalid("classification")} onChange={(e) => change({ section: e.target.value })} />
          </label>
          <label>
            {t("form.category")}
            <input type="number" min={1} max={999} value={form.category} disabled={Boolean(code)} onChange={(e) => change({ category: e.target.value })} />
          </label>
          <label>
            {t("form.subcategory")}
            <input type="number" min={1} max={999} value={form.subcategory} disabled={Boolean(code)} onChange={(e) => change({ subcategory: e.target.value })} />
          </label>
        </div>
        {code ? <p className="hint">{t("form.classFixed")}</p> : null}
        {show("classification")}
        <Field label={t("form.name")} after={show("name")}>
          <input value={form.name} aria-invalid={invalid("name")} onChange={(e) => change({ name: e.target.value })} />
        </Field>
        <Field label={t("form.summary")} after={show("summary")}>
          <textarea value={form.summary} aria-invalid={invalid("summary")} onChange={(e) => change({ summary: e.target.value })} />
        </Field>
        <Field label={t("form.keywords")} after={show("keywords")}>
          <input value={form.keywords} onChange={(e) => change({ keywords: e.target.value })} />
        </Field>
        <dl className="attributes">
          <dt>{t("form.provider")}</dt>
          <dd>
            {department?.name} <span className="code">{department?.uscc}</span>
          </dd>
        </dl>
        {show("provider")}
        <Field label={t("form.system")} after={show("system_id")}>
          <select value={form.system_id} onChange={(e) => change({ system_id: e.target.value })}>
            <option value="">{t("form.noSystem")}</option>
            {(systems.data ?? []).map((system) => (
              <option key={system.id} value={system.id}>
                {system.name}
              </option>
            ))}
          </select>
        </Field>
      </fieldset>

      <fieldset>
        <legend>{t("form.format")}</legend>
        <div className="row">
          <Field label={t("form.formatClass")} after={show("format_class")}>
            <select value={form.format_class} onChange={(e) => change({ format_class: e.target.value })}>
              {options("format", FORMAT_CLASSES)}
            </select>
          </Field>
          <Field label={t("form.formatType")} after={show("format_type")}>
            <input value={form.format_type} aria-invalid={invalid("format_type")} onChange={(e) => change({ format_type: e.target.value })} />
          </Field>
          <Field label={t("form.updateCycle")} after={show("update_cycle")}>
            <select value={form.update_cycle} onChange={(e) => change({ update_cycle: e.target.value })}>
              {UPDATE_CYCLES.map((cycle) => (
                <option key={cycle} value={cycle}>
                  {label(cycle)}
                </option>
              ))}
            </select>
          </Field>
        </div>
      </fieldset>

      <fieldset>
        <legend>{t("form.sharing")}</legend>
        <Field label={t("form.shareType")} after={show("share_type")}>
          <select value={form.share_type} aria-invalid={invalid("share_type")} onChange={(e) => change({ share_type: e.target.value })}>
            {options("share", SHARE_TYPES)}
          </select>
        </Field>
        {form.share_type === "conditional" ? (
          <Field label={t("form.shareCondition")} after={show("share_condition")}>
            <textarea value={form.share_condition} aria-invalid={invalid("share_condition")} onChange={(e) => change({ share_condition: e.target.value })} />
          </Field>
        ) : null}
        {form.share_type === "not_shared" ? (
          <Field label={t("form.legalBasis")} after={show("legal_basis")}>
            <textarea value={form.legal_basis} aria-invalid={invalid("legal_basis")} onChange={(e) => change({ legal_basis: e.target.value })} />
          </Field>
        ) : (
          <div role="group" aria-label={t("form.shareModes")} className="choices">
            <span>{t("form.shareModes")}</span>
            {SHARE_MODES.map((mode) => (
              <label key={mode} className="check">
                <input
                  type="checkbox"
                  checked={form.share_modes.includes(mode)}
                  onChange={(e) =>
                    change({ share_modes: e.target.checked ? [...form.share_modes, mode] : form.share_modes.filter((m) => m !== mode) })
                  }
                />
                {label(mode)}
              </label>
            ))}
            {show("share_modes")}
          </div>
        )}
        <Field label={t("form.openType")} after={show("open_type")}>
          <select value={form.open_type} aria-invalid={invalid("open_type")} onChange={(e) => change({ open_type: e.target.value })}>
            {OPEN_TYPES.map((type) => (
              <option key={type} value={type}>
                {label(`open.${type}`)}
              </option>
            ))}
          </select>
        </Field>
        {form.open_type === "conditional" ? (
          <Field label={t("form.openCondition")} after={show("open_condition")}>
            <textarea value={form.open_condition} aria-invalid={invalid("open_condition")} onChange={(e) => change({ open_condition: e.target.value })} />
          </Field>
        ) : null}
      </fieldset>

      <fieldset>
        <legend>{t("form.items")}</legend>
        {show("items")}
        <table className="item-table">
          <thead>
            <tr>
              <th scope="col">#</th>
              <th scope="col">{t("form.itemName")}</th>
              <th scope="col">{t("form.itemType")}</th>
              <th scope="col">{t("form.itemLength")}</th>
              <th scope="col">{t("form.itemSensitivity")}</th>
              <th scope="col">{t("form.itemGrade")}</th>
              <th scope="col" />
            </tr>
          </thead>
          <tbody>
            {form.items.map((item, index) => {
              const at = (column: string) => `items[${index}].${column}`;
              const cellLabel = (key: MessageKey) => `${t(key)} ${index + 1}`;
              return (
                <tr key={item.key}>
                  <td>{index + 1}</td>
                  <td>
                    <input aria-label={cellLabel("form.itemName")} value={item.name} aria-invalid={invalid(at("name"))} onChange={(e) => changeItem(index, { name: e.target.value })} />
                    {show(at("name"))}
                  </td>
                  <td>
                    <select aria-label={cellLabel("form.itemType")} value={item.type_code} onChange={(e) => changeItem(index, { type_code: e.target.value })}>
                      {options("type", TYPE_CODES)}
                    </select>
                    {show(at("type_code"))}
                  </td>
                  <td>
                    <input
                      aria-label={cellLabel("form.itemLength")}
                      type="number"
                      min={1}
                      className="length"
                      value={item.length ?? ""}
                      aria-invalid={invalid(at("length"))}
                      onChange={(e) => changeItem(index, { length: e.target.value ? Number(e.target.value) : null })}
                    />
                    {show(at("length"))}
                  </td>
                  <td>
                    <select aria-label={cellLabel("form.itemSensitivity")} value={item.sensitivity ?? ""} onChange={(e) => changeItem(index, { sensitivity: e.target.value || null })}>
                      <option value="">{t("form.noSensitivity")}</option>
                      {options("sensitivity", SENSITIVITIES)}
                    </select>
                    {show(at("sensitivity"))}
                  </td>
                  <td>
                    <select aria-label={cellLabel("form.itemGrade")} value={gradeValue(item.grade)} aria-invalid={invalid(at("grade"))} onChange={(e) => changeItem(index, { grade: gradeOf(e.target.value) })}>
                      <option value="">{t("form.ungraded")}</option>
                      {GRADES.map((grade) => (
                        <option key={grade} value={grade}>
                          {gradeLabel(gradeOf(grade), language)}
                        </option>
                      ))}
                    </select>
                    {show(at("grade"))}
                  </td>
                  <td>
                    <button type="button" className="link" aria-label={cellLabel("form.removeItem")} onClick={() => change({ items: form.items.filter((_, i) => i !== index) })}>
                      {t("form.removeItem")}
                    </button>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
        <button type="button" onClick={() => change({ items: [...form.items, blankItem()] })}>
          {t("form.addItem")}
        </button>
      </fieldset>

      {placed.has("other") ? (
        <section aria-label={t("form.otherFindings")}>
          <h2>{t("form.otherFindings")}</h2>
          {show("other")}
        </section>
      ) : null}
      <p className="check-summary" role="status" aria-live="polite">
        {checking
          ? t("form.checking")
          : edited && !checkFailure
            ? findings.length === 0
              ? t("form.checkPassed")
              : t("form.checkSummary", { errors, warnings: findings.length - errors })
            : null}
      </p>
      {checkFailure ? <ErrorNotice error={checkFailure} /> : null}
      {saveError && refusal.length === 0 ? <ErrorNotice error={saveError} /> : null}
      <div className="actions">
        <button type="submit" className="primary" disabled={busy}>
          {t("form.save")}
        </button>
        <Link href="/provide">{t("common.cancel")}</Link>
      </div>
    </form>
  );
}

function Field({ label, after, children }: { label: string; after: ReactNode; children: ReactNode }) {
  return (
    <div className="field">
      <label>
        {label}
        {children}
      </label>
      {after}
    </div>
  );
}

function FindingList({ place, findings }: { place: string; findings?: Finding[] }) {
  const { t } = useT();
  if (!findings?.length) return null;
  return (
    <ul className="findings" data-field={place}>
      {findings.map((finding, index) => (
        <li key={index} className={finding.severity}>
          {place === "other" ? <code>{finding.field}</code> : null} {finding.message}
          {finding.related_code ? (
            <>
              {" "}
              {t("form.duplicateOf")}
              <Link href={`/catalog/${codePath(finding.related_code)}`}>{finding.related_code}</Link>
            </>
          ) : null}
        </li>
      ))}
    </ul>
  );
}
