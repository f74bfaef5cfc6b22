// The dashboard's only way to data: the same HTTP API partners use, with the same token rules.
// Responses are memoised per URL and token for the page's lifetime (the server sends ETags too).

const TOKEN_KEY = "idpkit-token";
const memo = new Map();

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export function token() {
  return sessionStorage.getItem(TOKEN_KEY) || "";
}

export function setToken(value) {
  if (value) sessionStorage.setItem(TOKEN_KEY, value);
  else sessionStorage.removeItem(TOKEN_KEY);
  memo.clear();
}

export function url(path, params = {}) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== "") q.set(k, v);
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

/** GET a JSON document; API errors become ApiError with the API's code and message. */
export function get(path, params = {}) {
  const u = url(path, params);
  const key = `${token()}|${u}`;
  if (!memo.has(key)) {
    const headers = token() ? {Authorization: `Bearer ${token()}`} : {};
    const p = fetch(u, {headers}).then(async (r) => {
      const body = await r.json().catch(() => null);
      if (!r.ok) {
        const e = (body && body.error) || {};
        throw new ApiError(r.status, e.code || "http-error", e.message || `HTTP ${r.status}`);
      }
      return body;
    });
    p.catch(() => memo.delete(key));
    memo.set(key, p);
  }
  return memo.get(key);
}

/** Every row of a paginated endpoint (follows next_offset), plus the first page's metadata. */
export async function getAll(path, params = {}) {
  const first = await get(path, {...params, limit: 10000});
  const rows = [...first.data];
  let next = first.next_offset;
  while (next !== null && next !== undefined) {
    const page = await get(path, {...params, limit: 10000, offset: next});
    rows.push(...page.data);
    next = page.next_offset;
  }
  return {...first, data: rows};
}
