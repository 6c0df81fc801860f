/* The workbench's charts (/admin/numbers) and map (/admin/map), drawn from the JSON the page embeds:
 * <script type="application/json" id="desk-charts-data"> (chart specs by table name; each chart sits in a
 * <div data-chart="NAME">) and id="desk-map-data" (buildings with lat/lng and open/urgent/overdue counts).
 * Every number drawn is also in the table under the chart; labels come from the page (the catalogue). */
(function () {
  "use strict";

  var PALETTE = ["#1664ff", "#00a870", "#ff8800", "#8d4eda", "#e34d59", "#14c9c9"];
  var RED = "#e34d59", ORANGE = "#ff8800", BLUE = "#1664ff";

  function data(id) {
    var node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : null;
  }

  function base(spec) {
    return {
      color: PALETTE,
      animation: false,
      tooltip: { trigger: spec.kind === "pie" ? "item" : "axis" },
      legend: { top: 0, type: "scroll" },
      grid: { left: 48, right: 24, top: 40, bottom: 56, containLabel: true }
    };
  }

  function axes(spec, type) {
    var option = base(spec);
    option.xAxis = { type: "category", data: spec.labels, axisLabel: { interval: spec.labels.length > 16 ? "auto" : 0, rotate: spec.labels.length > 8 ? 40 : 0 } };
    option.yAxis = { type: "value", max: spec.max, axisLabel: { formatter: "{value}" + (spec.unit || "") } };
    option.series = spec.series.map(function (s) {
      return { name: s.name, type: type, data: s.values, smooth: false, symbolSize: 6,
               connectNulls: false, barMaxWidth: 28 };
    });
    return option;
  }

  function pie(spec) {
    var option = base(spec);
    option.color = [BLUE, "#00a870", RED, "#c0c4cc"];
    option.series = [{
      name: spec.series[0].name, type: "pie", radius: ["35%", "65%"], top: 24,
      label: { formatter: "{b} {c} ({d}%)" },
      data: spec.labels.map(function (label, i) { return { name: label, value: spec.series[0].values[i] }; })
    }];
    return option;
  }

  function draw(node, option) {
    var chart = echarts.init(node, null, { renderer: "canvas" });
    chart.setOption(option);
    window.addEventListener("resize", function () { chart.resize(); });
    return chart;
  }

  function charts() {
    var specs = data("desk-charts-data");
    if (!specs || typeof echarts === "undefined") { return; }
    document.querySelectorAll("[data-chart]").forEach(function (node) {
      var spec = specs[node.getAttribute("data-chart")];
      if (!spec) { return; }
      var option = spec.kind === "pie" ? pie(spec) : axes(spec, spec.kind === "lines" ? "line" : "bar");
      draw(node, option);
    });
  }

  function colour(b) { return b.overdue ? RED : (b.urgent ? ORANGE : BLUE); }
  function sizer(buildings) {   // 6 px for none, up to 30 px for the building with the most
    var most = Math.max.apply(null, buildings.map(function (b) { return b.open; }).concat([1]));
    return function (b) { return 6 + 24 * Math.sqrt(b.open / most); };
  }
  function caption(b, labels) {
    return b.name + "\n" + labels.open + " " + b.open + " · " + labels.urgent + " " + b.urgent +
      " · " + labels.overdue + " " + b.overdue;
  }

  function text(words) {   // a tooltip as text, never as markup (names come from the roster)
    var node = document.createElement("span");
    node.style.whiteSpace = "pre";
    node.textContent = words;
    return node;
  }

  function plane(range) {   // a plain plan: faint lines, no degrees written
    return { type: "value", min: range[0], max: range[1], scale: true, axisLabel: { show: false },
             axisTick: { show: false }, axisLine: { show: false }, splitLine: { lineStyle: { color: "#f0f1f2" } } };
  }

  function schematic(node, map) {
    var lats = map.buildings.map(function (b) { return b.lat; });
    var lngs = map.buildings.map(function (b) { return b.lng; });
    var pad = function (lo, hi) { var d = Math.max((hi - lo) * 0.15, 0.0004); return [lo - d, hi + d]; };
    var x = pad(Math.min.apply(null, lngs), Math.max.apply(null, lngs));
    var y = pad(Math.min.apply(null, lats), Math.max.apply(null, lats));
    var size = sizer(map.buildings);
    draw(node, {
      animation: false,
      grid: { left: 16, right: 16, top: 16, bottom: 16 },
      dataZoom: [{ type: "inside", xAxisIndex: 0, filterMode: "none" },
                 { type: "inside", yAxisIndex: 0, filterMode: "none" }],
      tooltip: { trigger: "item",
                 formatter: function (p) { return echarts.format.encodeHTML(caption(p.data.b, map.labels)).replace("\n", "<br>"); } },
      xAxis: plane(x), yAxis: plane(y),
      series: [{
        type: "scatter",
        data: map.buildings.map(function (b) {
          return { value: [b.lng, b.lat], b: b, symbolSize: size(b), itemStyle: { color: colour(b), opacity: 0.85 } };
        }),
        label: { show: true, position: "right", color: "#1f2329",
                 formatter: function (p) { return p.data.b.name + " (" + p.data.b.open + ")"; } },
        labelLayout: { hideOverlap: true }
      }]
    });
  }

  function tiled(node, map) {
    var view = L.map(node, { attributionControl: true });
    var size = sizer(map.buildings);
    L.tileLayer(map.tiles, { maxZoom: 19, attribution: map.attribution }).addTo(view);
    var marks = map.buildings.map(function (b) {
      return L.circleMarker([b.lat, b.lng], { radius: size(b) / 2, color: colour(b), fillColor: colour(b), fillOpacity: 0.7 })
        .bindTooltip(text(caption(b, map.labels)), { permanent: map.buildings.length <= 12, direction: "right" })
        .addTo(view);
    });
    var bounds = L.featureGroup(marks).getBounds();
    view.fitBounds(bounds.pad(0.3), { maxZoom: 18 });
  }

  function buildings() {
    var map = data("desk-map-data");
    var node = document.getElementById("desk-map");
    if (!map || !node || !map.buildings.length) { return; }
    if (map.tiles && typeof L !== "undefined") { tiled(node, map); }
    else if (typeof echarts !== "undefined") { schematic(node, map); }
  }

  function start() { charts(); buildings(); }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); }
  else { start(); }
})();
