// Sending a file as the raw request body (uploads for resource jobs, catalog
// imports), with the upload's progress. XMLHttpRequest because fetch reports
// no upload progress; the CSRF token travels as api.ts sends it.

import { useT } from "../i18n";
import { csrfToken, refusal } from "../api";

interface SendOptions {
  /** Share of the body sent so far, 0–1. */
  onProgress?: (share: number) => void;
  /** Non-2xx answers whose body is a result, not an error (an import's 422 report). */
  isResult?: (status: number, body: unknown) => boolean;
}

/** POSTs `file` as application/octet-stream to `/api/v1${path}`. */
export function sendFile<T>(path: string, file: Blob, { onProgress, isResult }: SendOptions = {}): Promise<T> {
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open("POST", `/api/v1${path}`);
    request.setRequestHeader("content-type", "application/octet-stream");
    request.setRequestHeader("accept", "application/json");
    const csrf = csrfToken();
    if (csrf) request.setRequestHeader("x-csrf-token", csrf);
    if (onProgress) {
      request.upload.onprogress = (event) => event.lengthComputable && onProgress(event.loaded / event.total);
      request.upload.onload = () => onProgress(1);
    }
    request.onerror = () => reject(new Error("the upload was interrupted (network error)"));
    request.onload = () => {
      const json = request.getResponseHeader("content-type")?.includes("json") && request.responseText;
      const body = json ? JSON.parse(request.responseText) : undefined;
      const ok = request.status >= 200 && request.status < 300;
      if (ok || isResult?.(request.status, body)) {
        resolve(body as T);
        return;
      }
      reject(refusal(request.status, request.statusText, body));
    };
    request.send(file);
  });
}

export function UploadProgress({ share }: { share: number }) {
  const { t } = useT();
  const percent = Math.round(share * 100);
  return (
    <p className="upload-progress" role="status">
      <progress max={100} value={percent} />
      {t("res.uploading", { percent })}
    </p>
  );
}
