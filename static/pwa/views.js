/* The app's pages, drawn into #view: the map and list of chargers, a location, a charger (EVSE) with its price and
 * the start button, a live session, the history, the account and guest charging. Each page returns a cleanup
 * function (its timers stop when the driver leaves it). */
import {
  CONFIG, t, api, itemsOf, signedIn, signIn, signUpUrl, signOut, guestToken, guestTokenKeep, testPaymentMethod,
  receiptDownload,
} from "./api.js";

// --- Small DOM helpers (no innerHTML: every text from the server goes in as text) -----------------------------

export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else if (name === "dataset") Object.assign(element.dataset, value);
    else element.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

function message(kind, text, ...extra) {
  return h("p", { class: "notice " + kind, role: kind === "error" ? "alert" : "status" }, text, ...extra);
}

function errorBox(error) {
  return message("error", error.message || t("error_generic", { status: "?" }));
}

/** Runs `task` every `seconds` while the page is visible, and once more when it comes back into view. */
function poll(task, seconds) {
  let timer = null;
  const schedule = () => {
    clearTimeout(timer);
    timer = setTimeout(tick, seconds * 1000);
  };
  const tick = async () => {
    if (document.visibilityState === "visible") await Promise.resolve(task()).catch(() => null);
    schedule();
  };
  const onVisible = () => {
    if (document.visibilityState === "visible") tick();
  };
  document.addEventListener("visibilitychange", onVisible);
  schedule();
  return () => {
    clearTimeout(timer);
    document.removeEventListener("visibilitychange", onVisible);
  };
}

function setTitle(text) {
  document.getElementById("page-title").textContent = text;
  document.title = text === CONFIG.brand ? CONFIG.brand : text + " · " + CONFIG.brand;
}

function statusBadge(status) {
  const key = (status || "Unknown").toLowerCase();
  const label = CONFIG.text["st_" + key] || status;
  return h("span", { class: "status " + key, "data-status": status || "Unknown" }, label);
}

const NUMBER = new Intl.NumberFormat(CONFIG.language, { maximumFractionDigits: 2 });

function money(amount, currency) {
  if (amount === null || amount === undefined) return "";
  // As precise as the server states it (a price per kWh may have three decimals), at least cents.
  const decimals = Math.min(6, Math.max(2, (String(amount).split(".")[1] || "").replace(/0+$/, "").length));
  try {
    return new Intl.NumberFormat(CONFIG.language, { style: "currency", currency, minimumFractionDigits: 2, maximumFractionDigits: decimals }).format(Number(amount));
  } catch (error) {
    return amount + " " + currency;
  }
}

function duration(seconds) {
  seconds = Math.max(0, Math.floor(seconds || 0));
  const hours = Math.floor(seconds / 3600);
  const minutes = Math.floor((seconds % 3600) / 60);
  const rest = String(seconds % 60).padStart(2, "0");
  return hours ? `${hours}:${String(minutes).padStart(2, "0")}:${rest}` : `${minutes}:${rest}`;
}

function connectorLabel(standard) {
  const found = CONFIG.connector_types.find(([value]) => value === standard);
  return found ? found[1] : standard;
}

function evsePath(code) {
  return "/app/e/" + encodeURIComponent(code);
}

