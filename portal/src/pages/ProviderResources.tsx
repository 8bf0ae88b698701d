// The data resources (数据资源) of one of the department's entries: register
// an upload resource with every item mapped to a column (or marked absent
// with a reason), upload a file, watch the load job to its end with the rows
// it rejected, then preview and profile what was written.

import { useEffect, useState, type FormEvent } from "react";
import { Link } from "wouter";
import { ApiError, codePath, get, post } from "../api";
import { Async, ErrorNotice, FieldMessage, fieldError, useLoad } from "../components/Async";
import { useT, type MessageKey } from "../i18n";
import type { CatalogEntry, EntryView } from "../types";
import { sendFile, UploadProgress } from "./ProviderUpload";
import "../provider.css";

const POLL_MS = 1000;
const PREVIEW_ROWS = 20;
const FILE_KINDS = ["csv", "xlsx", "json", "ndjson", "parquet"];
const ENCODINGS = ["utf-8", "gbk", ""];
const WRITE_MODES = ["full", "append", "upsert"];
const ENTITY_KINDS = ["person", "enterprise"];
const FINISHED = ["succeeded", "failed"];

interface ColumnMapping {
  item: string;
  column: string | null;
  absent_reason?: string | null;
}

interface ResourceSpec {
  name: string;
  access:
    | { kind: "physical"; source: Record<string, { format?: { kind: string } }>; mode: { kind: string; key?: string[] }; schedule?: string | null }
    | { kind: "logical" };
  mapping: ColumnMapping[];
  entity_key?: { item: string; kind: string } | null;
}

interface RejectedRow {
  row: number;
  column: string | null;
  reason: string;
}

interface JobRecord {
  id: string;
  status: "queued" | "running" | "succeeded" | "failed";
  created_at: string;
  finished_at: string | null;
  rows_read: number;
  rows_written: number;
  rows_rejected: number;
  reject_sample: RejectedRow[] | null;
  error: string | null;
  table_version: number | null;
}

interface ResourceView {
  id: string;
  spec: ResourceSpec;
  last_job: JobRecord | null;
}

interface Preview {
  columns: string[];
  rows: Record<string, unknown>[];
}

interface Profile {
  rows: number;
  columns: { name: string; data_type: string; nulls: number; distinct: number | null; min: unknown; max: unknown }[];
}

/** The version whose items resources map: the published one if any, else the latest. */
async function mappedVersion(code: string): Promise<CatalogEntry> {
  const view = await get<EntryView>(`/catalog/entries/${codePath(code)}`);
  const published = view.versions.find((version) => version.status === "published");
  if (!published || published.version === view.entry.version) return view.entry;
  return (await get<EntryView>(`/catalog/entries/${codePath(code)}`, { version: published.version })).entry;
}

const cell = (value: unknown) => (value === null || value === undefined ? "" : typeof value === "object" ? JSON.stringify(value) : String(value));

export function ProviderResources({ code }: { code: string }) {
  const { t, label } = useT();
  const entry = useLoad(() => mappedVersion(code), [code]);
  const resources = useLoad(() => get<ResourceView[]>("/resources", { entry_code: code }), [code]);
  const [registering, setRegistering] = useState(false);
  const [notice, setNotice] = useState<string>();
  return (
    <section className="provider-resources provider-page">
      <p>
        <Link href="/provide">{t("res.back")}</Link>
      </p>
      <Async loaded={entry}>
        {(mapped) => (
          <>
            <h1>{t("res.title", { name: mapped.metadata.name })}</h1>
            <p className="meta">
              <span className="code">{mapped.code}</span>
              <span>{t("res.itemsFrom", { version: mapped.version, status: label(mapped.status) })}</span>
            </p>
            {notice ? (
              <p className="notice" role="status">
                {notice}
              </p>
            ) : null}
            <Async loaded={resources}>
              {(list) =>
                list.length === 0 ? (
                  <p className="empty">{t("res.none")}</p>
                ) : (
                  <ul className="resources">
                    {list.map((resource) => (
                      <ResourcePanel key={resource.id} resource={resource} />
                    ))}
                  </ul>
                )
              }
            </Async>
            {registering ? (
              <RegisterUpload
                entry={mapped}
                onCancel={() => setRegistering(false)}
                onDone={(view) => {
                  setRegistering(false);
                  setNotice(t("res.registered", { name: view.spec.name }));
                  resources.reload();
                }}
              />
            ) : (
              <button type="button" className="primary" onClick={() => setRegistering(true)}>
                {t("res.register")}
              </button>
            )}
          </>
        )}
      </Async>
    </section>
  );
}

