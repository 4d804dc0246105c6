// Keeps the station list live: every few seconds the rows are fetched again and swapped in place, unless the
// operator has selected rows for an action (their selection must not vanish under them).
(function () {
  "use strict";
  var REFRESH_MS = 5000;

  function selectionActive(table) {
    return table.querySelector("tbody input.action-select:checked") !== null;
  }

  function refresh() {
    var table = document.getElementById("result_list");
    if (!table || document.hidden || selectionActive(table)) {
      return;
    }
    fetch(window.location.href, { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } })
      .then(function (response) { return response.ok ? response.text() : Promise.reject(response.status); })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html").querySelector("#result_list tbody");
        var current = document.querySelector("#result_list tbody");
        if (fresh && current && !selectionActive(table)) {
          current.replaceWith(fresh);
        }
      })
      .catch(function () { /* the next tick tries again */ });
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (document.getElementById("result_list")) {
      window.setInterval(refresh, REFRESH_MS);
    }
  });
})();