/** The code in what was typed or scanned: a code, or a deep link /app/e/<code> (of any brand). */
export function codeOf(text) {
  text = (text || "").trim();
  const link = text.match(/\/app\/e\/([^/?#]+)/);
  if (link) {
    try {
      return decodeURIComponent(link[1]);
    } catch (error) {
      return link[1];
    }
  }
  return text;
}

// --- The price, stated before starting ------------------------------------------------------------------------

function priceBlock(price) {
  const section = h("section", { class: "price", "aria-labelledby": "price-title" }, h("h2", { id: "price-title" }, t("price")));
  if (!price) {
    section.append(message("warning", t("price_none")));
    return section;
  }
  section.append(h("p", {}, t("price_before")), h("p", { class: "price-summary", "data-price-summary": "" }, price.summary));
  const rows = [
    ["per_kwh", price.per_kwh && money(price.per_kwh, price.currency)],
    ["per_minute", price.per_minute && money(price.per_minute, price.currency)],
    ["per_session", price.per_session && money(price.per_session, price.currency)],
    ["idle_per_minute", price.idle_per_minute && money(price.idle_per_minute, price.currency)],
    ["idle_grace", price.idle_per_minute && price.idle_grace_minutes !== null && price.idle_grace_minutes !== undefined && t("minutes", { minutes: price.idle_grace_minutes })],
  ].filter(([, value]) => value);
  if (rows.length) {
    section.append(h("dl", { class: "figures" }, rows.map(([key, value]) => [h("dt", {}, t(key)), h("dd", { "data-price": key }, value)])));
  }
  if (price.vat_percent !== null && price.vat_percent !== undefined) section.append(h("p", { class: "muted" }, t("vat_included", { vat: NUMBER.format(Number(price.vat_percent)) })));
  return section;
}

// --- Home: enter a code, filters, map and list ----------------------------------------------------------------

const FILTERS = ["connector_type", "min_power_kw", "available", "max_price_per_kwh", "open_now"];
const POSITION_KEY = "pwa.position";
// The device's last position (for five minutes), so that a reload or new filters sort by distance at once.
let position = (() => {
  try {
    const kept = JSON.parse(sessionStorage.getItem(POSITION_KEY) || "null");
    return kept && Date.now() - kept.at < 300_000 ? kept : null;
  } catch (error) {
    return null;
  }
})();

function codeBox(navigate) {
  const input = h("input", { id: "code", name: "code", type: "text", autocomplete: "off", autocapitalize: "characters", spellcheck: "false", "aria-describedby": "code-hint", required: true });
  const status = h("p", { class: "muted", role: "status" });
  const form = h(
    "form",
    { class: "code-box card", role: "search" },
    h("label", { for: "code" }, t("code_label")),
    h("div", { class: "row" }, input, h("button", { type: "submit", class: "primary" }, t("code_open"))),
    h("p", { id: "code-hint", class: "muted" }, t("code_hint", { example: CONFIG.code_example })),
    status
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const code = codeOf(input.value);
    if (code) navigate(evsePath(code));
  });
  if ("BarcodeDetector" in window && navigator.mediaDevices) {
    let stream = null;
    const video = h("video", { class: "scanner", playsinline: true, muted: true, hidden: true });
    const button = h("button", { type: "button" }, t("code_scan"));
    const stop = () => {
      if (stream) stream.getTracks().forEach((track) => track.stop());
      stream = null;
      video.hidden = true;
      button.textContent = t("code_scan");
    };
    button.addEventListener("click", async () => {
      if (stream) return stop();
      try {
        stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } });
      } catch (error) {
        status.textContent = t("code_scan_denied");
        return;
      }
      video.srcObject = stream;
      video.hidden = false;
      button.textContent = t("code_scan_stop");
      await video.play();
      const detector = new BarcodeDetector({ formats: ["qr_code"] });
      const look = async () => {
        if (!stream) return;
        const found = await detector.detect(video).catch(() => []);
        if (found.length) {
          stop();
          navigate(evsePath(codeOf(found[0].rawValue)));
        } else requestAnimationFrame(look);
      };
      look();
    });
    form.append(button, video);
    form.cleanup = stop;
  }
  return form;
}

function filterForm(values) {
  const select = h("select", { id: "f-connector", name: "connector_type" }, h("option", { value: "" }, t("filter_any")),
    CONFIG.connector_types.map(([value, label]) => h("option", { value, selected: values.get("connector_type") === value }, label)));
  const field = (id, label, control) => h("div", { class: "field" }, h("label", { for: id }, label), control);
  const check = (id, name, label) => h("div", { class: "field check" },
    h("input", { id, name, type: "checkbox", value: "true", checked: values.get(name) === "true" }), h("label", { for: id }, label));
  const active = FILTERS.some((name) => values.get(name));
  return h("details", { class: "filters card", open: active },
    h("summary", {}, t("filters")),
    h("form", { method: "get", action: "/app/" },
      field("f-connector", t("filter_connector"), select),
      field("f-power", t("filter_power"), h("input", { id: "f-power", name: "min_power_kw", type: "number", min: "0", step: "1", inputmode: "numeric", value: values.get("min_power_kw") || "" })),
      field("f-price", t("filter_price"), h("input", { id: "f-price", name: "max_price_per_kwh", type: "number", min: "0", step: "0.01", inputmode: "decimal", value: values.get("max_price_per_kwh") || "" })),
      check("f-available", "available", t("filter_available")),
      check("f-open", "open_now", t("filter_open")),
      h("div", { class: "row" }, h("button", { type: "submit", class: "primary" }, t("filter_apply")), h("a", { href: "/app/", class: "button secondary" }, t("filter_reset")))
    )
  );
}

function locationItem(location) {
  const available = location.evses_available > 0;
  const facts = [
    location.distance_m !== null && location.distance_m !== undefined
      ? location.distance_m < 1000 ? t("distance_m", { distance: Math.round(location.distance_m) }) : t("distance_km", { distance: NUMBER.format(location.distance_m / 1000) })
      : null,
    (location.connector_types || []).map(connectorLabel).join(", "),
    location.max_power_kw ? t("up_to_kw", { power: NUMBER.format(Number(location.max_power_kw)) }) : null,
    location.open_now === true ? t("open_now") : location.open_now === false ? t("closed_now") : null,
  ].filter(Boolean);
  return h("li", { class: "location card", dataset: { locationId: location.id } },
    h("a", { href: `/app/locations/${location.id}`, class: "location-name" }, location.name),
    h("p", { class: "muted" }, [location.address, location.city].filter(Boolean).join(", ")),
    h("p", {}, h("span", { class: "status " + (available ? "available" : "occupied"), "data-availability": "" },
      t("available_of", { available: location.evses_available, total: location.evses_total }))),
    h("p", { class: "muted" }, facts.join(" · ")),
    location.price ? h("p", { class: "price-line" }, location.price.summary) : null
  );
}

