// The Admin API client: the stored session (JWT and its expiry) and JSON requests against the same
// origin. Every failure becomes an ApiError carrying the API's own `detail` text; a 401 (or an
// expired session) ends the session and tells the app to show the login screen.

const STORAGE_KEY = "scutum.console.session";
const listeners = new Set();
let expiryTimer = null;

/** A failed Admin API call: the HTTP status and the `detail` the API sent, as readable text. */
export class ApiError extends Error {
  constructor(status, detail) {
    super(ApiError.describe(detail, status));
    this.name = "ApiError";
    this.status = status;
    this.detail = detail;
  }

  /** FastAPI's `detail`: a string, or a list of `{loc, msg}` validation errors. */
  static describe(detail, status) {
    if (typeof detail === "string" && detail) return detail;
    if (Array.isArray(detail)) {
      return detail
        .map((item) => {
          const where = Array.isArray(item.loc) ? item.loc.filter((part) => part !== "body").join(".") : "";
          return where ? `${where}: ${item.msg}` : String(item.msg ?? JSON.stringify(item));
        })
        .join("; ");
    }
    if (detail && typeof detail === "object") return JSON.stringify(detail);
    return `Request failed (HTTP ${status})`;
  }
}

/** The current session `{token, expiresAt}` (ms since the epoch), or null when none is valid. */
export function session() {
  try {
    const stored = JSON.parse(localStorage.getItem(STORAGE_KEY) ?? "null");
    if (stored && typeof stored.token === "string" && stored.expiresAt > Date.now()) return stored;
  } catch {
    // A damaged entry is the same as none.
  }
  return null;
}

/** Calls `listener(reason)` whenever the session ends (logout, expiry, or a 401). */
export function onSessionEnd(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

function armExpiry() {
  clearTimeout(expiryTimer);
  const current = session();
  if (!current) return;
  // setTimeout's limit is about 24.8 days; tokens live hours.
  expiryTimer = setTimeout(() => endSession("Your session expired. Sign in again."), current.expiresAt - Date.now());
}

/** Forgets the token and notifies the listeners. */
export function endSession(reason = "") {
  clearTimeout(expiryTimer);
  const had = localStorage.getItem(STORAGE_KEY) !== null;
  localStorage.removeItem(STORAGE_KEY);
  if (had || reason) for (const listener of listeners) listener(reason);
}

/** Stores a session: the token and its expiry (ms since the epoch). */
function storeSession(token, expiresAt) {
  localStorage.setItem(STORAGE_KEY, JSON.stringify({ token, expiresAt }));
  armExpiry();
}

/** Exchanges the master key or an admin key for an access token (`POST /auth/login`). */
export async function login(apiKey) {
  const body = await request("POST", "/auth/login", { api_key: apiKey }, { authenticated: false });
  storeSession(body.access_token, body.expires_at ? Date.parse(body.expires_at) : Date.now() + (body.expires_in ?? 0) * 1000);
  return body;
}

/** `GET /auth/sso`: `{enabled, master_key_login}`; a gateway without the route has no SSO. */
export async function ssoStatus() {
  try {
    return await request("GET", "/auth/sso", undefined, { authenticated: false });
  } catch {
    return { enabled: false, master_key_login: true };
  }
}

/**
 * Where single sign-on ends: `/auth/sso/callback` sends the browser to `/#sso_token=<JWT>&expires_at=
 * <unix seconds>`, or `/#sso_error=<message>`. Stores the token as a key login does, removes the
 * fragment from the address (and from the history), and returns `{error}` or `{signedIn: true}`;
 * null when the address carries neither.
 */
export function takeSsoFragment() {
  const fragment = new URLSearchParams(location.hash.replace(/^#/, ""));
  const token = fragment.get("sso_token");
  const error = fragment.get("sso_error");
  if (token === null && error === null) return null;
  history.replaceState(null, "", location.pathname + location.search);
  if (error !== null) return { error: error || "Single sign-on failed." };
  const expiresAt = Number(fragment.get("expires_at")) * 1000;
  if (!token || !(expiresAt > Date.now())) return { error: "Single sign-on returned no valid session. Sign in again." };
  storeSession(token, expiresAt);
  return { signedIn: true };
}

/**
 * One JSON request. `body` is sent as JSON when given; `query` (an object) becomes the query string,
 * skipping empty values. Resolves to the parsed body; rejects with an ApiError.
 */
export async function request(method, path, body, { authenticated = true, query } = {}) {
  const headers = { Accept: "application/json" };
  if (authenticated) {
    const current = session();
    if (!current) {
      endSession("Your session expired. Sign in again.");
      throw new ApiError(401, "Not signed in");
    }
    headers.Authorization = `Bearer ${current.token}`;
  }
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let url = path;
  if (query) {
    const params = new URLSearchParams();
    for (const [name, value] of Object.entries(query)) {
      if (value !== undefined && value !== null && value !== "") params.set(name, String(value));
    }
    if ([...params].length) url += `?${params}`;
  }
  let response;
  try {
    response = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (error) {
    throw new ApiError(0, `The gateway could not be reached (${error.message})`);
  }
  const text = await response.text();
  let parsed = null;
  if (text) {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = text;
    }
  }
  if (!response.ok) {
    const detail = parsed && typeof parsed === "object" && "detail" in parsed ? parsed.detail : parsed;
    if (response.status === 401 && authenticated) endSession(ApiError.describe(detail, 401));
    throw new ApiError(response.status, detail);
  }
  return parsed;
}

/** Shorthands for the Admin API's `/api/v1` routes. */
export const api = {
  get: (path, query) => request("GET", `/api/v1${path}`, undefined, { query }),
  post: (path, body = {}) => request("POST", `/api/v1${path}`, body),
  put: (path, body = {}) => request("PUT", `/api/v1${path}`, body),
  delete: (path) => request("DELETE", `/api/v1${path}`),
};

/**
 * Each user's e-mail by user id, for the users the caller may see (everyone for admins and viewers,
 * a team admin's members, a member themselves); empty when the API refuses the list.
 */
export async function userEmails() {
  const { users } = await api.get("/users").catch(() => ({ users: [] }));
  return new Map(users.filter((user) => user.email).map((user) => [user.user_id, user.email]));
}

armExpiry();
