// The node's REST API (/api/v1). Sessions are a cookie set at login; every
// state-changing request also carries the CSRF token that login returned.

export interface ApiErrorBody {
  code: string;
  message: string;
  field?: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: ApiErrorBody,
  ) {
    super(body.message);
  }
  /** The request field this error concerns, if the server named one. */
  get field(): string | undefined {
    return this.body.field;
  }
}

/** The CSRF token login set as a cookie readable by scripts (not the session). */
export function csrfToken(): string | undefined {
  return document.cookie
    .split("; ")
    .find((pair) => pair.startsWith("govdata_csrf="))
    ?.slice("govdata_csrf=".length);
}

export type Query = Record<string, string | number | boolean | undefined | null | string[]>;

export function withQuery(path: string, query?: Query): string {
  if (!query) return path;
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined || value === null || value === "") continue;
    if (Array.isArray(value)) value.forEach((v) => params.append(key, v));
    else params.set(key, String(value));
  }
  const text = params.toString();
  return text ? `${path}?${text}` : path;
}

/** Dispatched on `window` whenever the node answers 401. */
export const SESSION_ENDED = "govdata:session-ended";

export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: "application/json" };
  if (body !== undefined) headers["content-type"] = "application/json";
  const csrf = csrfToken();
  if (method !== "GET" && csrf) headers["x-csrf-token"] = csrf;
  const response = await fetch(`/api/v1${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "same-origin",
  });
  const text = await response.text();
  const parsed = text && response.headers.get("content-type")?.includes("json") ? JSON.parse(text) : undefined;
  if (!response.ok) throw refusal(response.status, response.statusText, parsed);
  return parsed as T;
}

/** The error for a non-2xx answer; a 401 also ends the session in the page. */
export function refusal(status: number, statusText: string, body: { code?: string; message?: string; field?: string } | undefined): ApiError {
  if (status === 401) window.dispatchEvent(new Event(SESSION_ENDED));
  return new ApiError(status, {
    code: body?.code ?? String(status),
    message: body?.message ?? statusText,
    field: body?.field,
  });
}

export const get = <T>(path: string, query?: Query) => api<T>("GET", withQuery(path, query));
export const post = <T>(path: string, body?: unknown) => api<T>("POST", path, body ?? {});
export const del = <T>(path: string) => api<T>("DELETE", path);

/** Resource codes hold a "/", which must travel encoded inside a path. */
export const codePath = (code: string) => encodeURIComponent(code);

/** The tree size a C2SP checkpoint note signs (this node's, or as its parent cosigned it): its second line. */
export const checkpointSize = (note: string) => Number(note.split("\n")[1]);