function mapOf(element) {
  if (!window.L) return null;
  const map = L.map(element, { scrollWheelZoom: false, zoomControl: true });
  // Without tiles (offline, blocked) the map is a plain background with its markers: the list still works.
  L.tileLayer(CONFIG.tile_url, { maxZoom: 19, attribution: CONFIG.tile_attribution }).addTo(map);
  const layer = L.layerGroup().addTo(map);
  let fitted = false;
  return {
    show(locations) {
      layer.clearLayers();
      const located = locations.filter((location) => location.latitude !== null && location.longitude !== null);
      element.hidden = !located.length;
      if (!located.length) return;
      map.invalidateSize();
      const bounds = [];
      for (const location of located) {
        const point = [Number(location.latitude), Number(location.longitude)];
        bounds.push(point);
        const colour = location.evses_available > 0 ? "#1a7f37" : "#5b6570";
        const link = h("a", { href: `/app/locations/${location.id}` }, location.name);
        L.circleMarker(point, { radius: 9, color: "#fff", weight: 2, fillColor: colour, fillOpacity: 1 })
          .bindPopup(h("div", {}, link, h("br"), t("available_of", { available: location.evses_available, total: location.evses_total })))
          .bindTooltip(location.name)
          .addTo(layer);
      }
      if (!fitted) {
        map.fitBounds(bounds, { padding: [30, 30], maxZoom: 14 });
        fitted = true;
      }
    },
    remove() {
      map.remove();
    },
  };
}

export function home(view, { navigate }) {
  setTitle(t("find"));
  const values = new URLSearchParams(location.search);
  const code = codeBox(navigate);
  const mapElement = h("div", { id: "map", class: "map", role: "region", "aria-label": t("map"), hidden: true });
  const state = h("div", { id: "list-state", "aria-live": "polite" });
  const list = h("ul", { class: "locations", id: "locations", "aria-label": t("list") });
  view.append(code, filterForm(values), h("div", { id: "current-session" }), mapElement, h("h2", {}, t("list")), state, list);
  const map = mapOf(mapElement);

  let latest = 0;
  async function load() {
    const query = new URLSearchParams();
    for (const name of FILTERS) if (values.get(name)) query.set(name, values.get(name));
    const near = position;
    if (near) {
      query.set("lat", near.latitude.toFixed(5));
      query.set("lon", near.longitude.toFixed(5));
    }
    // Only the latest request draws: an earlier answer arriving late must not replace a newer list.
    const request = ++latest;
    try {
      const { data, response } = await api("/api/v1/network/locations/?" + query, { meta: true });
      if (request !== latest) return;
      const locations = itemsOf(data);
      const offline = response.headers.get("X-Pwa-Offline");
      state.replaceChildren(
        offline ? message("warning", t("offline_stations")) : "",
        h("p", { class: "muted" }, near ? t("sorted_by_distance") : t("sorted_by_name"))
      );
      list.replaceChildren(...(locations.length ? locations.map(locationItem) : [h("li", { class: "muted" }, t("no_locations"))]));
      if (map) map.show(locations);
      document.documentElement.dataset.locations = offline ? "offline" : "loaded";
    } catch (error) {
      if (request !== latest) return;
      state.replaceChildren(errorBox(error));
      // Sooner than the next poll: a network that just dropped or came back often answers a moment later.
      clearTimeout(retry);
      retry = setTimeout(load, 5000);
    }
  }
  let retry = null;

  load();
  if (!position && navigator.geolocation) {
    navigator.geolocation.getCurrentPosition(
      (found) => {
        position = { latitude: found.coords.latitude, longitude: found.coords.longitude, at: Date.now() };
        sessionStorage.setItem(POSITION_KEY, JSON.stringify(position));
        load();
      },
      () => null,
      { timeout: 8000, maximumAge: 300_000 }
    );
  }
  currentSessionLink(view.querySelector("#current-session"));
  const stop = poll(load, 30);
  // On the first visit the service worker takes over after the list was fetched: fetch it again through the
  // worker, so that it is kept for offline use at once.
  const onController = () => load();
  if ("serviceWorker" in navigator) navigator.serviceWorker.addEventListener("controllerchange", onController);
  return () => {
    stop();
    clearTimeout(retry);
    if ("serviceWorker" in navigator) navigator.serviceWorker.removeEventListener("controllerchange", onController);
    if (code.cleanup) code.cleanup();
    if (map) map.remove();
  };
}

async function currentSessionLink(slot) {
  if (!signedIn()) return;
  try {
    const current = await api("/api/v1/me/sessions/current/", { auth: true });
    if (current && current.id) slot.replaceChildren(message("info", h("a", { href: `/app/sessions/${current.id}` }, t("current_session"))));
  } catch (error) {
    /* none, or offline: nothing to show */
  }
}

// --- A location -----------------------------------------------------------------------------------------------

