/* The app's talk with the server: its configuration and texts (from the shell), the API with readable errors,
 * and signing in with OAuth 2.0 authorization code + PKCE (S256). Tokens stay in this browser's localStorage. */
export const CONFIG = JSON.parse(document.getElementById("app-config").textContent);

const TOKENS_KEY = "pwa.tokens";
const PKCE_KEY = "pwa.pkce";
const GUEST_KEY = "pwa.guest";

/** A translated text of the shell, its %(name)s placeholders filled in. */
export function t(key, vars = {}) {
  const text = CONFIG.text[key] || key;
  return text.replace(/%\((\w+)\)s/g, (_, name) => (vars[name] ?? "")).replace(/%%/g, "%");
}

export class ApiError extends Error {
  constructor(status, error) {
    super(error.message || t("error_generic", { status }));
    this.status = status;
    this.code = error.code || "";
    this.fields = error.fields || {};
    this.error = error;
  }
}

async function errorOf(response) {
  let body = null;
  try {
    body = await response.json();
  } catch (ignored) {
    body = null;
  }
  const error = body && body.error && typeof body.error === "object" ? body.error : {};
  if (!error.message) error.message = response.status === 404 ? t("error_not_found") : t("error_generic", { status: response.status });
  return new ApiError(response.status, error);
}

/** Calls the API. `auth`: with the driver's token (refreshed when it has expired); `guest`: a guest secret.
 * Returns the JSON answer (null for 204), or {data, response} with `meta`; throws an ApiError. */
export async function api(path, { method = "GET", body, auth = false, guest = null, meta = false, raw = false } = {}, retried = false) {
  const headers = { Accept: raw ? "application/pdf" : "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (auth) {
    const token = await accessToken();
    if (!token) throw new ApiError(401, { code: "not_signed_in", message: t("sign_in_needed") });
    headers.Authorization = "Bearer " + token;
  }
  if (guest) headers.Authorization = "Guest " + guest;
  let response;
  try {
    response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (error) {
    throw new ApiError(0, { code: "network", message: t("error_network") });
  }
  if (response.status === 401 && auth && !retried && tokens() && tokens().refresh_token) {
    // The server may have ended the token before its time: one refresh, one retry.
    await refresh();
    return api(path, { method, body, auth, guest, meta, raw }, true);
  }
  if (!response.ok) throw await errorOf(response);
  if (raw) return response;
  const data = response.status === 204 ? null : await response.json().catch(() => null);
  return meta ? { data, response } : data;
}

/** Items of a list answer, paginated ({results}) or not. */
export function itemsOf(answer) {
  if (Array.isArray(answer)) return answer;
  return (answer && answer.results) || [];
}

// --- Signing in -----------------------------------------------------------------------------------------------

function tokens() {
  try {
    return JSON.parse(localStorage.getItem(TOKENS_KEY) || "null");
  } catch (error) {
    return null;
  }
}

function tokensKeep(answer) {
  localStorage.setItem(
    TOKENS_KEY,
    JSON.stringify({
      access_token: answer.access_token,
      refresh_token: answer.refresh_token,
      expires_at: Date.now() + (answer.expires_in || 3600) * 1000,
    })
  );
}

export function signedIn() {
  return Boolean(tokens());
}

let refreshing = null;

async function tokenRequest(fields) {
  let response;
  try {
    response = await fetch(CONFIG.token_url, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded", Accept: "application/json" },
      body: new URLSearchParams({ client_id: CONFIG.client_id, ...fields }),
    });
  } catch (error) {
    throw new ApiError(0, { code: "network", message: t("error_network") });
  }
  const answer = await response.json().catch(() => ({}));
  if (!response.ok) {
    throw new ApiError(response.status, { code: answer.error || "oauth", message: answer.error_description || answer.error || t("error_generic", { status: response.status }) });
  }
  return answer;
}

async function refresh() {
  const current = tokens();
  if (!current || !current.refresh_token) return null;
  if (!refreshing) {
    refreshing = tokenRequest({ grant_type: "refresh_token", refresh_token: current.refresh_token })
      .then((answer) => {
        tokensKeep(answer);
        return answer.access_token;
      })
      .catch((error) => {
        if (error.status !== 0) {
          // Refused (expired, revoked): signed out; the app says so.
          localStorage.removeItem(TOKENS_KEY);
          sessionStorage.setItem("pwa.expired", "1");
        }
        throw error;
      })
      .finally(() => {
        refreshing = null;
      });
  }
  return refreshing;
}

