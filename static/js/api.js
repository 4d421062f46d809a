// REST calls: JSON in and out; errors arrive as RFC 9457 problems.
export class Problem extends Error {
  constructor(status, body) {
    super(body?.detail || body?.title || `HTTP ${status}`);
    this.status = status;
    this.body = body || {};
    this.errors = this.body.errors || [];
  }
}

/** The CSRF token our pages send with every change when the studio is protected (app/auth.py). */
export function csrfToken() {
  const m = document.cookie.match(/(?:^|;\s*)albumbot_csrf=([^;]+)/);
  return m ? decodeURIComponent(m[1]) : "";
}

export async function api(method, url, body) {
  const init = { method, headers: { Accept: "application/json" } };
  if (method !== "GET" && method !== "HEAD") init.headers["X-CSRF-Token"] = csrfToken();
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const res = await fetch(url, init);
  if (res.status === 204) return null;
  const data = await res.json().catch(() => null);
  if (!res.ok) throw new Problem(res.status, data);
  return data;
}

export const patchClip = (id, changes) => api("PATCH", `/api/v1/clips/${id}`, changes);