function evseItem(evse) {
  return h("li", { class: "evse card", dataset: { evse: evse.code } },
    h("a", { href: evsePath(evse.code) }, evse.code), " ", statusBadge(evse.status),
    h("p", { class: "muted" }, (evse.connectors || []).map((connector) => `${connectorLabel(connector.standard)} · ${NUMBER.format(Number(connector.max_power_kw))} kW`).join(" / ")),
    evse.price ? h("p", { class: "price-line" }, evse.price.summary) : null
  );
}

export function locationPage(view, { params }) {
  const id = params[0];
  setTitle(t("location"));
  async function load() {
    try {
      const location = await api(`/api/v1/network/locations/${encodeURIComponent(id)}/`);
      setTitle(location.name);
      view.replaceChildren(
        h("p", {}, [location.address, location.city].filter(Boolean).join(", ")),
        location.open_now === true ? h("p", {}, t("open_now")) : location.open_now === false ? h("p", {}, t("closed_now")) : "",
        location.opening_times ? h("p", { class: "muted" }, t("opening_times") + ": " + location.opening_times) : "",
        location.price ? priceBlock(location.price) : "",
        h("h2", {}, t("chargers_here")),
        h("ul", { class: "evses" }, (location.evses || []).map(evseItem)),
        h("p", {}, h("a", { href: "/app/" }, t("back_to_map")))
      );
    } catch (error) {
      setTitle(t("location"));
      view.replaceChildren(errorBox(error), h("p", {}, h("a", { href: "/app/" }, t("back_to_map"))));
    }
  }
  load();
  return poll(load, 30);
}

// --- A charger (EVSE): status, connectors, the price, then start ----------------------------------------------

const REASONS = ["offline", "faulted", "occupied", "reserved", "unavailable"];

function otherBrand(code, error) {
  const brand = error.error.brand || {};
  setTitle(t("other_brand_title"));
  return h("section", { class: "notice info other-brand", role: "alert", "data-other-brand": "" },
    h("p", {}, t("other_brand_body", { code, brand: brand.name || "?" })),
    brand.app_url ? h("p", {}, h("a", { href: brand.app_url, class: "button primary", rel: "noopener" }, t("other_brand_link", { brand: brand.name }))) : null);
}

async function startFor(code, action, navigate) {
  const button = action.querySelector("button[data-start]");
  const status = action.querySelector("[data-start-status]");
  button.disabled = true;
  status.replaceChildren(message("info", t("starting")));
  try {
    const answer = await api("/api/v1/me/charges/", { method: "POST", body: { evse: code }, auth: true });
    pushSubscribeIfAllowed();
    navigate(answer && answer.session ? `/app/sessions/${answer.session.id}` : "/app/sessions/current");
  } catch (error) {
    button.disabled = false;
    const extra = error.code === "payment_method_required" ? [" ", h("a", { href: "/app/account#payment-methods" }, t("add_payment_card"))] : [];
    status.replaceChildren(message("error", error.message, ...extra));
  }
}

export function evsePage(view, { params, navigate }) {
  let code = params[0];
  try {
    code = decodeURIComponent(code);
  } catch (error) {
    /* as typed */
  }
  setTitle(t("evse", { code }));
  let drawn = false;
  let lastSeen = "";

  async function load() {
    let evse;
    try {
      evse = await api(`/api/v1/network/evses/${encodeURIComponent(code)}/`);
    } catch (error) {
      if (error.code === "evse_of_another_brand") view.replaceChildren(otherBrand(code, error));
      else if (error.code === "evse_unknown") view.replaceChildren(message("error", t("evse_unknown", { code })), h("p", {}, h("a", { href: "/app/" }, t("back_to_map"))));
      else if (!drawn) view.replaceChildren(errorBox(error));
      return;
    }
    // Redrawn only when something changed, so that the buttons keep their focus.
    const seen = JSON.stringify(evse) + signedIn();
    if (drawn && seen === lastSeen) return;
    lastSeen = seen;
    const startSlot = drawn ? view.querySelector("[data-start-area]") : null;
    const action = h("section", { class: "start", "data-start-area": "" });
    if (!evse.startable) {
      const reason = REASONS.includes(evse.not_startable_reason) ? "reason_" + evse.not_startable_reason : "not_startable";
      action.append(message("error", t(reason)));
      action.dataset.notStartable = evse.not_startable_reason || "unknown";
    } else if (signedIn()) {
      action.append(h("button", { type: "button", class: "primary big", "data-start": "", onclick: () => startFor(code, action, navigate) }, t("start")), h("div", { "data-start-status": "" }));
    } else {
      action.append(
        h("button", { type: "button", class: "primary big", onclick: () => signIn() }, t("sign_in_to_start")),
        h("p", {}, h("a", { href: "#", onclick: async (event) => { event.preventDefault(); location.assign(await signUpUrl()); } }, t("sign_up")), " · ",
          h("a", { href: "/app/guest?" + new URLSearchParams({ evse: code }) }, t("pay_as_guest")))
      );
    }
    // A start in progress keeps its button and message; only the charger's facts are refreshed under it.
    const keep = startSlot && startSlot.querySelector("[data-start-status]") && startSlot.querySelector("[data-start-status]").childNodes.length && evse.startable;
    view.replaceChildren(
      h("p", {}, h("a", { href: `/app/locations/${evse.location.id}` }, evse.location.name), " · ", [evse.location.address, evse.location.city].filter(Boolean).join(", ")),
      h("p", {}, t("status") + ": ", statusBadge(evse.status)),
      h("h2", {}, t("connectors")),
      h("ul", { class: "connectors" }, (evse.connectors || []).map((connector) =>
        h("li", { dataset: { connector: connector.connector_id } }, `${t("connector", { id: connector.connector_id })}: ${connectorLabel(connector.standard)}, ${NUMBER.format(Number(connector.max_power_kw))} kW `, statusBadge(connector.status)))),
      priceBlock(evse.price),
      keep ? startSlot : action
    );
    drawn = true;
  }
  load();
  return poll(load, 10);
}

