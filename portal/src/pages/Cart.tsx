// 一站式申请: every entry in the cart — this node's and other nodes' — under
// one purpose, legal basis, duration and delivery. The entries are grouped
// by home node and each node gets one request: this node's entries go to
// /sharing/applications, another node's to /federation/applications, to be
// decided there. Each node takes its whole batch or none and names the field
// it refuses; the entries of the nodes that took theirs leave the cart.

import { useState, type FormEvent, type ReactNode } from "react";
import { Link } from "wouter";
import { post } from "../api";
import { FieldMessage, FormError, useAction } from "../components/Async";
import { APPLICATION_FIELDS, EntryFields, TermsFields, entryWanted, useApplicationTerms, type RowFilterDraft } from "../components/ApplicationForm";
import { useT } from "../i18n";
import { cartEntryKey, useSession, type CartEntry } from "../session";
import type { Application, RemoteApplicationView } from "../types";
import { entryPath } from "./Federation";

/** The cart's entries of one home node (none: this node), sent as one application. */
interface NodeGroup {
  home?: CartEntry["home"];
  entries: CartEntry[];
}

/** A group its node took, with the applications the node holds for it. */
interface NodeResult extends NodeGroup {
  applications: Application[];
}

const groupKey = (home?: CartEntry["home"]) => home?.id ?? "";

/** The cart by home node: this node's entries first, then each other node's in the order they were added. */
function byNode(cart: CartEntry[]): NodeGroup[] {
  const groups = new Map<string, NodeGroup>([["", { entries: [] }]]);
  for (const entry of cart) {
    const key = groupKey(entry.home);
    if (!groups.has(key)) groups.set(key, { home: entry.home, entries: [] });
    groups.get(key)!.entries.push(entry);
  }
  return [...groups.values()].filter((group) => group.entries.length > 0);
}

export function Cart() {
  const { t } = useT();
  const { cart, setCart } = useSession();
  const terms = useApplicationTerms(cart.map((entry) => entry.shareModes));
  const [filters, setFilters] = useState<Record<string, RowFilterDraft>>({});
  const [results, setResults] = useState<NodeResult[]>([]);
  /** Each node's refusal of the last submission, by group. */
  const [refusals, setRefusals] = useState(new Map<string, Error>());
  const { busy, run } = useAction();

  if (cart.length === 0 && results.length === 0)
    return (
      <section className="panel">
        <h1>{t("cart.title")}</h1>
        <p className="empty">{t("cart.empty")}</p>
        <Link href="/catalog">{t("nav.catalog")}</Link>
      </section>
    );

  const groups = byNode(cart);
  const update = (key: string, change: Partial<CartEntry>) =>
    setCart(cart.map((entry) => (cartEntryKey(entry) === key ? { ...entry, ...change } : entry)));

  /** One node's application: the index of an entry in it is the entry's place in its group. */
  const send = (group: NodeGroup): Promise<Application[]> => {
    const application = {
      entries: group.entries.map((entry) => entryWanted(entry.code, entry.chosen, filters[cartEntryKey(entry)])),
      ...terms.request,
    };
    return group.home
      ? post<RemoteApplicationView>("/federation/applications", { home_node: group.home.id, application }).then((view) => view.at_home)
      : post<Application[]>("/sharing/applications", application);
  };

  const submit = (event: FormEvent) => {
    event.preventDefault();
    void run(
      () => Promise.allSettled(groups.map(send)),
      (outcomes) => {
        const taken: NodeResult[] = [];
        const refused = new Map<string, Error>();
        outcomes.forEach((outcome, index) => {
          const group = groups[index];
          if (outcome.status === "fulfilled") taken.push({ ...group, applications: outcome.value });
          else refused.set(groupKey(group.home), outcome.reason as Error);
        });
        setResults([...results, ...taken]);
        setRefusals(refused);
        setCart(cart.filter((entry) => refused.has(groupKey(entry.home))));
      },
    );
  };

  return (
    <section>
      <h1>{t("cart.title")}</h1>
      {results.length > 0 ? <Submitted results={results} /> : null}
      {groups.length > 0 ? (
        <form onSubmit={submit} className="application-form" noValidate>
          {groups.map((group) => {
            const error = refusals.get(groupKey(group.home));
            return (
              <NodeSection key={groupKey(group.home)} home={group.home} className="cart-group">
                {group.home ? <p className="hint">{t("federation.applyHint", { name: group.home.name })}</p> : null}
                <FieldMessage error={error} field="entries" />
                {group.entries.map((entry, index) => (
                  <fieldset key={entry.code} className="cart-entry">
                    <legend>
                      <Link href={entryPath(entry.code, entry.home?.id)}>{entry.name}</Link> <span className="code">{entry.code}</span>
                    </legend>
                    <EntryFields
                      index={index}
                      items={entry.items}
                      chosen={entry.chosen}
                      onChosen={(chosen) => update(cartEntryKey(entry), { chosen })}
                      filter={filters[cartEntryKey(entry)]}
                      onFilter={(filter) => setFilters({ ...filters, [cartEntryKey(entry)]: filter })}
                      error={error}
                    />
                    <button type="button" className="link" onClick={() => setCart(cart.filter((other) => cartEntryKey(other) !== cartEntryKey(entry)))}>
                      {t("cart.remove")}
                    </button>
                  </fieldset>
                ))}
                <FormError error={error} fields={APPLICATION_FIELDS} />
              </NodeSection>
            );
          })}
          <TermsFields terms={terms} error={[...refusals.values()]} />
          <button type="submit" className="primary" disabled={busy}>
            {t("cart.submit")}
          </button>
        </form>
      ) : null}
    </section>
  );
}

/** What each node took: its applications, another node's under the ids it gave them. */
function Submitted({ results }: { results: NodeResult[] }) {
  const { t, label } = useT();
  return (
    <div className="panel">
      {results.map((result, index) => (
        <NodeSection key={index} home={result.home} className="cart-result">
          <p role="status">{t("cart.done", { count: result.applications.length })}</p>
          <ul>
            {result.applications.map((application) => (
              <li key={application.id} data-application={application.id}>
                <Link href={entryPath(application.entry_code, result.home?.id)}>
                  {result.entries.find((entry) => entry.code === application.entry_code)?.name ?? application.entry_code}
                </Link>{" "}
                <span className="tag">{label(application.status)}</span>
                {result.home ? (
                  <span>
                    {" "}
                    {t("federation.remoteId")} <code>{application.id}</code>
                  </span>
                ) : null}
              </li>
            ))}
          </ul>
        </NodeSection>
      ))}
      <Link href="/applications">{t("nav.applications")}</Link>
    </div>
  );
}

/** The part of the cart, or of its results, for one node: headed 本节点 or by the other node's name. */
function NodeSection({ home, className, children }: { home?: CartEntry["home"]; className: string; children: ReactNode }) {
  const { t } = useT();
  const { node } = useSession();
  return (
    <section className={className} data-node={home?.id ?? node?.id}>
      <h2>{home?.name ?? t("cart.thisNode")}</h2>
      {children}
    </section>
  );
}
