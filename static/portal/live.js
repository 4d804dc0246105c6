/* Live updates of portal pages over the websocket /portal/live/.
 *
 * Any element with a matching data attribute is updated:
 *   data-station-online="<station>"                 Online / Offline
 *   data-station-status="<station>"                 the station-wide status (connector 0)
 *   data-connector-status="<station>:<evse>:<connector>"
 *   data-session-power / data-session-energy / data-session-status="<session>"
 *   data-session-duration="<ISO start>"             counts up every second
 *   data-status-count="<status>"                    recounted from the connector badges on the page
 *   data-online-count                               recounted from the connection badges
 *   tbody[data-live-sessions] (optional data-station="<station>")  gets a row for a session that starts
 *   data-command-status="<command>"
 *   select[data-live-session-choice] (in a form inside [data-station-page="<station>"]) gains a session that starts
 *                                                   and loses one that ends: the remote stop's choice
 * Changes are announced politely in #live-announcer; every badge shows its status as text, not by colour alone.
 * The connection comes back after a loss with exponential backoff (1 s doubling to 30 s, with jitter).
 * Each time it opens, the page's live parts are taken again from a fresh copy of the page: an event sent between
 * the page's rendering and the subscription (a session started right after a form posted), or while the
 * connection was down, is not lost.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  var texts = script ? script.dataset : {};
  var announcer = document.getElementById("live-announcer");
  var retryDelay = 1000;

  function format(template, values) {
    return (template || "").replace(/%\((\w+)\)s/g, function (_, name) { return values[name] == null ? "" : values[name]; });
  }

  function announce(text) {
    if (!announcer || !text) return;
    var item = document.createElement("p");
    item.textContent = text;
    announcer.appendChild(item);
    while (announcer.childNodes.length > 5) announcer.removeChild(announcer.firstChild);
  }

  function each(selector, callback) {
    Array.prototype.forEach.call(document.querySelectorAll(selector), callback);
  }

  function statusClass(status) {
    return String(status || "unknown").toLowerCase().replace(/\s+/g, "-");
  }

  function setBadge(element, status) {
    element.textContent = status;
    element.className = "status " + statusClass(status);
  }

  function kw(watts) { return watts == null ? "–" : (Number(watts) / 1000).toFixed(2); }
  function kwh(wh) { return wh == null ? "–" : (Number(wh) / 1000).toFixed(3); }

  function recount() {
    var counters = document.querySelectorAll("[data-status-count]");
    if (!counters.length) return;
    var counts = {};
    each("[data-connector-status]", function (badge) {
      var status = badge.textContent.trim() || "Unknown";
      counts[status] = (counts[status] || 0) + 1;
    });
    var list = document.querySelector("[data-status-counts]");
    var known = {};
    Array.prototype.forEach.call(counters, function (counter) {
      known[counter.dataset.statusCount] = true;
      counter.textContent = counts[counter.dataset.statusCount] || 0;
    });
    Object.keys(counts).forEach(function (status) {
      if (known[status] || !list) return;
      var item = document.createElement("li");
      var badge = document.createElement("span");
      setBadge(badge, status);
      var count = document.createElement("strong");
      count.dataset.statusCount = status;
      count.textContent = counts[status];
      item.appendChild(badge);
      item.appendChild(document.createTextNode(" "));
      item.appendChild(count);
      list.appendChild(item);
    });
  }

  function identityOf(stationId) {
    var element = document.querySelector('[data-station-identity][data-station-status="' + stationId + '"], [data-station-identity][data-connector-status^="' + stationId + ':"]');
    return element ? element.dataset.stationIdentity : "#" + stationId;
  }

  // A row for a session that just started, in every live-session table of the page; the table says which columns
  // it has (data-columns), so the same code serves the sessions page and the station page.
  function sessionRow(event) {
    var data = event.data;
    var values = {
      session: null,
      station: identityOf(event.station_id),
      evse: data.evse_id == null ? "–" : data.evse_id,
      token: "",
      started: data.started_at || "",
      duration: "0:00:00",
      power: kw(data.power_w),
      energy: kwh(data.energy_wh),
      status: sessionStatus(data.status)
    };
    each("tbody[data-live-sessions]", function (body) {
      if (body.dataset.station && body.dataset.station !== String(event.station_id)) return;
      if (body.querySelector('[data-session-row="' + data.session_id + '"]')) return;
      var empty = body.querySelector("tr.empty");
      if (empty) empty.remove();
      var row = document.createElement("tr");
      row.dataset.sessionRow = data.session_id;
      (body.dataset.columns || "session,power,energy").split(",").forEach(function (column) {
        var cell = document.createElement(column === "session" ? "th" : "td");
        if (column === "session") {
          cell.scope = "row";
          var link = document.createElement("a");
          link.href = "/portal/sessions/" + Number(data.session_id) + "/";
          link.textContent = data.session_id;
          cell.appendChild(link);
        } else {
          cell.textContent = values[column] == null ? "" : values[column];
        }
        if (column === "power") cell.dataset.sessionPower = data.session_id;
        if (column === "energy") cell.dataset.sessionEnergy = data.session_id;
        if (column === "status") cell.dataset.sessionStatus = data.session_id;
        if (column === "duration" && data.started_at) cell.dataset.sessionDuration = data.started_at;
        row.appendChild(cell);
      });
      body.insertBefore(row, body.firstChild);
    });
  }

  // The session's status in words, as the server renders it (data-text-session-<status> on the script tag).
  function sessionStatus(status) {
    return texts["textSession" + String(status).replace(/(^|_)(\w)/g, function (_, __, letter) { return letter.toUpperCase(); })] || status;
  }

  function sessionChoices(event, started) {
    var page = document.querySelector('[data-station-page="' + event.station_id + '"]');
    if (!page) return;
    var id = String(event.data.session_id);
    each("select[data-live-session-choice]", function (select) {
      var existing = select.querySelector('option[value="' + id + '"]');
      if (started && !existing) {
        var option = document.createElement("option");
        option.value = id;
        option.textContent = identityOf(event.station_id) + " #" + event.data.transaction_id;
        select.appendChild(option);
      } else if (!started && existing) {
        existing.remove();
      }
    });
  }

  function sessionValues(data) {
    each('[data-session-power="' + data.session_id + '"]', function (cell) {
      cell.textContent = data.status === "active" ? kw(data.power_w) : "–";
    });
    each('[data-session-energy="' + data.session_id + '"]', function (cell) { cell.textContent = kwh(data.energy_wh); });
    each('[data-session-status="' + data.session_id + '"]', function (cell) { cell.textContent = sessionStatus(data.status); });
  }

  var handlers = {
    "station.status_changed": function (event) {
      var data = event.data;
      var selector = data.evse_id === 0
        ? '[data-station-status="' + event.station_id + '"]'
        : '[data-connector-status="' + event.station_id + ":" + data.evse_id + ":" + data.connector_id + '"]';
      each(selector, function (badge) { setBadge(badge, data.status); });
      recount();
      var where = identityOf(event.station_id) + (data.evse_id ? " " + data.evse_id + "/" + data.connector_id : "");
      announce(format(texts.textStatus, { station: where, status: data.status }));
    },
    "station.connected": function (event) { online(event, true); },
    "station.disconnected": function (event) { online(event, false); },
    "session.started": function (event) {
      sessionRow(event);
      sessionChoices(event, true);
      sessionValues(event.data);
      announce(format(texts.textSessionStarted, { station: identityOf(event.station_id) }));
    },
    "session.updated": function (event) { sessionValues(event.data); },
    "session.ended": function (event) {
      sessionValues(event.data);
      sessionChoices(event, false);
      announce(format(texts.textSessionEnded, { station: identityOf(event.station_id) }));
    },
    "fault.opened": function (event) {
      announce(format(texts.textFault, { station: identityOf(event.station_id), code: event.data.code }));
    },
    "command.completed": function (event) {
      each('[data-command-status="' + event.data.command_id + '"]', function (badge) { setBadge(badge, event.data.status); });
    }
  };

  function online(event, isOnline) {
    each('[data-station-online="' + event.station_id + '"]', function (badge) {
      badge.textContent = isOnline ? texts.textOnline : texts.textOffline;
      badge.className = "status " + (isOnline ? "available" : "offline");
    });
    var counter = document.querySelector("[data-online-count]");
    if (counter) {
      var seen = {};
      each("[data-station-online]", function (badge) {
        if (badge.classList.contains("available")) seen[badge.dataset.stationOnline] = true;
      });
      counter.textContent = Object.keys(seen).length;
    }
    announce(identityOf(event.station_id) + ": " + (isOnline ? texts.textOnline : texts.textOffline));
  }

  function tickDurations() {
    var now = Date.now();
    each("[data-session-duration]", function (cell) {
      var started = Date.parse(cell.dataset.sessionDuration);
      if (isNaN(started)) return;
      var seconds = Math.max(0, Math.floor((now - started) / 1000));
      var minutes = Math.floor(seconds / 60) % 60;
      var pad = function (value) { return value < 10 ? "0" + value : String(value); };
      cell.textContent = Math.floor(seconds / 3600) + ":" + pad(minutes) + ":" + pad(seconds % 60);
    });
  }

  // The live parts of the page, each found again in a fresh copy by the attribute that names it.
  var LIVE_PARTS = [
    ["tbody[data-live-sessions]", "data-station"],
    ["select[data-live-session-choice]", "name"],
    ["[data-connector-status]", "data-connector-status"],
    ["[data-station-online]", "data-station-online"],
    ["[data-station-status]", "data-station-status"],
    ["[data-command-status]", "data-command-status"]
  ];

  function resync() {
    if (!window.fetch || !window.DOMParser) return;
    window.fetch(window.location.href, { credentials: "same-origin", headers: { "X-Requested-With": "live-resync" } })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (!html) return;
        var fresh = new DOMParser().parseFromString(html, "text/html");
        LIVE_PARTS.forEach(function (part) {
          var selector = part[0], key = part[1];
          each(selector, function (element) {
            var value = element.getAttribute(key);
            var match = Array.prototype.find.call(fresh.querySelectorAll(selector), function (candidate) {
              return candidate.getAttribute(key) === value;
            });
            if (!match) return;
            if (element.tagName === "SELECT") {
              var chosen = element.value;
              element.innerHTML = match.innerHTML;
              if (element.querySelector('option[value="' + chosen + '"]')) element.value = chosen;
            } else if (element.innerHTML !== match.innerHTML) {
              element.innerHTML = match.innerHTML;
              Array.prototype.forEach.call(match.attributes, function (attribute) {
                element.setAttribute(attribute.name, attribute.value);
              });
            }
          });
        });
        document.dispatchEvent(new CustomEvent("portal:resynced"));
      })
      .catch(function () {});
  }

  function connect() {
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    var socket = new WebSocket(scheme + window.location.host + ((script && script.dataset.liveUrl) || "/portal/live/"));
    socket.onopen = function () {
      retryDelay = 1000;
      document.documentElement.dataset.live = "connected";
      resync();
    };
    socket.onmessage = function (message) {
      var event;
      try { event = JSON.parse(message.data); } catch (error) { return; }
      var handler = handlers[event.kind];
      if (handler) handler(event);
      document.dispatchEvent(new CustomEvent("portal:live", { detail: event }));
    };
    socket.onclose = function () {
      document.documentElement.dataset.live = "reconnecting";
      var delay = retryDelay * (0.8 + Math.random() * 0.4);
      retryDelay = Math.min(retryDelay * 2, 30000);
      window.setTimeout(connect, delay);
    };
  }

  if (window.WebSocket) {
    connect();
    window.setInterval(tickDurations, 1000);
  }
})();