// --- A charging session, live ---------------------------------------------------------------------------------

function sessionFigures(session) {
  const cost = session.cost ? money(session.cost.amount_incl_vat, session.cost.currency) : "–";
  return h("dl", { class: "figures big-figures" },
    h("dt", {}, t("energy")), h("dd", { "data-energy": "" }, `${NUMBER.format(Number(session.energy_kwh || 0))} kWh`),
    h("dt", {}, t("power")), h("dd", { "data-power": "" }, session.power_kw === null || session.power_kw === undefined ? "–" : `${NUMBER.format(Number(session.power_kw))} kW`),
    h("dt", {}, t("duration")), h("dd", { "data-duration": "" }, duration(session.duration_s)),
    h("dt", {}, session.status === "active" ? t("cost") : t("cost_final")), h("dd", { "data-cost": "" }, cost));
}

function receiptButton(session, options = {}) {
  if (!session.receipt_url) return null;
  const status = h("span", { role: "status" });
  const button = h("button", { type: "button", class: "secondary", "data-receipt": session.id }, t("receipt"));
  button.addEventListener("click", async () => {
    status.textContent = "";
    try {
      await receiptDownload(session.receipt_url, `receipt-${session.id}.pdf`, options);
    } catch (error) {
      status.textContent = error.code === "receipt_not_ready" ? t("receipt_not_ready") : error.message;
    }
  });
  return h("span", {}, button, " ", status);
}