function ResourcePanel({ resource }: { resource: ResourceView }) {
  const { t } = useT();
  const { spec } = resource;
  const source = spec.access.kind === "physical" ? spec.access.source : undefined;
  const uploadFormat = source?.upload?.format?.kind;
  const [job, setJob] = useState(resource.last_job);
  const [file, setFile] = useState<File>();
  const [progress, setProgress] = useState<number>();
  const [error, setError] = useState<Error>();
  const [view, setView] = useState<"preview" | "profile">();

  useEffect(() => {
    if (!job || FINISHED.includes(job.status)) return;
    const timer = setTimeout(() => {
      get<JobRecord[]>(`/resources/${resource.id}/jobs`, { limit: 1 }).then(
        ([latest]) => setJob(latest ?? job),
        (failure: Error) => setError(failure),
      );
    }, POLL_MS);
    return () => clearTimeout(timer);
  }, [job, resource.id]);

  const upload = async (event: FormEvent) => {
    event.preventDefault();
    if (!file) return;
    setError(undefined);
    setView(undefined);
    setProgress(0);
    try {
      setJob(await sendFile<JobRecord>(`/resources/${resource.id}/jobs`, file, { onProgress: setProgress }));
    } catch (failure) {
      setError(failure as Error);
    } finally {
      setProgress(undefined);
    }
  };

  const sourceLabel =
    spec.access.kind === "logical"
      ? t("res.source.logical")
      : uploadFormat
        ? t("res.source.upload", { format: uploadFormat })
        : t(source?.database ? "res.source.database" : "res.source.http");
  const mode = spec.access.kind === "physical" ? spec.access.mode.kind : undefined;

  return (
    <li className="panel" data-resource={resource.id}>
      <h2>{spec.name}</h2>
      <p className="meta">
        <span>{t("res.source", { source: sourceLabel })}</span>
        {mode ? <span>{t(`res.mode.${mode}` as MessageKey)}</span> : null}
      </p>
      {uploadFormat ? (
        <form className="upload row" onSubmit={upload}>
          <label>
            {t("res.file")}
            <input type="file" onChange={(e) => setFile(e.target.files?.[0])} />
          </label>
          <button type="submit" className="primary" disabled={!file || progress !== undefined}>
            {t("res.send")}
          </button>
        </form>
      ) : null}
      {progress !== undefined ? <UploadProgress share={progress} /> : null}
      {error ? <ErrorNotice error={error} /> : null}
      {job ? <JobSummary job={job} /> : <p className="hint">{t("res.noJob")}</p>}
      <div className="actions">
        <button type="button" aria-pressed={view === "preview"} onClick={() => setView(view === "preview" ? undefined : "preview")}>
          {t("res.preview")}
        </button>
        <button type="button" aria-pressed={view === "profile"} onClick={() => setView(view === "profile" ? undefined : "profile")}>
          {t("res.profile")}
        </button>
      </div>
      {view === "preview" ? <PreviewTable resourceId={resource.id} version={job?.table_version} /> : null}
      {view === "profile" ? <ProfileTable resourceId={resource.id} version={job?.table_version} /> : null}
    </li>
  );
}

