// The REST client of both reference pages: Bearer tokens, the contract's error body.
// Only public endpoints of /api/ are used, exactly as a portal written elsewhere would.

const TOKEN_KEY = "clinic.token";

export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.detail) || `HTTP ${status}`);
    this.status = status;
    this.code = (body && body.code) || "error";
    this.fields = (body && body.fields) || null;
  }
}

export class Api {
  constructor(storage = window.sessionStorage) {
    this.storage = storage;
  }

  get token() {
    return this.storage.getItem(TOKEN_KEY);
  }

  async request(method, path, body) {
    const headers = { Accept: "application/json" };
    if (this.token) headers.Authorization = `Bearer ${this.token}`;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await response.text();
    const data = text ? JSON.parse(text) : null;
    if (!response.ok) throw new ApiError(response.status, data);
    return data;
  }

  get(path) { return this.request("GET", path); }
  post(path, body) { return this.request("POST", path, body); }
  put(path, body) { return this.request("PUT", path, body); }
  delete(path) { return this.request("DELETE", path); }

  // Every page of a paginated list (`{count, next, previous, results}`), up to `limit` items.
  async all(path, limit = 500) {
    const items = [];
    let url = path;
    while (url && items.length < limit) {
      const page = await this.get(url);
      items.push(...page.results);
      url = page.next ? new URL(page.next, location.origin).pathname + new URL(page.next, location.origin).search : null;
    }
    return items;
  }

  async signIn(email, password) {
    const session = await this.post("/api/auth/login/", { email, password });
    this.storage.setItem(TOKEN_KEY, session.token);
    return session.user;
  }

  async signOut() {
    try {
      await this.post("/api/auth/logout/");
    } finally {
      this.storage.removeItem(TOKEN_KEY);
    }
  }

  // The signed-in user, or null when there is no token or it no longer works.
  async me() {
    if (!this.token) return null;
    try {
      return await this.get("/api/users/me/");
    } catch (error) {
      if (error.status === 401) {
        this.storage.removeItem(TOKEN_KEY);
        return null;
      }
      throw error;
    }
  }
}

// A file that needs the Bearer token (an invoice PDF): fetched, then opened from memory.
export async function openWithToken(api, path) {
  const response = await fetch(path, { headers: { Authorization: `Bearer ${api.token}`, Accept: "application/pdf" } });
  if (!response.ok) throw new ApiError(response.status, await response.json().catch(() => null));
  window.open(URL.createObjectURL(await response.blob()), "_blank", "noopener");
}