/** A live session view, shared by drivers and guests: `fetchSession` answers the session, `stopSession` stops it. */
function liveSession(view, { fetchSession, stopSession, receiptOptions, onMissing, onId }) {
  const area = h("div", { class: "session" });
  view.replaceChildren(area);
  let last = null;
  let drawnShape = "";
  let receiptTries = 0;
  let stopped = false;

  function draw(session) {
    const active = session.status === "active";
    if (last && last.status === "active" && !active) {
      // Ended while watched: the in-app notice (a push notification also comes when the driver allowed them).
      document.dispatchEvent(new CustomEvent("pwa:banner", { detail: t("session_ended") }));
    }
    // While nothing but the figures changes, only they are redrawn: the buttons keep their focus and state.
    const shape = [session.status, session.stoppable, session.receipt_url].join("|");
    if (last && shape === drawnShape) {
      area.querySelector(".figures").replaceWith(sessionFigures(session));
      last = session;
      return;
    }
    drawnShape = shape;
    const stop = session.stoppable
      ? h("button", { type: "button", class: "primary big danger", "data-stop": "", onclick: async (event) => {
          event.target.disabled = true;
          event.target.textContent = t("stopping");
          try {
            await stopSession(session);
          } catch (error) {
            event.target.disabled = false;
            event.target.textContent = t("stop");
            area.append(errorBox(error));
          }
        } }, t("stop"))
      : null;
    // replaceChildren writes a null as the text "null": only the parts that exist.
    area.replaceChildren(...[
      h("p", { class: "session-status", "data-session-status": session.status }, active ? t("session_active") : session.status === "completed" ? t("session_completed") : session.status),
      session.evse ? h("p", { class: "muted" }, [session.evse.location_name, session.evse.code].filter(Boolean).join(" · ")) : null,
      sessionFigures(session),
      !active && session.status === "completed" ? message("info", t("session_ended")) : null,
      stop,
      receiptButton(session, receiptOptions),
    ].filter(Boolean));
    last = session;
  }

  async function load() {
    let session;
    try {
      session = await fetchSession();
    } catch (error) {
      if (error.status === 404 && onMissing) return onMissing(error, area);
      if (!last) area.replaceChildren(errorBox(error));
      return;
    }
    if (!session || session.pending) {
      area.replaceChildren(message("info", t("session_pending")));
      return;
    }
    if (onId) onId(session);
    draw(session);
    if (session.status !== "active" && (session.receipt_url || ++receiptTries > 24)) stopped = true;
  }

  load();
  let timer = null;
  const tick = async () => {
    if (stopped) return;
    if (document.visibilityState === "visible") await load();
    timer = setTimeout(tick, last && last.status !== "active" ? 5000 : 3000);
  };
  timer = setTimeout(tick, 3000);
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

function signInFirst(view) {
  view.replaceChildren(message("info", t("sign_in_needed")),
    h("p", {}, h("button", { type: "button", class: "primary", onclick: () => signIn() }, t("sign_in")), " ",
      h("a", { href: "#", onclick: async (event) => { event.preventDefault(); location.assign(await signUpUrl()); } }, t("sign_up"))));
}

export function sessionPage(view, { params }) {
  setTitle(t("session"));
  if (!signedIn()) return signInFirst(view);
  let id = params[0];
  return liveSession(view, {
    fetchSession: () => api(id === "current" ? "/api/v1/me/sessions/current/" : `/api/v1/me/sessions/${encodeURIComponent(id)}/`, { auth: true }),
    stopSession: (session) => api(`/api/v1/me/sessions/${session.id}/stop/`, { method: "POST", auth: true }),
    receiptOptions: { auth: true },
    onId: (session) => {
      if (id === "current") {
        id = String(session.id);
        history.replaceState(null, "", `/app/sessions/${session.id}`);
      }
    },
  });
}

// --- History --------------------------------------------------------------------------------------------------

export function historyPage(view) {
  setTitle(t("history"));
  if (!signedIn()) return signInFirst(view);
  const list = h("ul", { class: "sessions" });
  const more = h("div");
  view.replaceChildren(list, more);
  const dateFormat = new Intl.DateTimeFormat(CONFIG.language, { dateStyle: "medium", timeStyle: "short" });

  async function page(url) {
    try {
      const answer = await api(url, { auth: true });
      const sessions = itemsOf(answer);
      if (!sessions.length && !list.children.length) list.append(h("li", { class: "muted" }, t("history_empty")));
      for (const session of sessions) {
        list.append(h("li", { class: "card", dataset: { session: session.id } },
          h("a", { href: `/app/sessions/${session.id}` }, dateFormat.format(new Date(session.started_at))),
          " · ", session.evse ? session.evse.location_name : "",
          h("p", { class: "muted" }, [
            `${NUMBER.format(Number(session.energy_kwh || 0))} kWh`,
            duration(session.duration_s),
            session.cost ? money(session.cost.amount_incl_vat, session.cost.currency) : null,
            session.status === "active" ? t("session_active") : null,
          ].filter(Boolean).join(" · ")),
          receiptButton(session, { auth: true })));
      }
      more.replaceChildren(answer && answer.next ? h("button", { type: "button", onclick: () => page(answer.next) }, "…") : "");
    } catch (error) {
      more.replaceChildren(errorBox(error));
    }
  }
  page("/api/v1/me/sessions/");
  roamingHistory(view, dateFormat);
}

/** The driver's sessions at other networks' chargers (the brand is their eMSP): shown only when there are some. */
function roamingHistory(view, dateFormat) {
  const list = h("ul", { class: "sessions" });
  const more = h("div");
  const section = h("section", { class: "roaming-sessions", hidden: true }, h("h2", {}, t("history_roaming")), list, more);
  view.append(section);

  async function page(url) {
    try {
      const answer = await api(url, { auth: true });
      const sessions = itemsOf(answer);
      if (sessions.length) section.hidden = false;
      for (const session of sessions) {
        const place = [session.location.name, session.location.city].filter(Boolean).join(", ") || session.location.operator;
        list.append(h("li", { class: "card", dataset: { roamingSession: session.id } },
          session.started_at ? dateFormat.format(new Date(session.started_at)) : "",
          " · ", place,
          h("p", { class: "muted" }, [
            `${NUMBER.format(Number(session.energy_kwh || 0))} kWh`,
            session.cost ? money(session.cost.amount_incl_vat, session.cost.currency) : null,
            session.status === "active" ? t("session_active") : null,
            t("history_roaming_network", { network: session.location.network }),
          ].filter(Boolean).join(" · ")),
          receiptButton(session, { auth: true })));
      }
      more.replaceChildren(answer && answer.next ? h("button", { type: "button", onclick: () => page(answer.next) }, "…") : "");
    } catch (error) {
      section.hidden = false;
      more.replaceChildren(errorBox(error));
    }
  }
  page("/api/v1/me/roaming-sessions/");
}

// --- Account: cards, payment methods, notifications -----------------------------------------------------------

function fieldErrors(form, error) {
  form.querySelectorAll(".field-error").forEach((node) => node.remove());
  for (const [name, messages] of Object.entries(error.fields || {})) {
    const input = form.querySelector(`[name="${CSS.escape(name)}"]`);
    const text = Array.isArray(messages) ? messages.join(" ") : String(messages);
    const note = h("p", { class: "field-error", role: "alert", id: `error-${name}` }, text);
    if (input) {
      input.setAttribute("aria-describedby", note.id);
      input.after(note);
    } else form.append(note);
  }
}

function cardsSection() {
  const list = h("ul", { class: "plain" });
  const status = h("div", { "aria-live": "polite" });
  const form = h("form", { class: "card" },
    h("div", { class: "field" }, h("label", { for: "card-uid" }, t("card_uid")), h("input", { id: "card-uid", name: "uid", required: true, autocomplete: "off" })),
    h("div", { class: "field" }, h("label", { for: "card-label" }, t("card_label")), h("input", { id: "card-label", name: "label", autocomplete: "off" })),
    h("button", { type: "submit", class: "primary" }, t("card_add")));
  async function load() {
    try {
      const cards = itemsOf(await api("/api/v1/me/cards/", { auth: true }));
      list.replaceChildren(...(cards.length ? cards.map((card) => h("li", { dataset: { card: card.id } }, `${card.label || card.uid} (${card.uid}) `,
        h("button", { type: "button", class: "link", onclick: async () => {
          if (!confirm(t("remove_confirm", { name: card.label || card.uid }))) return;
          try {
            await api(`/api/v1/me/cards/${card.id}/`, { method: "DELETE", auth: true });
            status.replaceChildren(message("info", t("removed")));
            load();
          } catch (error) {
            status.replaceChildren(errorBox(error));
          }
        } }, t("remove")))) : [h("li", { class: "muted" }, t("cards_empty"))]));
    } catch (error) {
      status.replaceChildren(errorBox(error));
    }
  }
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await api("/api/v1/me/cards/", { method: "POST", auth: true, body: { uid: form.uid.value.trim(), label: form.label.value.trim() } });
      form.reset();
      fieldErrors(form, {});
      status.replaceChildren(message("info", t("saved")));
      load();
    } catch (error) {
      fieldErrors(form, error);
      status.replaceChildren(errorBox(error));
    }
  });
  load();
  return h("section", { "aria-labelledby": "cards-title" }, h("h2", { id: "cards-title" }, t("cards")), list, status, form);
}