async function accessToken() {
  const current = tokens();
  if (!current) return null;
  if (current.expires_at - 30_000 > Date.now()) return current.access_token;
  return refresh();
}

function base64url(bytes) {
  return btoa(String.fromCharCode(...new Uint8Array(bytes))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function redirectUri() {
  return location.origin + "/app/callback";
}

/** The brand's authorization URL for a new sign-in that comes back to `returnTo`. */
export async function authorizeUrl(returnTo) {
  const verifier = base64url(crypto.getRandomValues(new Uint8Array(32)));
  const challenge = base64url(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
  const state = base64url(crypto.getRandomValues(new Uint8Array(16)));
  sessionStorage.setItem(PKCE_KEY, JSON.stringify({ verifier, state, returnTo }));
  const query = new URLSearchParams({
    response_type: "code",
    client_id: CONFIG.client_id,
    redirect_uri: redirectUri(),
    scope: CONFIG.scopes,
    state,
    code_challenge: challenge,
    code_challenge_method: "S256",
  });
  return CONFIG.authorize_url + "?" + query;
}

export async function signIn(returnTo = location.pathname + location.search) {
  location.assign(await authorizeUrl(returnTo));
}

/** Sign-up, then straight on to signing in to the app. */
export async function signUpUrl(returnTo = location.pathname + location.search) {
  return CONFIG.signup_url + "?" + new URLSearchParams({ next: await authorizeUrl(returnTo) });
}

/** The end of a sign-in (/app/callback): the code exchanged for tokens; returns where to go next. */
export async function signInComplete(query) {
  const pending = JSON.parse(sessionStorage.getItem(PKCE_KEY) || "null");
  sessionStorage.removeItem(PKCE_KEY);
  if (query.get("error")) throw new ApiError(400, { code: query.get("error"), message: t("sign_in_failed", { reason: query.get("error_description") || query.get("error") }) });
  if (!pending || !query.get("code") || query.get("state") !== pending.state) {
    throw new ApiError(400, { code: "state", message: t("sign_in_failed", { reason: "state" }) });
  }
  const answer = await tokenRequest({
    grant_type: "authorization_code",
    code: query.get("code"),
    redirect_uri: redirectUri(),
    code_verifier: pending.verifier,
  });
  tokensKeep(answer);
  sessionStorage.removeItem("pwa.expired");
  return pending.returnTo && pending.returnTo.startsWith("/app/") ? pending.returnTo : "/app/";
}

export async function signOut() {
  const current = tokens();
  localStorage.removeItem(TOKENS_KEY);
  if (current && current.refresh_token) {
    const body = new URLSearchParams({ client_id: CONFIG.client_id, token: current.refresh_token, token_type_hint: "refresh_token" });
    await fetch(CONFIG.revoke_url, { method: "POST", body }).catch(() => null);
  }
}

export function signInExpired() {
  const expired = sessionStorage.getItem("pwa.expired") === "1";
  sessionStorage.removeItem("pwa.expired");
  return expired;
}

// --- Guest charging: the secret lives only as long as this tab ------------------------------------------------

export function guestToken() {
  return sessionStorage.getItem(GUEST_KEY);
}

export function guestTokenKeep(token) {
  if (token) sessionStorage.setItem(GUEST_KEY, token);
  else sessionStorage.removeItem(GUEST_KEY);
}

// --- Cards: Stripe's test cards, mapped in the browser; card numbers never leave it ----------------------------

const TEST_CARDS = { "4242424242424242": "pm_card_visa", "4000000000000002": "pm_card_chargeDeclined" };

/** The test payment method of a test card number, or null. */
export function testPaymentMethod(number) {
  return TEST_CARDS[String(number).replace(/[\s-]/g, "")] || null;
}

/** A receipt PDF (it needs the Authorization header, so no plain link): downloaded through a blob URL. */
export async function receiptDownload(url, filename, options) {
  const response = await api(url, { raw: true, ...options });
  const blob = await response.blob();
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  link.download = filename;
  document.body.appendChild(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 60_000);
}
