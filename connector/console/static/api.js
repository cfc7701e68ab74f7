// The connector's API, called with the bearer token of the session. The
// token lives in this tab's sessionStorage only: never in a URL, a cookie
// or the page.

const KEY = 'sfconnector.token';

export const session = {
  token: () => sessionStorage.getItem(KEY) || '',
  set: (token) => sessionStorage.setItem(KEY, token),
  clear: () => sessionStorage.removeItem(KEY),
};

// ApiError is an error answer, with the API's own code and message.
export class ApiError extends Error {
  constructor(status, code, message, requestId) {
    super(message);
    this.status = status;
    this.code = code;
    this.requestId = requestId || '';
  }
}

// api calls the API and returns the JSON answer (null for 204); an error
// answer throws an ApiError worded as the API words it.
export async function api(method, path, body) {
  const headers = { Accept: 'application/json', Authorization: 'Bearer ' + session.token() };
  const init = { method, headers, cache: 'no-store', credentials: 'omit', referrerPolicy: 'no-referrer' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let resp;
  try {
    resp = await fetch(path, init);
  } catch (err) {
    throw new ApiError(0, 'unreachable', 'the connector did not answer (' + err.message + ')');
  }
  if (resp.status === 204) return null;
  const text = await resp.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!resp.ok) {
    const e = data && data.error;
    if (e) throw new ApiError(resp.status, e.code, e.message, e.request_id);
    throw new ApiError(resp.status, 'http_' + resp.status, text || resp.statusText);
  }
  return data;
}

// tenantPath is a path under the tenant's API.
export const tenantPath = (tenant, rest) => '/api/v1/tenants/' + encodeURIComponent(tenant) + rest;

// query builds a query string from the non-empty values.
export function query(values) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(values)) {
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  }
  const s = q.toString();
  return s ? '?' + s : '';
}
