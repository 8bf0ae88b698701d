// Bulk import of catalog entries from the department's template (xlsx, CSV
// or JSON; docs/catalog-import.md): a dry run reports every problem by row
// and column, and only a clean file may then be imported — all or nothing.

import { useState, type FormEvent } from "react";
import { Link } from "wouter";
import { codePath, withQuery } from "../api";
import { ErrorNotice } from "../components/Async";
import { useT } from "../i18n";
import { useSession } from "../session";
import { sendFile, UploadProgress } from "./ProviderUpload";
import "../provider.css";

const FORMATS = ["xlsx", "csv", "json"];

interface ImportOutcome {
  imported: string[];
  skipped: string[];
  report: {
    rows_read: number;
    entries: number;
    errors: { row: number; column: string | null; reason: string }[];
  };
}

const formatOf = (file: File) => FORMATS.find((format) => file.name.toLowerCase().endsWith(`.${format}`));

/** An import's 422 carries its report, not an error body. */
const isReport = (status: number, body: unknown) => status === 422 && typeof body === "object" && body !== null && "report" in body;

export function ProviderImport() {
  const { t } = useT();
  const { me } = useSession();
  const [file, setFile] = useState<File>();
  const [format, setFormat] = useState("xlsx");
  const [outcome, setOutcome] = useState<{ dryRun: boolean; result: ImportOutcome }>();
  const [progress, setProgress] = useState<number>();
  const [error, setError] = useState<Error>();

  const send = async (dryRun: boolean, event?: FormEvent) => {
    event?.preventDefault();
    if (!file) return;
    setError(undefined);
    setOutcome(undefined);
    setProgress(0);
    try {
      const result = await sendFile<ImportOutcome>(withQuery("/catalog/import", { format, dry_run: dryRun }), file, {
        onProgress: setProgress,
        isResult: isReport,
      });
      setOutcome({ dryRun, result });
    } catch (failure) {
      setError(failure as Error);
    } finally {
      setProgress(undefined);
    }
  };

  const choose = (chosen?: File) => {
    setFile(chosen);
    setOutcome(undefined);
    const detected = chosen && formatOf(chosen);
    if (detected) setFormat(detected);
  };
  const clean = outcome?.dryRun && outcome.result.report.errors.length === 0;
  const exportUrl = `/api/v1${withQuery("/catalog/export", { format: "xlsx", department_id: me?.department_id })}`;

  return (
    <section className="provider-import provider-page">
      <p>
        <Link href="/provide">{t("res.back")}</Link>
      </p>
      <h1>{t("import.title")}</h1>
      <p className="hint">{t("import.help")}</p>
      <p>
        <a href={exportUrl} download>
          {t("import.template")}
        </a>
      </p>
      <form className="panel" onSubmit={(event) => send(true, event)}>
        <div className="row">
          <label>
            {t("import.file")}
            <input type="file" accept=".xlsx,.csv,.json" onChange={(e) => choose(e.target.files?.[0])} />
          </label>
          <label>
            {t("import.format")}
            <select value={format} onChange={(e) => setFormat(e.target.value)}>
              {FORMATS.map((value) => (
                <option key={value} value={value}>
                  {value}
                </option>
              ))}
            </select>
          </label>
        </div>
        <div className="actions">
          <button type="submit" disabled={!file || progress !== undefined}>
            {t("import.dryRun")}
          </button>
          <button type="button" className="primary" disabled={!clean || progress !== undefined} onClick={() => send(false)}>
            {t("import.run")}
          </button>
        </div>
      </form>
      {progress !== undefined ? <UploadProgress share={progress} /> : null}
      {error ? <ErrorNotice error={error} /> : null}
      {outcome ? <ImportReport {...outcome} /> : null}
    </section>
  );
}

function ImportReport({ dryRun, result }: { dryRun: boolean; result: ImportOutcome }) {
  const { t } = useT();
  const { report, imported, skipped } = result;
  return (
    <section className="panel import-report" aria-label={t("import.report")}>
      <h2>{t("import.report")}</h2>
      <p>{t("import.counts", { rows: report.rows_read, entries: report.entries })}</p>
      {report.errors.length ? (
        <>
          <p className="notice error" role="alert">
            {t("import.errors", { count: report.errors.length })}
          </p>
          <table className="import-errors">
            <thead>
              <tr>
                <th scope="col">{t("import.row")}</th>
                <th scope="col">{t("import.column")}</th>
                <th scope="col">{t("import.reason")}</th>
              </tr>
            </thead>
            <tbody>
              {report.errors.map((problem, index) => (
                <tr key={index}>
                  <td>{problem.row || "—"}</td>
                  <td>{problem.column ?? "—"}</td>
                  <td>{problem.reason}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      ) : dryRun ? (
        <p className="notice" role="status">
          {t("import.clean")}
        </p>
      ) : null}
      {imported.length ? <CodeList title={t("import.imported", { count: imported.length })} codes={imported} /> : null}
      {skipped.length ? <CodeList title={t("import.skipped", { count: skipped.length })} codes={skipped} /> : null}
    </section>
  );
}

function CodeList({ title, codes }: { title: string; codes: string[] }) {
  return (
    <div role="status">
      <p>{title}</p>
      <ul className="codes">
        {codes.map((code) => (
          <li key={code}>
            <Link href={`/provide/edit/${codePath(code)}`}>{code}</Link>
          </li>
        ))}
      </ul>
    </div>
  );
}