/** The sandbox card form: Stripe's test card numbers mapped to their test payment methods in the browser. The
 * number fields have no name, so even a plain form submission could not send them anywhere. */
function testCardForm(submitLabel, onPaymentMethod, extraFields = []) {
  const form = h("form", { class: "card", autocomplete: "off" },
    message("info", t("sandbox_notice")),
    ...extraFields,
    h("div", { class: "field" }, h("label", { for: "cc-number" }, t("card_number")), h("input", { id: "cc-number", inputmode: "numeric", autocomplete: "cc-number", required: true })),
    h("div", { class: "row" },
      h("div", { class: "field" }, h("label", { for: "cc-expiry" }, t("card_expiry")), h("input", { id: "cc-expiry", autocomplete: "cc-exp", placeholder: "12/34", size: "6" })),
      h("div", { class: "field" }, h("label", { for: "cc-cvc" }, t("card_cvc")), h("input", { id: "cc-cvc", inputmode: "numeric", autocomplete: "cc-csc", size: "4" }))),
    h("div", { "data-card-status": "", "aria-live": "polite" }),
    h("button", { type: "submit", class: "primary" }, submitLabel));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const status = form.querySelector("[data-card-status]");
    const paymentMethod = testPaymentMethod(form.querySelector("#cc-number").value);
    if (!paymentMethod) {
      status.replaceChildren(message("error", t("use_test_card")));
      return;
    }
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    status.replaceChildren();
    try {
      await onPaymentMethod(paymentMethod, form);
    } catch (error) {
      fieldErrors(form, error);
      status.replaceChildren(errorBox(error));
    } finally {
      button.disabled = false;
    }
  });
  return form;
}

function paymentSection() {
  const list = h("ul", { class: "plain" });
  const status = h("div", { "aria-live": "polite" });
  const adding = h("div");
  async function act(path, method) {
    try {
      await api(path, { method, auth: true });
      status.replaceChildren(message("info", method === "DELETE" ? t("removed") : t("saved")));
      load();
    } catch (error) {
      status.replaceChildren(errorBox(error));
    }
  }
  async function load() {
    try {
      const methods = itemsOf(await api("/api/v1/me/payment-methods/", { auth: true }));
      list.replaceChildren(...(methods.length ? methods.map((method) => h("li", { dataset: { paymentMethod: method.id } },
        t("card_expires", { brand: method.brand, last4: method.last4, month: method.expiry_month, year: method.expiry_year }), " ",
        method.is_default ? h("strong", {}, t("payment_default")) : h("button", { type: "button", class: "link", onclick: () => act(`/api/v1/me/payment-methods/${method.id}/default/`, "POST") }, t("make_default")),
        " ", h("button", { type: "button", class: "link", onclick: () => confirm(t("remove_confirm", { name: method.last4 })) && act(`/api/v1/me/payment-methods/${method.id}/`, "DELETE") }, t("remove"))))
        : [h("li", { class: "muted" }, t("payment_methods_empty"))]));
    } catch (error) {
      status.replaceChildren(errorBox(error));
    }
  }
  (async () => {
    try {
      const setup = await api("/api/v1/me/payment-methods/setup/", { auth: true });
      if (setup && setup.provider && setup.sandbox) {
        adding.replaceChildren(h("h3", {}, t("add_payment_card")), testCardForm(t("card_save"), async (paymentMethod, form) => {
          await api("/api/v1/me/payment-methods/", { method: "POST", auth: true, body: { provider_reference: paymentMethod } });
          form.reset();
          status.replaceChildren(message("info", t("saved")));
          load();
        }));
      } else adding.replaceChildren(message("warning", t("card_entry_unavailable")));
    } catch (error) {
      adding.replaceChildren(errorBox(error));
    }
  })();
  load();
  return h("section", { id: "payment-methods", "aria-labelledby": "pm-title" }, h("h2", { id: "pm-title" }, t("payment_methods")), list, status, adding);
}

