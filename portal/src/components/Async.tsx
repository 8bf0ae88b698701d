// Loading, error and empty states for anything read from the API.

import { useCallback, useEffect, useState, type DependencyList, type ReactNode } from "react";
import { ApiError } from "../api";
import { useT } from "../i18n";

export interface Loaded<T> {
  data?: T;
  error?: Error;
  loading: boolean;
  reload: () => void;
}

export function useLoad<T>(load: () => Promise<T>, deps: DependencyList): Loaded<T> {
  const [state, setState] = useState<{ data?: T; error?: Error; loading: boolean }>({ loading: true });
  const [generation, setGeneration] = useState(0);
  useEffect(() => {
    let current = true;
    setState((previous) => ({ data: previous.data, loading: true }));
    load().then(
      (data) => current && setState({ data, loading: false }),
      (error: Error) => current && setState({ error, loading: false }),
    );
    return () => {
      current = false;
    };
  }, [...deps, generation]);
  const reload = useCallback(() => setGeneration((n) => n + 1), []);
  return { ...state, reload };
}

export function Async<T>({
  loaded,
  empty,
  children,
}: {
  loaded: Loaded<T>;
  empty?: (data: T) => boolean;
  children: (data: T) => ReactNode;
}) {
  const { t } = useT();
  if (loaded.error) return <ErrorNotice error={loaded.error} onRetry={loaded.reload} />;
  if (loaded.data === undefined)
    return (
      <p className="loading" role="status">
        {t("common.loading")}
      </p>
    );
  if (empty?.(loaded.data)) return <p className="empty">{t("common.empty")}</p>;
  return <>{children(loaded.data)}</>;
}

export function ErrorNotice({ error, onRetry }: { error: Error; onRetry?: () => void }) {
  const { t } = useT();
  return (
    <div className="notice error" role="alert">
      <strong>{t("common.error")}：</strong>
      {error.message}
      {error instanceof ApiError && error.field ? <code className="field-name">{error.field}</code> : null}
      {onRetry ? (
        <button type="button" className="link" onClick={onRetry}>
          {t("common.retry")}
        </button>
      ) : null}
    </div>
  );
}

/** The message of an API error that names `field` (or a field under it). */
export function fieldError(error: unknown, field: string): string | undefined {
  if (!(error instanceof ApiError) || !error.field) return undefined;
  return error.field === field || error.field.startsWith(`${field}.`) || error.field.startsWith(`${field}[`)
    ? error.message
    : undefined;
}

/**
 * The server's message under the control it concerns. `error` may also be
 * the refusals of several requests sent from one form (the cart's, one per
 * node): each different message about the field is shown once.
 */
export function FieldMessage({ error, field }: { error: unknown; field: string }) {
  const messages = new Set((Array.isArray(error) ? error : [error]).map((one) => fieldError(one, field)).filter((message) => message !== undefined));
  return messages.size ? (
    <p className="field-error" role="alert" data-field={field}>
      {[...messages].join(" ")}
    </p>
  ) : null;
}

/** Runs a request from a form, keeping its refusal for the fields to show. */
export function useAction() {
  const [error, setError] = useState<Error>();
  const [busy, setBusy] = useState(false);
  const run = async <T,>(send: () => Promise<T>, done: (result: T) => void) => {
    setBusy(true);
    setError(undefined);
    try {
      done(await send());
    } catch (failure) {
      setError(failure as Error);
    } finally {
      setBusy(false);
    }
  };
  return { error, busy, run };
}

/** A refusal that names none of the form's own fields is shown once, above the buttons. */
export function FormError({ error, fields }: { error: unknown; fields: string[] }) {
  if (!(error instanceof Error)) return null;
  const field = (error as { field?: string }).field;
  const shownAtField = field && fields.some((name) => field === name || field.startsWith(`${name}[`) || field.startsWith(`${name}.`));
  return shownAtField ? null : <ErrorNotice error={error} />;
}
