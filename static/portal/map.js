/* The overview's map: a marker per located station, its status in the popup and the marker's label, updated live.
 * The list above it is the primary view; without Leaflet or tiles the map stays empty and the page works. */
(function () {
  "use strict";
  var element = document.getElementById("station-map");
  var source = document.getElementById("station-markers");
  if (!element || !source || !window.L) return;
  var stations = JSON.parse(source.textContent);
  if (!stations.length) { element.hidden = true; return; }
  var map = L.map(element, { scrollWheelZoom: false });
  L.tileLayer(element.dataset.tileUrl, { maxZoom: 19, attribution: element.dataset.attribution }).addTo(map);
  var markers = {};
  var bounds = [];
  stations.forEach(function (station) {
    var marker = L.marker([station.lat, station.lng], { title: station.identity + ": " + station.status, alt: station.identity });
    marker.bindPopup("");
    marker.station = station;
    render(marker);
    marker.addTo(map);
    markers[station.id] = marker;
    bounds.push([station.lat, station.lng]);
  });
  map.fitBounds(bounds, { padding: [30, 30], maxZoom: 14 });

  function render(marker) {
    var station = marker.station;
    var popup = document.createElement("div");
    var link = document.createElement("a");
    link.href = "/portal/stations/" + station.id + "/";
    link.textContent = station.identity;
    popup.appendChild(link);
    popup.appendChild(document.createTextNode(" · " + station.status));
    marker.setPopupContent(popup);
    var icon = marker.getElement && marker.getElement();
    if (icon) icon.title = station.identity + ": " + station.status;
  }

  document.addEventListener("portal:live", function (event) {
    var live = event.detail;
    var marker = markers[live.station_id];
    if (!marker || live.kind !== "station.status_changed" || live.data.evse_id !== 0) return;
    marker.station.status = live.data.status;
    render(marker);
  });
})();
