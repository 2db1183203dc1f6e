// The API client: the credential (kept in sessionStorage, so it ends with the tab) on every request,
// and the API's one error shape turned into a readable message.
const STORAGE_KEY = "tbot.credential";
const listeners = new Set();

export class ApiError extends Error {
  constructor(status, body) {
    const error = body && body.error ? body.error : { message: `HTTP ${status}` };
    const problems = (error.problems || []).map((p) => `${p.field}: ${p.rule}`);
    const reasons = error.reason_codes && error.reason_codes.length ? [`reasons: ${error.reason_codes.join(", ")}`] : [];
    super([error.message, ...problems, ...reasons].join("; "));
    this.status = status;
    this.code = error.code;
  }
}

/** The credential: {kind: "key" | "bearer", value, label}, or null when signed out. */
export function credential() {
  const stored = sessionStorage.getItem(STORAGE_KEY);
  return stored ? JSON.parse(stored) : null;
}

export function onCredentialChange(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

function setCredential(value) {
  if (value) sessionStorage.setItem(STORAGE_KEY, JSON.stringify(value));
  else sessionStorage.removeItem(STORAGE_KEY);
  listeners.forEach((listener) => listener(value));
}

export function signOut() {
  setCredential(null);
}

function authHeaders(held) {
  if (!held) return {};
  return held.kind === "key" ? { "X-API-Key": held.value } : { Authorization: `Bearer ${held.value}` };
}

async function parsed(response) {
  const text = await response.text();
  return text ? JSON.parse(text) : null;
}

/** Calls the API; resolves to the JSON answer, rejects with an ApiError. A 401 signs out. */
export async function request(method, path, body) {
  const held = credential();
  const headers = { Accept: "application/json", ...authHeaders(held) };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const answer = await parsed(response);
  if (!response.ok) {
    if (response.status === 401 && held) setCredential(null);
    throw new ApiError(response.status, answer);
  }
  return answer;
}

export const get = (path) => request("GET", path);
export const post = (path, body) => request("POST", path, body);

/** A query string from the defined values of ``params``. */
export function query(params) {
  const defined = Object.entries(params).filter(([, value]) => value !== undefined && value !== null && value !== "");
  return defined.length ? `?${new URLSearchParams(defined)}` : "";
}

/** Signs in with a user name and password (OAuth2 password flow at /v1/auth/token). */
export async function signInWithPassword(username, password) {
  const response = await fetch("/v1/auth/token", {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded", Accept: "application/json" },
    body: new URLSearchParams({ username, password }),
  });
  const answer = await parsed(response);
  if (!response.ok) throw new ApiError(response.status, answer);
  setCredential({ kind: "bearer", value: answer.access_token, label: username });
}

/** Signs in with an API key, once the API has accepted it. */
export async function signInWithKey(key) {
  const response = await fetch("/v1/bots?limit=1", { headers: { "X-API-Key": key, Accept: "application/json" } });
  if (!response.ok) throw new ApiError(response.status, await parsed(response));
  setCredential({ kind: "key", value: key, label: `API key ${key.split("_")[1] || ""}`.trim() });
}

/**
 * The newest ``count`` items of a list the API pages oldest first: follows the cursors (at most
 * ``pages`` pages of 500) and returns them newest first.
 */
export async function newest(path, params, count = 100, pages = 10) {
  let items = [];
  let cursor;
  for (let page = 0; page < pages; page += 1) {
    const answer = await get(`${path}${query({ ...params, limit: 500, cursor })}`);
    items = items.concat(answer.items).slice(-count);
    cursor = answer.next_cursor;
    if (!cursor) break;
  }
  return items.reverse();
}
