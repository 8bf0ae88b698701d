// One catalog entry: its attributes, information items with grades, versions
// with a diff between any two, the review history, and "add to cart".

import { useState, type ReactNode } from "react";
import { Link } from "wouter";
import { codePath, get } from "../api";
import { Async, useLoad } from "../components/Async";
import { gradeLabel, useT, type MessageKey } from "../i18n";
import { DepartmentName, cartEntryKey, useSession, type CartEntry } from "../session";
import type { CatalogEntry, EntryDiff, EntryDraft, EntryView } from "../types";

export function EntryPage({ code }: { code: string }) {
  const { me, ready } = useSession();
  const { t } = useT();
  const [version, setVersion] = useState<number>();
  const view = useLoad(
    () => get<EntryView>(`/catalog/entries/${codePath(code)}`, { version }),
    [code, version, me?.actor],
  );
  if (!ready) return <p className="loading">{t("common.loading")}</p>;
  if (!me)
    return (
      <section className="panel">
        <p>{t("login.needed")}</p>
        <Link href="/login">{t("nav.login")}</Link>
      </section>
    );
  return <Async loaded={view}>{(data) => <EntryDetail view={data} onVersion={setVersion} />}</Async>;
}

function EntryDetail({ view, onVersion }: { view: EntryView; onVersion: (version: number) => void }) {
  const { entry } = view;
  return (
    <article className="entry">
      <EntryHeader entry={entry} />
      <CartButton entry={entry} />
      <EntryMetadata entry={entry} provider={<DepartmentName id={entry.metadata.provider.department_id} />} />
      <Versions view={view} onVersion={onVersion} />
    </article>
  );
}

/** An entry's name over its code, version, status and grade. */
export function EntryHeader({ entry }: { entry: CatalogEntry }) {
  const { t, label, language } = useT();
  return (
    <header>
      <h1>{entry.metadata.name}</h1>
      <p className="meta">
        <span>
          {t("entry.code")} {entry.code}
        </span>
        <span>
          {t("entry.version")} {entry.version}
        </span>
        <span className="tag">{label(entry.status)}</span>
        <span className="tag">{gradeLabel(entry.grade, language)}</span>
      </p>
    </header>
  );
}

