// The map beside a list of relays: one marker per list item. Without
// Leaflet, or when tiles cannot load, the list stays and says it all.
(function () {
  "use strict";
  var element = document.getElementById("map");
  var items = document.querySelectorAll("#relay-list li[data-lat]");
  if (!element || !window.L || !items.length) { return; }
  var map = L.map(element, { scrollWheelZoom: false });
  var tiles = element.getAttribute("data-tiles");
  if (tiles) {
    L.tileLayer(tiles, { maxZoom: 18,
      attribution: "&copy; OpenStreetMap contributors" }).addTo(map);
  }
  var points = [];
  items.forEach(function (item) {
    var point = [parseFloat(item.getAttribute("data-lat")), parseFloat(item.getAttribute("data-lng"))];
    var link = document.createElement("a");
    link.href = item.getAttribute("data-url");
    link.textContent = item.getAttribute("data-name");
    L.marker(point, { title: item.getAttribute("data-name"), alt: item.getAttribute("data-name") })
      .addTo(map).bindPopup(link);
    points.push(point);
  });
  var homeLat = element.getAttribute("data-home-lat");
  if (homeLat) {
    var home = [parseFloat(homeLat), parseFloat(element.getAttribute("data-home-lng"))];
    L.circleMarker(home, { radius: 8 }).addTo(map);
    points.push(home);
  }
  if (points.length === 1) { map.setView(points[0], 12); } else { map.fitBounds(points, { padding: [30, 30] }); }
})();
