// Tiny JSON client for the Downbeat API: cookies for auth, CSRF header for unsafe methods,
// one transparent token refresh on "token-expired", problem+json errors as ApiError.

const UNSAFE = new Set(["POST", "PUT", "PATCH", "DELETE"]);

export class ApiError extends Error {
  constructor(status, problem = {}) {
    const detail = problem.detail || problem.title || (status ? `Request failed (${status})` : "Request failed");
    super(detail);
    this.name = "ApiError";
    this.status = status;
    this.problem = problem;
    this.code = problem.code || null;
    this.title = problem.title || null;
    this.detail = detail;
    this.errors = problem.errors && typeof problem.errors === "object" ? problem.errors : {};
  }
}

export function getCookie(name) {
  const prefix = `${name}=`;
  for (const part of document.cookie ? document.cookie.split(";") : []) {
    const item = part.trim();
    if (item.startsWith(prefix)) return decodeURIComponent(item.slice(prefix.length));
  }
  return null;
}

async function readBody(response) {
  if (response.status === 204 || response.status === 205) return null;
  const text = await response.text();
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return { detail: text.slice(0, 300) };
  }
}

let refreshing = null;

/** Rotate the token pair with the refresh cookie; concurrent callers share one request. */
export function refreshTokens() {
  if (!refreshing) {
    const headers = { Accept: "application/json" };
    const csrf = getCookie("csrf_refresh_token");
    if (csrf) headers["X-CSRF-TOKEN"] = csrf;
    refreshing = fetch("/api/auth/refresh", { method: "POST", headers, credentials: "same-origin" })
      .then((r) => r.ok)
      .catch(() => false)
      .finally(() => {
        setTimeout(() => { refreshing = null; }, 0);
      });
  }
  return refreshing;
}

/**
 * apiFetch("/api/x", {method, body, headers}) -> parsed JSON (null for 204).
 * `onResponse(response)` sees the final Response (headers) before the body is returned.
 * Throws ApiError with {status, code, detail, errors, problem}.
 */
export async function apiFetch(path, { method = "GET", body, headers = {}, signal, onResponse } = {}) {
  const verb = method.toUpperCase();
  const baseHeaders = { Accept: "application/json, application/problem+json", ...headers };
  let payload;
  if (body !== undefined) {
    baseHeaders["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  }
  const send = () => {
    const h = { ...baseHeaders };
    if (UNSAFE.has(verb)) {
      const csrf = getCookie("csrf_access_token");
      if (csrf) h["X-CSRF-TOKEN"] = csrf;
    }
    return fetch(path, { method: verb, headers: h, body: payload, credentials: "same-origin", signal });
  };
  const attempt = async () => {
    let response;
    try {
      response = await send();
    } catch (err) {
      if (err && err.name === "AbortError") throw err;
      throw new ApiError(0, {
        title: "Network error",
        detail: "Could not reach the server. Check your connection and try again.",
      });
    }
    return { response, data: await readBody(response) };
  };

  let { response, data } = await attempt();
  if (response.status === 401 && data && data.code === "token-expired") {
    if (await refreshTokens()) ({ response, data } = await attempt());
  }
  if (onResponse) onResponse(response);
  if (!response.ok) {
    const problem = data && typeof data === "object" ? data : {};
    if (!problem.status) problem.status = response.status;
    throw new ApiError(response.status, problem);
  }
  return data;
}
