// Catalog search: Chinese queries (jieba on the server), facets that combine
// (OR within a facet, AND across), highlights, relevance or recency, paging.
// The whole state is in the address, so a search can be linked and reloaded.

import { useEffect, useState, type FormEvent } from "react";
import { Link, useLocation, useSearch } from "wouter";
import { get } from "../api";
import { Async, useLoad } from "../components/Async";
import { gradeLabel, useT, type MessageKey } from "../i18n";
import { useSession } from "../session";
import type { SearchResult } from "../types";
import { entryPath } from "./Federation";

const FACETS = ["provider", "class", "share_type", "open_type", "grade", "update_cycle", "format_class", "region", "node", "status"];
const PAGE_SIZE = 20;

export function Search() {
  const { t, label, language, facetValue } = useT();
  const { node } = useSession();
  const search = useSearch();
  const [, navigate] = useLocation();
  const params = new URLSearchParams(search);
  const q = params.get("q") ?? "";
  const page = Math.max(1, Number(params.get("page") ?? 1) || 1);
  const sort = params.get("sort") === "recent" ? "recent" : "relevance";
  const [text, setText] = useState(q);
  // Back and forward change the address: the box shows the query of the results.
  useEffect(() => setText(q), [q]);

  const go = (change: Record<string, string | null>) => {
    const next = new URLSearchParams(search);
    for (const [key, value] of Object.entries(change)) {
      if (value === null || value === "") next.delete(key);
      else next.set(key, value);
    }
    if (!("page" in change)) next.delete("page");
    navigate(`/catalog?${next.toString()}`);
  };

  const filters = Object.fromEntries(FACETS.map((facet) => [facet, params.get(facet) ?? undefined]));
  const result = useLoad(
    () => get<SearchResult>("/catalog/search", { q, page, size: PAGE_SIZE, sort, ...filters }),
    [search],
  );

  const submit = (event: FormEvent) => {
    event.preventDefault();
    go({ q: text.trim() });
  };

  const toggle = (facet: string, value: string) => {
    const chosen = new Set((params.get(facet) ?? "").split(",").filter(Boolean));
    if (chosen.has(value)) chosen.delete(value);
    else chosen.add(value);
    go({ [facet]: [...chosen].join(",") });
  };

  return (
    <section className="search">
      <h1>{t("nav.catalog")}</h1>
      <form role="search" onSubmit={submit} className="search-form">
        <label className="visually-hidden" htmlFor="q">
          {t("search.label")}
        </label>
        <input id="q" name="q" type="search" value={text} placeholder={t("search.placeholder")} onChange={(e) => setText(e.target.value)} />
        <button type="submit">{t("search.submit")}</button>
      </form>
      <Async loaded={result}>
        {(data) => (
          <div className="search-layout">
            <aside aria-label={t("search.filters")}>
              {FACETS.filter((facet) => (data.facets[facet]?.length ?? 0) > 0).map((facet) => {
                const chosen = new Set((params.get(facet) ?? "").split(",").filter(Boolean));
                return (
                  <fieldset key={facet} className="facet">
                    <legend>{t(`facet.${facet}` as MessageKey)}</legend>
                    {data.facets[facet].slice(0, 12).map((value) => {
                      return (
                        <label key={value.value} className="check">
                          <input type="checkbox" checked={chosen.has(value.value)} onChange={() => toggle(facet, value.value)} />
                          <span>{facetValue(facet, value.value, value.label)}</span>
                          <span className="count">{value.count}</span>
                        </label>
                      );
                    })}
                  </fieldset>
                );
              })}
              {FACETS.some((facet) => params.get(facet)) ? (
                <button type="button" className="link" onClick={() => go(Object.fromEntries(FACETS.map((f) => [f, null])))}>
                  {t("search.clear")}
                </button>
              ) : null}
            </aside>
            <div className="results">
              <div className="results-bar">
                <span role="status">{t("search.total", { total: data.total.toLocaleString() })}</span>
                <label>
                  {t("search.sort")}
                  <select value={sort} onChange={(e) => go({ sort: e.target.value === "recent" ? "recent" : null })}>
                    <option value="relevance">{t("search.relevance")}</option>
                    <option value="recent">{t("search.recent")}</option>
                  </select>
                </label>
              </div>
              {data.items.length === 0 ? <p className="empty">{t("search.none")}</p> : null}
              <ol className="hits">
                {data.items.map((hit) => {
                  // Entries of descendant nodes are held here too; they open as that node's entry.
                  const foreign = node !== null && hit.node_id !== node.id;
                  return (
                    <li key={`${hit.node_id}/${hit.code}`} className="hit" data-node={hit.node_id}>
                      <h2>
                        <Link href={entryPath(hit.code, foreign ? hit.node_id : undefined)}>
                          <Highlighted html={hit.highlights.name} text={hit.name} />
                        </Link>
                      </h2>
                      <p className="meta">
                        <span>{hit.code}</span>
                        <span>{hit.provider_name}</span>
                        {foreign ? <span className="tag">{t("federation.from", { name: hit.node_name })}</span> : null}
                        <span className="tag">{label(hit.share_type)}</span>
                        <span className="tag">{gradeLabel(hit.grade, language)}</span>
                        {hit.status !== "published" ? <span className="tag warn">{label(hit.status)}</span> : null}
                      </p>
                      <p className="summary">
                        <Highlighted html={hit.highlights.summary} text={hit.summary} />
                      </p>
                      {hit.highlights.items ? (
                        <p className="matched-items">
                          {t("common.items")}：<Highlighted html={hit.highlights.items} text="" />
                        </p>
                      ) : null}
                    </li>
                  );
                })}
              </ol>
              <Pager page={page} pages={Math.max(1, Math.ceil(Math.min(data.total, 10000) / PAGE_SIZE))} onPage={(n) => go({ page: String(n) })} />
            </div>
          </div>
        )}
      </Async>
    </section>
  );
}

/** Server highlights are HTML-escaped text with <mark> around the matches. */
function Highlighted({ html, text }: { html?: string; text: string }) {
  return html ? <span dangerouslySetInnerHTML={{ __html: html }} /> : <>{text}</>;
}

export function Pager({ page, pages, onPage }: { page: number; pages: number; onPage: (page: number) => void }) {
  const { t } = useT();
  if (pages <= 1) return null;
  return (
    <nav className="pager" aria-label={t("common.pagination")}>
      <button type="button" disabled={page <= 1} onClick={() => onPage(page - 1)}>
        {t("common.previous")}
      </button>
      <span>{t("common.page", { page, pages })}</span>
      <button type="button" disabled={page >= pages} onClick={() => onPage(page + 1)}>
        {t("common.next")}
      </button>
    </nav>
  );
}