/** One version's attributes and information items; `provider` names the providing department. */
export function EntryMetadata({ entry, provider }: { entry: CatalogEntry; provider: ReactNode }) {
  const { t, label, language } = useT();
  const meta = entry.metadata;
  return (
    <>
      <dl className="attributes">
        <dt>{t("entry.summary")}</dt>
        <dd>{meta.summary}</dd>
        <dt>{t("common.provider")}</dt>
        <dd>{provider}</dd>
        <dt>{t("entry.keywords")}</dt>
        <dd>{meta.keywords.join("、") || "—"}</dd>
        <dt>{t("entry.format")}</dt>
        <dd>
          {t(`format.${meta.format_class}` as MessageKey)} / {meta.format_type}
        </dd>
        <dt>{t("entry.shareType")}</dt>
        <dd>{label(meta.share_type)}</dd>
        {meta.share_condition ? (
          <>
            <dt>{t("entry.shareCondition")}</dt>
            <dd>{meta.share_condition}</dd>
          </>
        ) : null}
        {meta.legal_basis ? (
          <>
            <dt>{t("entry.legalBasis")}</dt>
            <dd>{meta.legal_basis}</dd>
          </>
        ) : null}
        <dt>{t("entry.shareModes")}</dt>
        <dd>{meta.share_modes.map(label).join("、") || "—"}</dd>
        <dt>{t("entry.openType")}</dt>
        <dd>{label(`open.${meta.open_type}`)}</dd>
        <dt>{t("entry.updateCycle")}</dt>
        <dd>{label(meta.update_cycle)}</dd>
        <dt>{t("entry.published")}</dt>
        <dd>{entry.published_on ?? "—"}</dd>
      </dl>
      <h2>{t("entry.items")}</h2>
      <table>
        <thead>
          <tr>
            <th scope="col">{t("entry.itemName")}</th>
            <th scope="col">{t("entry.itemType")}</th>
            <th scope="col">{t("entry.itemLength")}</th>
            <th scope="col">{t("entry.grade")}</th>
            <th scope="col">{t("entry.itemSensitivity")}</th>
            <th scope="col">{t("entry.shareType")}</th>
          </tr>
        </thead>
        <tbody>
          {meta.items.map((item) => (
            <tr key={item.name}>
              <th scope="row">{item.name}</th>
              <td>{item.type_code}</td>
              <td>{item.length ?? "—"}</td>
              <td>{gradeLabel(item.grade, language)}</td>
              <td>{item.sensitivity ? t(`sensitivity.${item.sensitivity}` as MessageKey) : "—"}</td>
              <td>{label(item.share_type ?? meta.share_type)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

/** The items of an entry that may be asked for: all but those not shared. */
const shareableItems = (meta: EntryDraft) =>
  meta.items.filter((item) => (item.share_type ?? meta.share_type) !== "not_shared").map((item) => item.name);

/** "加入申请清单" for a consumer: this node's entry, or with `home` another node's, applied for at that node. */
export function CartButton({ entry, home }: { entry: CatalogEntry; home?: CartEntry["home"] }) {
  const { t } = useT();
  const { me, has, cart, setCart } = useSession();
  const meta = entry.metadata;
  if (!has("consumer") || entry.status !== "published") return null;
  if (meta.provider.department_id === me?.department_id) return <p className="hint">{t("entry.ownDepartment")}</p>;
  if (meta.share_type === "not_shared") return <p className="hint">{t("entry.notShared")}</p>;
  const shareable = shareableItems(meta);
  const key = cartEntryKey({ code: entry.code, home });
  if (cart.some((held) => cartEntryKey(held) === key)) return <p className="hint">{t("entry.inCart")}</p>;
  if (cart.length >= 20) return <p className="hint">{t("entry.cartFull")}</p>;
  return (
    <button
      type="button"
      className="primary"
      onClick={() =>
        setCart([...cart, { code: entry.code, name: meta.name, home, items: shareable, chosen: shareable, shareModes: meta.share_modes }])
      }
    >
      {t("entry.addToCart")}
    </button>
  );
}

function Versions({ view, onVersion }: { view: EntryView; onVersion: (version: number) => void }) {
  const { t, label } = useT();
  const numbers = view.versions.map((v) => v.version);
  const [from, setFrom] = useState(numbers[0]);
  const [to, setTo] = useState(numbers[numbers.length - 1]);
  return (
    <section>
      <h2>{t("entry.versions")}</h2>
      <ul className="versions">
        {view.versions.map((v) => (
          <li key={v.version}>
            <button type="button" className="link" onClick={() => onVersion(v.version)} aria-current={v.version === view.entry.version}>
              v{v.version}
            </button>{" "}
            {label(v.status)}
          </li>
        ))}
      </ul>
      {numbers.length > 1 ? (
        <div className="compare">
          <span>{t("entry.compare")}</span>
          <VersionSelect label={t("entry.compareFrom")} versions={numbers} value={from} onChange={setFrom} />
          <span aria-hidden="true">→</span>
          <VersionSelect label={t("entry.compareTo")} versions={numbers} value={to} onChange={setTo} />
          {from !== to ? <Diff code={view.entry.code} from={from} to={to} /> : null}
        </div>
      ) : null}
      <h2>{t("entry.history")}</h2>
      <ol className="timeline">
        {view.history.map((step, index) => (
          <li key={index}>
            <time>{step.at.slice(0, 19).replace("T", " ")}</time> v{step.version} {label(step.action)}
            {step.comment ? `：${step.comment}` : ""}
            {step.reasons?.map((reason) => (
              <div key={reason.field} className="reason">
                <code>{reason.field}</code> {reason.reason}
              </div>
            ))}
          </li>
        ))}
      </ol>
    </section>
  );
}

function VersionSelect(props: { label: string; versions: number[]; value: number; onChange: (version: number) => void }) {
  return (
    <label>
      {props.label}
      <select value={props.value} onChange={(e) => props.onChange(Number(e.target.value))}>
        {props.versions.map((n) => (
          <option key={n} value={n}>
            v{n}
          </option>
        ))}
      </select>
    </label>
  );
}

function Diff({ code, from, to }: { code: string; from: number; to: number }) {
  const { t } = useT();
  const diff = useLoad(() => get<EntryDiff>(`/catalog/entries/${codePath(code)}/diff`, { from, to }), [code, from, to]);
  const show = (value: unknown) => (value === null || value === undefined ? "—" : typeof value === "string" ? value : JSON.stringify(value));
  return (
    <Async loaded={diff}>
      {(data) =>
        data.fields.length + data.items.length === 0 ? (
          <p className="empty">{t("entry.diffNone")}</p>
        ) : (
          <table className="diff">
            <tbody>
              {data.fields.map((field) => (
                <tr key={field.field}>
                  <th scope="row">{field.field}</th>
                  <td className="old">{show(field.old)}</td>
                  <td className="new">{show(field.new)}</td>
                </tr>
              ))}
              {data.items.map((item) => (
                <tr key={`${item.change}-${item.name}`}>
                  <th scope="row">
                    {t("common.items")} {item.name}
                  </th>
                  <td colSpan={2} className={item.change}>
                    {item.change}
                    {item.fields?.map((field) => ` ${field.field}: ${show(field.old)} → ${show(field.new)}`).join("；")}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )
      }
    </Async>
  );
}