function JobSummary({ job }: { job: JobRecord }) {
  const { t, language } = useT();
  const sample = Array.isArray(job.reject_sample) ? job.reject_sample : [];
  return (
    <div className={`job job-${job.status}`} role="status" aria-live="polite">
      <p className="meta">
        <strong>{t("job.title")}</strong>
        <span className="tag job-status">{t(`job.${job.status}`)}</span>
        <span>{new Date(job.finished_at ?? job.created_at).toLocaleString(language === "zh" ? "zh-CN" : "en")}</span>
        {job.status !== "queued" ? (
          <>
            <span>{t("job.read", { count: job.rows_read })}</span>
            <span>{t("job.written", { count: job.rows_written })}</span>
            <span className={job.rows_rejected ? "rejected" : undefined}>{t("job.rejected", { count: job.rows_rejected })}</span>
          </>
        ) : null}
        {job.table_version !== null ? <span>{t("job.version", { version: job.table_version })}</span> : null}
      </p>
      {job.error ? <p className="field-error">{job.error}</p> : null}
      {sample.length ? (
        <table className="reject-sample">
          <caption>{t("job.rejectSample")}</caption>
          <thead>
            <tr>
              <th scope="col">{t("job.row")}</th>
              <th scope="col">{t("job.column")}</th>
              <th scope="col">{t("job.reason")}</th>
            </tr>
          </thead>
          <tbody>
            {sample.map((rejected, index) => (
              <tr key={index}>
                <td>{rejected.row}</td>
                <td>{rejected.column ?? "—"}</td>
                <td>{rejected.reason}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </div>
  );
}

function PreviewTable({ resourceId, version }: { resourceId: string; version?: number | null }) {
  const preview = useLoad(() => get<Preview>(`/resources/${resourceId}/preview`, { limit: PREVIEW_ROWS }), [resourceId, version]);
  return (
    <Async loaded={preview} empty={(data) => data.rows.length === 0}>
      {(data) => (
        <div className="scroll">
          <table className="preview">
            <thead>
              <tr>
                {data.columns.map((column) => (
                  <th key={column} scope="col">
                    {column}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {data.rows.map((row, index) => (
                <tr key={index}>
                  {data.columns.map((column) => (
                    <td key={column}>{cell(row[column])}</td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Async>
  );
}

function ProfileTable({ resourceId, version }: { resourceId: string; version?: number | null }) {
  const { t } = useT();
  const profile = useLoad(() => get<Profile>(`/resources/${resourceId}/profile`), [resourceId, version]);
  return (
    <Async loaded={profile}>
      {(data) => (
        <table className="profile">
          <caption>{t("res.rows", { rows: data.rows })}</caption>
          <thead>
            <tr>
              <th scope="col">{t("res.profileColumn")}</th>
              <th scope="col">{t("res.dataType")}</th>
              <th scope="col">{t("res.nulls")}</th>
              <th scope="col">{t("res.distinct")}</th>
              <th scope="col">{t("res.min")}</th>
              <th scope="col">{t("res.max")}</th>
            </tr>
          </thead>
          <tbody>
            {data.columns.map((column) => (
              <tr key={column.name}>
                <th scope="row">{column.name}</th>
                <td>{column.data_type}</td>
                <td>{column.nulls}</td>
                <td>{cell(column.distinct)}</td>
                <td>{cell(column.min)}</td>
                <td>{cell(column.max)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Async>
  );
}

interface MappingRow {
  item: string;
  column: string;
  absent: boolean;
  reason: string;
}

function RegisterUpload({ entry, onDone, onCancel }: { entry: CatalogEntry; onDone: (view: ResourceView) => void; onCancel: () => void }) {
  const { t } = useT();
  const items = entry.metadata.items;
  const [name, setName] = useState(entry.metadata.name);
  const [fileKind, setFileKind] = useState("csv");
  const [encoding, setEncoding] = useState("utf-8");
  const [header, setHeader] = useState(true);
  const [delimiter, setDelimiter] = useState(",");
  const [mode, setMode] = useState("full");
  const [key, setKey] = useState<string[]>([]);
  const [entityItem, setEntityItem] = useState("");
  const [entityKind, setEntityKind] = useState("person");
  const [mapping, setMapping] = useState<MappingRow[]>(() =>
    items.map((item) => ({ item: item.name, column: item.name, absent: false, reason: "" })),
  );
  const [error, setError] = useState<Error>();
  const [busy, setBusy] = useState(false);

  const format =
    fileKind === "csv" ? { kind: "csv", header, delimiter, ...(encoding ? { encoding } : {}) } : { kind: fileKind };
  const spec: ResourceSpec = {
    name: name.trim(),
    access: {
      kind: "physical",
      source: { upload: { format } },
      mode: mode === "upsert" ? { kind: "upsert", key } : { kind: mode },
      schedule: null,
    },
    mapping: mapping.map((row) =>
      row.absent ? { item: row.item, column: null, absent_reason: row.reason.trim() } : { item: row.item, column: row.column.trim() },
    ),
    entity_key: entityItem ? { item: entityItem, kind: entityKind } : null,
  };

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      onDone(await post<ResourceView>(`/catalog/entries/${codePath(entry.code)}/resources`, spec));
    } catch (failure) {
      setError(failure as Error);
    } finally {
      setBusy(false);
    }
  };
  const changeRow = (index: number, patch: Partial<MappingRow>) =>
    setMapping(mapping.map((row, i) => (i === index ? { ...row, ...patch } : row)));
  const field = error instanceof ApiError ? error.field : undefined;
  const placed = ["name", "access", "entity_key"].some((place) => fieldError(error, place)) || Boolean(field?.startsWith("mapping["));

  return (
    <form className="panel register-resource" onSubmit={submit} noValidate>
      <h2>{t("res.register")}</h2>
      <label>
        {t("res.name")}
        <input value={name} onChange={(e) => setName(e.target.value)} />
      </label>
      <FieldMessage error={error} field="name" />
      <div className="row">
        <label>
          {t("res.fileFormat")}
          <select value={fileKind} onChange={(e) => setFileKind(e.target.value)}>
            {FILE_KINDS.map((kind) => (
              <option key={kind} value={kind}>
                {kind}
              </option>
            ))}
          </select>
        </label>
        {fileKind === "csv" ? (
          <>
            <label>
              {t("res.encoding")}
              <select value={encoding} onChange={(e) => setEncoding(e.target.value)}>
                {ENCODINGS.map((value) => (
                  <option key={value} value={value}>
                    {value || t("res.encodingAuto")}
                  </option>
                ))}
              </select>
            </label>
            <label>
              {t("res.delimiter")}
              <input value={delimiter} maxLength={1} onChange={(e) => setDelimiter(e.target.value)} />
            </label>
            <label className="check">
              <input type="checkbox" checked={header} onChange={(e) => setHeader(e.target.checked)} />
              {t("res.header")}
            </label>
          </>
        ) : null}
      </div>
      <div className="row">
        <label>
          {t("res.mode")}
          <select value={mode} onChange={(e) => setMode(e.target.value)}>
            {WRITE_MODES.map((value) => (
              <option key={value} value={value}>
                {t(`res.mode.${value}` as MessageKey)}
              </option>
            ))}
          </select>
        </label>
        <label>
          {t("res.entityKey")}
          <select value={entityItem} onChange={(e) => setEntityItem(e.target.value)}>
            <option value="">{t("res.entityNone")}</option>
            {items
              .filter((item) => item.type_code === "C")
              .map((item) => (
                <option key={item.name} value={item.name}>
                  {item.name}
                </option>
              ))}
          </select>
        </label>
        {entityItem ? (
          <label>
            {t("res.entityKind")}
            <select value={entityKind} onChange={(e) => setEntityKind(e.target.value)}>
              {ENTITY_KINDS.map((kind) => (
                <option key={kind} value={kind}>
                  {t(`res.entity.${kind}` as MessageKey)}
                </option>
              ))}
            </select>
          </label>
        ) : null}
      </div>
      {mode === "upsert" ? (
        <div role="group" aria-label={t("res.key")} className="choices">
          <span>{t("res.key")}</span>
          {items.map((item) => (
            <label key={item.name} className="check">
              <input
                type="checkbox"
                checked={key.includes(item.name)}
                onChange={(e) => setKey(e.target.checked ? [...key, item.name] : key.filter((k) => k !== item.name))}
              />
              {item.name}
            </label>
          ))}
        </div>
      ) : null}
      <FieldMessage error={error} field="access" />
      <FieldMessage error={error} field="entity_key" />
      <table className="mapping">
        <caption>{t("res.mapping")}</caption>
        <thead>
          <tr>
            <th scope="col">{t("form.itemName")}</th>
            <th scope="col">{t("res.column")}</th>
            <th scope="col">{t("res.absent")}</th>
            <th scope="col">{t("res.absentReason")}</th>
          </tr>
        </thead>
        <tbody>
          {mapping.map((row, index) => (
            <tr key={row.item}>
              <th scope="row">{row.item}</th>
              <td>
                <input
                  aria-label={`${t("res.column")} ${row.item}`}
                  value={row.column}
                  disabled={row.absent}
                  onChange={(e) => changeRow(index, { column: e.target.value })}
                />
                <FieldMessage error={error} field={`mapping[${index}]`} />
              </td>
              <td>
                <input
                  type="checkbox"
                  aria-label={`${t("res.absent")} ${row.item}`}
                  checked={row.absent}
                  onChange={(e) => changeRow(index, { absent: e.target.checked })}
                />
              </td>
              <td>
                {row.absent ? (
                  <input aria-label={`${t("res.absentReason")} ${row.item}`} value={row.reason} onChange={(e) => changeRow(index, { reason: e.target.value })} />
                ) : null}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {error && !placed ? <ErrorNotice error={error} /> : null}
      <div className="actions">
        <button type="submit" className="primary" disabled={busy}>
          {t("res.register")}
        </button>
        <button type="button" onClick={onCancel}>
          {t("common.cancel")}
        </button>
      </div>
    </form>
  );
}
