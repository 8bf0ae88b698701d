// The ledger viewer: the current signed checkpoint and the node's verifier
// key, on a node with a parent also the parent's latest cosignature of the
// ledger, entries filtered by actor, kind and subject, and for each entry a
// download of the entry with its inclusion proof and checkpoint — the same
// bundle as `govdata ledger prove`, checkable by any RFC 9162 verifier.
// Every read here is itself a ledger entry.

import { useState, type FormEvent } from "react";
import { checkpointSize, get } from "../api";
import { Async, ErrorNotice, useLoad } from "../components/Async";
import { useT } from "../i18n";
import { useSession } from "../session";
import { ParentWitness } from "./Federation";

interface LedgerKeys {
  origin: string;
  hash: string;
  verifier_key: string;
}

interface LedgerEntry {
  index: number;
  leaf_hash: string;
  canonical: string;
  entry: { node: string; at: string; actor: string; kind: string; subject: string; payload_digest: string };
  payload: unknown;
}

interface EntryPage {
  from: number;
  to: number;
  next: number | null;
  entries: LedgerEntry[];
}

const PAGE = 50;

export function Audit() {
  const { t, time } = useT();
  const { node } = useSession();
  const keys = useLoad(() => get<LedgerKeys>("/ledger/key"), []);
  const checkpoint = useLoad(() => fetch("/api/v1/ledger/checkpoint").then((r) => r.text()), []);
  const [filters, setFilters] = useState({ actor: "", kind: "", subject: "" });
  const [applied, setApplied] = useState(filters);
  const [from, setFrom] = useState<number>();
  const filtered = Boolean(applied.actor || applied.kind || applied.subject);
  const entries = useLoad(async () => {
    if (filtered || from !== undefined) return get<EntryPage>("/ledger/entries", { ...applied, from: from ?? 0, limit: PAGE });
    // Unfiltered, the newest entries first come into view: find the size, then read the last page.
    const probe = await get<EntryPage>("/ledger/entries", { limit: 1 });
    return get<EntryPage>("/ledger/entries", { from: Math.max(0, probe.to - PAGE), limit: PAGE });
  }, [applied, from]);

  const submit = (event: FormEvent) => {
    event.preventDefault();
    setFrom(undefined);
    setApplied({ actor: filters.actor.trim(), kind: filters.kind.trim(), subject: filters.subject.trim() });
  };

  return (
    <section>
      <h1>{t("audit.title")}</h1>
      <div className="panel">
        <h2>{t("audit.checkpoint")}</h2>
        <Async loaded={checkpoint}>{(note) => <pre className="note">{note}</pre>}</Async>
        <Async loaded={keys}>
          {(key) => (
            <p className="meta">
              {t("audit.verifierKey")} <code>{key.verifier_key}</code> · {key.hash}
            </p>
          )}
        </Async>
        {node?.parent ? <ParentWitness /> : null}
      </div>
      <form className="row filters" onSubmit={submit}>
        {(["actor", "kind", "subject"] as const).map((name) => (
          <label key={name}>
            {t(`audit.${name}`)}
            <input name={name} value={filters[name]} onChange={(e) => setFilters({ ...filters, [name]: e.target.value })} />
          </label>
        ))}
        <button type="submit">{t("search.submit")}</button>
      </form>
      <Async loaded={entries} empty={(page) => page.entries.length === 0}>
        {(page) => (
          <>
            <table className="ledger">
              <thead>
                <tr>
                  <th scope="col">#</th>
                  <th scope="col">{t("audit.at")}</th>
                  <th scope="col">{t("audit.actor")}</th>
                  <th scope="col">{t("audit.kind")}</th>
                  <th scope="col">{t("audit.subject")}</th>
                  <th scope="col">{t("audit.proof")}</th>
                </tr>
              </thead>
              <tbody>
                {(filtered ? page.entries : [...page.entries].reverse()).map((entry) => (
                  <tr key={entry.index} data-index={entry.index}>
                    <td>{entry.index}</td>
                    <td>{time(entry.entry.at)}</td>
                    <td>{entry.entry.actor}</td>
                    <td>
                      <code>{entry.entry.kind}</code>
                    </td>
                    <td className="subject">{entry.entry.subject}</td>
                    <td>
                      <ProofDownload index={entry.index} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
            <nav className="pager" aria-label={t("common.pagination")}>
              {/* Filtered pages follow `next` forward only: 50 indices back is not 50 matches back. */}
              <button type="button" disabled={filtered || page.from === 0} onClick={() => setFrom(Math.max(0, page.from - PAGE))}>
                {t("audit.earlier")}
              </button>
              <button type="button" disabled={page.next === null} onClick={() => setFrom(page.next ?? undefined)}>
                {t("audit.later")}
              </button>
            </nav>
          </>
        )}
      </Async>
    </section>
  );
}

function ProofDownload({ index }: { index: number }) {
  const { t } = useT();
  const [error, setError] = useState<Error>();
  const download = async () => {
    setError(undefined);
    try {
      const [log, note] = await Promise.all([get<LedgerKeys>("/ledger/key"), fetch("/api/v1/ledger/checkpoint").then((r) => r.text())]);
      const size = checkpointSize(note);
      if (!(index < size)) throw new Error(t("audit.notYet"));
      const [entry, proof] = await Promise.all([
        get<LedgerEntry>(`/ledger/entries/${index}`),
        get<{ index: number; size: number; hashes: string[] }>("/ledger/proof/inclusion", { index, size }),
      ]);
      const bundle = { log, entry, inclusion_proof: proof, checkpoint: note };
      const link = document.createElement("a");
      link.href = URL.createObjectURL(new Blob([JSON.stringify(bundle, null, 2)], { type: "application/json" }));
      link.download = `ledger-entry-${index}.json`;
      link.click();
      setTimeout(() => URL.revokeObjectURL(link.href), 60_000);
    } catch (failure) {
      setError(failure as Error);
    }
  };
  return (
    <>
      <button type="button" className="link" onClick={download} aria-label={`${t("audit.download")} #${index}`}>
        {t("audit.download")}
      </button>
      {error ? <ErrorNotice error={error} /> : null}
    </>
  );
}
