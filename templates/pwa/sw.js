/* The driver app's service worker, served from /app/sw.js so that its scope is /app/.
 * - install: caches the shell and the app's files under a cache named after this version;
 * - activate: deletes the caches of earlier versions;
 * - navigations: the network, else (offline, or no answer within 5 s) the cached shell (every page of the app is
 *   that shell);
 * - /api/v1/network/…: the network, else (the same) the last answer cached ("last known stations" offline);
 * - static files: the cache, else the network;
 * - push / notificationclick: a notification when a session ends, opening its page. */
"use strict";
const CONFIG = {{ sw_config|safe }};
const CACHE = "pwa-" + CONFIG.version;
const NETWORK_CACHE = "pwa-network";
const NETWORK_PREFIX = "/api/v1/network/";

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches.open(CACHE)
      .then((cache) => cache.addAll([CONFIG.shell, ...CONFIG.assets]))
      .then(() => self.skipWaiting())
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((names) => Promise.all(
        names.filter((name) => name.startsWith("pwa-") && name !== CACHE && name !== NETWORK_CACHE)
          .map((name) => caches.delete(name))
      ))
      .then(() => self.clients.claim())
  );
});

function networkKey(url) {
  // The list of locations is kept under one key whatever its filters: offline, the last list seen is shown.
  return url.pathname === NETWORK_PREFIX + "locations/" ? url.origin + url.pathname : url.href;
}

// A network that does not answer within this time is taken as none ("lie-fi"): the stored copy is shown, and a
// late answer still refreshes the store.
const NETWORK_PATIENCE_MS = 5000;

function patience() {
  return new Promise((resolve) => setTimeout(resolve, NETWORK_PATIENCE_MS, null));
}

async function networkFirst(request, url) {
  const cache = await caches.open(NETWORK_CACHE);
  const network = fetch(request).then(async (response) => {
    if (response.ok) {
      await cache.put(networkKey(url), response.clone());
      if (networkKey(url) !== url.href) await cache.put(url.href, response.clone());
    }
    return response;
  });
  network.catch(() => null); // a late failure, after the stored copy was shown, is no error
  const stored = async () => {
    const cached = (await cache.match(url.href)) || (await cache.match(networkKey(url)));
    if (!cached) return null;
    // Tell the app it sees a stored answer, and from when.
    const headers = new Headers(cached.headers);
    headers.set("X-Pwa-Offline", headers.get("Date") || "1");
    return new Response(await cached.blob(), { status: cached.status, headers });
  };
  try {
    const first = await Promise.race([network, patience()]);
    if (first) return first;
    return (await stored()) || (await network);
  } catch (error) {
    const cached = await stored();
    if (!cached) throw error;
    return cached;
  }
}

async function navigation(request) {
  const shell = () => caches.match(CONFIG.shell, { cacheName: CACHE });
  const network = fetch(request);
  network.catch(() => null);
  try {
    const first = await Promise.race([network, patience()]);
    if (first) return first;
    return (await shell()) || (await network);
  } catch (error) {
    const cached = await shell();
    if (cached) return cached;
    throw error;
  }
}

async function cacheFirst(request) {
  const cached = await caches.match(request, { cacheName: CACHE });
  return cached || fetch(request);
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === "navigate" && url.pathname.startsWith(CONFIG.shell)) {
    event.respondWith(navigation(request));
  } else if (url.pathname.startsWith(NETWORK_PREFIX) && !request.headers.has("Authorization")) {
    event.respondWith(networkFirst(request, url));
  } else if (CONFIG.assets.includes(url.pathname)) {
    event.respondWith(cacheFirst(request));
  }
});

self.addEventListener("push", (event) => {
  let payload = {};
  try {
    payload = event.data ? event.data.json() : {};
  } catch (error) {
    payload = { body: event.data ? event.data.text() : "" };
  }
  const title = payload.title || self.registration.scope;
  event.waitUntil(
    self.registration.showNotification(title, {
      body: payload.body || "",
      icon: CONFIG.assets.find((asset) => asset.endsWith("/192.png")),
      tag: payload.session_id ? "session-" + payload.session_id : undefined,
      data: { url: payload.url || CONFIG.shell },
    })
  );
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const target = new URL(event.notification.data && event.notification.data.url || CONFIG.shell, self.location.origin);
  // Only pages of the app: a payload cannot send the driver elsewhere.
  if (target.origin !== self.location.origin || !target.pathname.startsWith(CONFIG.shell)) return;
  event.waitUntil(
    self.clients.matchAll({ type: "window", includeUncontrolled: true }).then((windows) => {
      for (const client of windows) {
        if (new URL(client.url).pathname.startsWith(CONFIG.shell) && "focus" in client) {
          client.navigate(target.href);
          return client.focus();
        }
      }
      return self.clients.openWindow(target.href);
    })
  );
});
