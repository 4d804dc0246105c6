/* The driver app: registers the service worker, routes /app/… paths to their pages (views.js) without reloading,
 * and shows the app-wide banners (offline, sign-in expired, a session ended). */
import { CONFIG, t, signInComplete, signInExpired } from "./api.js";
import { h, home, locationPage, evsePage, sessionPage, historyPage, accountPage, guestPage } from "./views.js";

const ROUTES = [
  [/^\/app\/?$/, home, "home"],
  [/^\/app\/e\/([^/]+)\/?$/, evsePage, "home"],
  [/^\/app\/locations\/(\d+)\/?$/, locationPage, "home"],
  [/^\/app\/sessions\/([^/]+)\/?$/, sessionPage, "history"],
  [/^\/app\/history\/?$/, historyPage, "history"],
  [/^\/app\/account\/?$/, accountPage, "account"],
  [/^\/app\/callback\/?$/, callbackPage, null],
  [/^\/app\/guest\/?$/, guestPage, null],
];

const view = document.getElementById("view");
const banner = document.getElementById("banner");
let cleanup = null;

function bannerShow(text, kind = "info") {
  banner.replaceChildren(h("p", { class: "notice " + kind }, text, " ", h("button", { type: "button", class: "link", "aria-label": t("close"), onclick: () => banner.replaceChildren() }, "×")));
}

async function callbackPage(target) {
  target.replaceChildren(h("p", { class: "muted" }, t("loading")));
  try {
    navigate(await signInComplete(new URLSearchParams(location.search)), { replace: true });
  } catch (error) {
    target.replaceChildren(h("p", { class: "notice error", role: "alert" }, error.message), h("p", {}, h("a", { href: "/app/" }, t("back_to_map"))));
  }
}

export function navigate(path, { replace = false } = {}) {
  if (replace) history.replaceState(null, "", path);
  else history.pushState(null, "", path);
  renderWith(viewHolder.element, { focus: true });
}

// The page's element is replaced on every render (so a left page's late answers land nowhere).
const viewHolder = { element: view };

function renderWith(element, options) {
  if (cleanup) cleanup();
  cleanup = null;
  const fresh = h("div", { id: "view" });
  element.replaceWith(fresh);
  viewHolder.element = fresh;
  const path = location.pathname;
  const found = ROUTES.find(([pattern]) => pattern.test(path));
  document.querySelectorAll("[data-nav]").forEach((link) => link.removeAttribute("aria-current"));
  if (!found) {
    document.getElementById("page-title").textContent = CONFIG.brand;
    fresh.append(h("p", { class: "notice error", role: "alert" }, t("error_not_found")), h("p", {}, h("a", { href: "/app/" }, t("back_to_map"))));
  } else {
    const [pattern, page, section] = found;
    if (section) document.querySelector(`[data-nav="${section}"]`)?.setAttribute("aria-current", "page");
    const result = page(fresh, { params: path.match(pattern).slice(1), navigate });
    cleanup = typeof result === "function" ? result : null;
  }
  if (options.focus) document.getElementById("main").focus({ preventScroll: false });
  if (signInExpired()) bannerShow(t("sign_in_again"), "warning");
  document.documentElement.dataset.route = found ? found[2] || "other" : "none";
}

// Links inside the app open without a reload; everything else (the brand's sign-in, another brand) as usual.
document.addEventListener("click", (event) => {
  const link = event.target.closest("a[href]");
  if (!link || event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  if (link.target || link.hasAttribute("download")) return;
  const url = new URL(link.href, location.href);
  if (url.origin !== location.origin || !url.pathname.startsWith("/app/") || url.pathname === "/app/callback") return;
  if (url.pathname === location.pathname && url.search === location.search && url.hash) return;
  event.preventDefault();
  navigate(url.pathname + url.search + url.hash);
});

window.addEventListener("popstate", () => renderWith(viewHolder.element, { focus: true }));
document.addEventListener("pwa:banner", (event) => bannerShow(event.detail));
window.addEventListener("offline", () => bannerShow(t("offline"), "warning"));
window.addEventListener("online", () => banner.replaceChildren());

if ("serviceWorker" in navigator) {
  navigator.serviceWorker.register(CONFIG.sw_url, { scope: "/app/" }).catch(() => null);
}

renderWith(view, { focus: false });
if (!navigator.onLine) bannerShow(t("offline"), "warning");
document.documentElement.dataset.app = "ready";