function urlBase64ToBytes(text) {
  const base64 = (text + "=".repeat((4 - (text.length % 4)) % 4)).replace(/-/g, "+").replace(/_/g, "/");
  return Uint8Array.from(atob(base64), (char) => char.charCodeAt(0));
}

/** Subscribes this browser to Web Push for the driver (when notifications are allowed); true when subscribed. */
export async function pushSubscribe() {
  if (!("serviceWorker" in navigator) || !("PushManager" in window) || !("Notification" in window)) return false;
  if (Notification.permission === "default") await Notification.requestPermission();
  if (Notification.permission !== "granted") return false;
  const { vapid_public_key: key } = await api("/api/v1/me/push/", { auth: true });
  if (!key) return false;
  const registration = await navigator.serviceWorker.ready;
  const subscription = (await registration.pushManager.getSubscription())
    || (await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: urlBase64ToBytes(key) }));
  await api("/api/v1/me/push-subscriptions/", { method: "POST", auth: true, body: subscription.toJSON() });
  return true;
}

function pushSubscribeIfAllowed() {
  if ("Notification" in window && Notification.permission === "granted") pushSubscribe().catch(() => null);
}

function notificationSection() {
  const status = h("div", { "aria-live": "polite" });
  const button = h("button", { type: "button", class: "secondary", onclick: async () => {
    try {
      status.replaceChildren(message("info", (await pushSubscribe()) ? t("notifications_enabled") : t("notifications_blocked")));
    } catch (error) {
      status.replaceChildren(message("warning", t("notifications_blocked")));
    }
  } }, t("notifications_on"));
  return h("section", { "aria-labelledby": "notify-title" }, h("h2", { id: "notify-title" }, t("notifications")), button, status);
}

export function accountPage(view, { navigate }) {
  setTitle(t("account"));
  if (!signedIn()) return signInFirst(view);
  const who = h("p", {});
  view.replaceChildren(who, h("button", { type: "button", class: "secondary", onclick: async () => {
    await signOut();
    navigate("/app/");
  } }, t("sign_out")), cardsSection(), paymentSection(), notificationSection());
  api("/api/v1/me/", { auth: true }).then((me) => who.replaceChildren(t("signed_in_as", { name: me.name || me.email })), (error) => who.replaceChildren(errorBox(error)));
}

// --- Guest charging: pay by card, no account ------------------------------------------------------------------

export function guestPage(view, { navigate }) {
  setTitle(t("guest"));
  const secret = guestToken();
  if (secret) {
    return liveSession(view, {
      fetchSession: () => api("/api/v1/guest/sessions/current/", { guest: secret }),
      stopSession: () => api("/api/v1/guest/sessions/current/stop/", { method: "POST", guest: secret }),
      receiptOptions: { guest: secret },
      onMissing: (error, area) => {
        guestTokenKeep(null);
        area.replaceChildren(message("warning", t("guest_lost")), h("p", {}, h("a", { href: "/app/" }, t("back_to_map"))));
      },
    });
  }
  const code = new URLSearchParams(location.search).get("evse") || "";
  const fields = [
    h("div", { class: "field" }, h("label", { for: "guest-evse" }, t("code_label")), h("input", { id: "guest-evse", name: "evse", required: true, value: code, autocomplete: "off" })),
    h("div", { class: "field" }, h("label", { for: "guest-email" }, t("guest_email")), h("input", { id: "guest-email", name: "email", type: "email", autocomplete: "email" })),
  ];
  if (!CONFIG.payments.provider) {
    view.replaceChildren(message("warning", t("guest_unavailable")), h("p", {}, h("a", { href: "/app/" }, t("back_to_map"))));
    return;
  }
  if (!CONFIG.payments.sandbox) {
    view.replaceChildren(message("warning", t("card_entry_unavailable")), h("p", {}, h("a", { href: "/app/" }, t("back_to_map"))));
    return;
  }
  const form = testCardForm(t("guest_start"), async (paymentMethod, form) => {
    const body = { evse: codeOf(form.evse.value), payment_method: paymentMethod };
    if (form.email.value.trim()) body.email = form.email.value.trim();
    const answer = await api("/api/v1/guest/charges/", { method: "POST", body });
    guestTokenKeep(answer.guest_token);
    navigate("/app/guest");
  }, fields);
  view.replaceChildren(h("p", {}, t("guest_intro")), form);
}
