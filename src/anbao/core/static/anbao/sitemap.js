// The site map: the event's own GeoJSON registered as an ECharts map; no tiles, no internet.
(function () {
  "use strict";

  var host = document.getElementById("site-map");
  var dataEl = document.getElementById("site-geojson");
  var labelsEl = document.getElementById("site-map-labels");
  if (!host || !dataEl || !window.echarts) {
    return;
  }
  var collection = JSON.parse(dataEl.textContent) || { features: [] };
  var L = labelsEl ? JSON.parse(labelsEl.textContent) : {};
  var features = (collection.features || []).filter(function (f) {
    return f && f.geometry && f.properties;
  });
  var english = (document.documentElement.lang || "").toLowerCase().indexOf("en") === 0;
  var enc = echarts.format.encodeHTML;

  var TECH_COLOURS = {
    leaky_cable: "#29b6f6",
    pulse_fence: "#ffb300",
    fence_vibration: "#ab47bc",
    video_analytics: "#26c6a6"
  };
  var ZONE_COLOURS = ["#2f6f9f", "#3c8c6e", "#8a6d2f", "#7a4f8f", "#94504f", "#3f7f86", "#6b7d33", "#85507a"];
  var CHECKPOINT_SYMBOLS = { pedestrian: "circle", vehicle: "rect", mixed: "diamond" };

  function label(group, key) {
    var table = L[group] || {};
    return table[key] || key || "";
  }
  function nameOf(p) {
    if (english && p.name_en) {
      return p.name_en;
    }
    return p.name || p.name_en || p.ref || "";
  }
  function ofKind(kind) {
    return features.filter(function (f) { return f.properties.kind === kind; });
  }
  function rings(geometry) {
    // The outer ring of every polygon of a Polygon or MultiPolygon.
    if (geometry.type === "Polygon") {
      return [geometry.coordinates[0]];
    }
    if (geometry.type === "MultiPolygon") {
      return geometry.coordinates.map(function (poly) { return poly[0]; });
    }
    return [];
  }
  function paths(geometry) {
    if (geometry.type === "LineString") {
      return [geometry.coordinates];
    }
    if (geometry.type === "MultiLineString") {
      return geometry.coordinates;
    }
    return [];
  }
  function bbox(points) {
    var b = [Infinity, Infinity, -Infinity, -Infinity];
    points.forEach(function (c) {
      b[0] = Math.min(b[0], c[0]); b[1] = Math.min(b[1], c[1]);
      b[2] = Math.max(b[2], c[0]); b[3] = Math.max(b[3], c[1]);
    });
    return b;
  }
  function flat(geometry) {
    var t = geometry.type;
    var c = geometry.coordinates;
    if (t === "Point") { return [c]; }
    if (t === "LineString") { return c; }
    if (t === "Polygon" || t === "MultiLineString") { return [].concat.apply([], c); }
    if (t === "MultiPolygon") { return [].concat.apply([], [].concat.apply([], c)); }
    return [];
  }
  function keyOf(p, i) {
    return p.kind + ":" + (p.ref || i);
  }

  // The base map: venues, zones and the no-fly area, each under a unique region name.
  var polygonKinds = { venue: true, zone: true, airspace: true };
  var regions = [];
  features.forEach(function (f, i) {
    if (polygonKinds[f.properties.kind] && rings(f.geometry).length) {
      regions.push({
        type: "Feature",
        geometry: f.geometry,
        properties: { name: keyOf(f.properties, i) }
      });
    }
  });
  echarts.registerMap("anbao-site", { type: "FeatureCollection", features: regions });

  // Frame the view on the site itself; a wide no-fly area stays reachable by zooming out.
  var framePoints = [];
  features.forEach(function (f) {
    if (f.properties.kind !== "airspace") {
      framePoints = framePoints.concat(flat(f.geometry));
    }
  });
  if (!framePoints.length) {
    features.forEach(function (f) { framePoints = framePoints.concat(flat(f.geometry)); });
  }
  var frame = bbox(framePoints);
  var padX = (frame[2] - frame[0]) * 0.06 || 0.002;
  var padY = (frame[3] - frame[1]) * 0.06 || 0.002;
  var midLat = (frame[1] + frame[3]) / 2;

  function tooltipHtml(p, extra) {
    var lines = ["<b>" + enc(p.name || "") + "</b>"];
    if (p.name_en && p.name_en !== p.name) {
      lines.push(enc(p.name_en));
    }
    (extra || []).forEach(function (pair) {
      if (pair[1] !== undefined && pair[1] !== null && pair[1] !== "") {
        lines.push('<span style="color:#8d9cb0">' + enc(pair[0]) + "</span> " + enc(String(pair[1])));
      }
    });
    return lines.join("<br>");
  }

  // Zones: filled polygons, larger ones first so that inner zones stay visible.
  var zoneFeatures = ofKind("zone").map(function (f) {
    var ring = rings(f.geometry)[0];
    var b = bbox(ring);
    return { f: f, ring: ring, area: (b[2] - b[0]) * (b[3] - b[1]), b: b };
  }).sort(function (a, b) { return b.area - a.area; });
  var zoneData = zoneFeatures.map(function (z, i) {
    var p = z.f.properties;
    return {
      name: nameOf(p),
      value: [(z.b[0] + z.b[2]) / 2, (z.b[1] + z.b[3]) / 2],
      ring: z.ring,
      number: p.number || "",
      colour: ZONE_COLOURS[i % ZONE_COLOURS.length],
      props: p
    };
  });

  var airspaceData = ofKind("airspace").map(function (f) {
    var ring = rings(f.geometry)[0];
    var b = bbox(ring);
    return { name: nameOf(f.properties), value: [(b[0] + b[2]) / 2, (b[1] + b[3]) / 2], ring: ring, props: f.properties };
  });

  function hatch() {
    var c = document.createElement("canvas");
    c.width = 10;
    c.height = 10;
    var g = c.getContext("2d");
    g.strokeStyle = "rgba(240, 82, 74, 0.3)";
    g.lineWidth = 1.2;
    g.beginPath();
    g.moveTo(0, 10); g.lineTo(10, 0);
    g.moveTo(-5, 5); g.lineTo(5, -5);
    g.moveTo(5, 15); g.lineTo(15, 5);
    g.stroke();
    return c;
  }
  var hatchPattern = { image: hatch(), repeat: "repeat" };

  function polygonItem(data, draw) {
    return function (params, api) {
      var item = data[params.dataIndex];
      var points = item.ring.map(function (c) { return api.coord(c); });
      return draw(item, points, api);
    };
  }

  var segmentData = [];
  ofKind("segment").forEach(function (f) {
    var p = f.properties;
    paths(f.geometry).forEach(function (coords) {
      segmentData.push({
        name: nameOf(p),
        coords: coords,
        props: p,
        lineStyle: { color: TECH_COLOURS[p.technology] || "#e0e0e0" }
      });
    });
  });

  function pointData(kind, extra) {
    return ofKind(kind).filter(function (f) { return f.geometry.type === "Point"; }).map(function (f) {
      var item = { name: nameOf(f.properties), value: f.geometry.coordinates.slice(0, 2), props: f.properties };
      return extra ? extra(item, f.properties) : item;
    });
  }
  var checkpointData = pointData("checkpoint", function (item, p) {
    item.symbol = CHECKPOINT_SYMBOLS[p.checkpoint_kind] || "circle";
    return item;
  });
  var laneData = pointData("lane");
  var cameraData = pointData("camera");
  var deviceData = pointData("device", function (item, p) {
    item.itemStyle = { color: p.online ? "#3fb950" : "#6b7683" };
    return item;
  });

  var S = L.series || {};
  var F = L.fields || {};
  function tip(params) {
    var d = params.data || {};
    var p = d.props || {};
    switch (p.kind) {
      case "zone":
        return tooltipHtml(p, [[F.zone, p.number]]);
      case "airspace":
        return tooltipHtml(p, [[F.kind, S.airspace], [F.floor, p.floor_m != null ? p.floor_m + " m" : ""],
          [F.ceiling, p.ceiling_m != null ? p.ceiling_m + " m" : ""]]);
      case "segment":
        return tooltipHtml(p, [[F.technology, label("technology", p.technology)],
          [F.length, p.length_m != null ? Math.round(p.length_m) + " m" : ""], [F.sections, p.section_count]]);
      case "checkpoint":
        return tooltipHtml(p, [[F.kind, label("checkpoint", p.checkpoint_kind)], [F.lanes, p.lane_count], [F.ref, p.ref]]);
      case "lane":
        return tooltipHtml(p, [[F.kind, label("lane", p.lane_kind)], [F.checkpoint, p.checkpoint], [F.ref, p.ref]]);
      case "camera":
        return tooltipHtml(p, [[F.kind, label("camera", p.camera_kind)], [F.ref, p.ref]]);
      case "device":
        return tooltipHtml(p, [[F.kind, label("device", p.device_kind)], [F.ref, p.ref],
          [F.state, p.online ? F.online : F.offline]]);
      default:
        return enc(params.name || "");
    }
  }

  var chart = echarts.init(host, null, { renderer: "canvas" });
  var legendNames = [S.zones, S.airspace, S.segments, S.checkpoints, S.lanes, S.cameras, S.devices];
  var selected = {};
  selected[S.devices] = false;

  chart.setOption({
    backgroundColor: "#0b1117",
    animation: false,
    textStyle: { fontFamily: getComputedStyle(document.body).fontFamily },
    tooltip: {
      trigger: "item",
      formatter: tip,
      backgroundColor: "rgba(16, 22, 30, 0.95)",
      borderColor: "#273342",
      textStyle: { color: "#dbe3ec", fontSize: 12 }
    },
    legend: {
      data: legendNames,
      selected: selected,
      top: 8,
      left: 10,
      orient: "vertical",
      backgroundColor: "rgba(14, 19, 24, 0.82)",
      borderColor: "#273342",
      borderWidth: 1,
      padding: [6, 10],
      textStyle: { color: "#dbe3ec", fontSize: 12 },
      inactiveColor: "#4b5562"
    },
    geo: {
      map: "anbao-site",
      roam: true,
      silent: true,
      boundingCoords: [[frame[0] - padX, frame[3] + padY], [frame[2] + padX, frame[1] - padY]],
      aspectScale: Math.cos((midLat * Math.PI) / 180),
      scaleLimit: { min: 0.2, max: 40 },
      label: { show: false },
      itemStyle: { areaColor: "#121b24", borderColor: "#34465a", borderWidth: 1 },
      emphasis: { disabled: true }
    },
    series: [
      {
        id: "zones",
        name: S.zones,
        type: "custom",
        coordinateSystem: "geo",
        z: 2,
        data: zoneData,
        renderItem: polygonItem(zoneData, function (item, points) {
          var b = bbox(points);
          return {
            type: "group",
            children: [
              {
                type: "polygon",
                shape: { points: points },
                style: { fill: item.colour, opacity: 0.28, stroke: item.colour, lineWidth: 1.5 }
              },
              {
                type: "text",
                silent: true,
                style: {
                  text: item.number,
                  x: b[0] + 6,
                  y: b[1] + 4,
                  fill: "#c9d6e3",
                  font: "600 11px sans-serif",
                  opacity: 0.8
                }
              }
            ]
          };
        })
      },
      {
        id: "airspace",
        name: S.airspace,
        type: "custom",
        coordinateSystem: "geo",
        z: 1,
        data: airspaceData,
        itemStyle: { color: "#f0524a" },
        renderItem: polygonItem(airspaceData, function (item, points) {
          return {
            type: "group",
            children: [
              { type: "polygon", shape: { points: points }, style: { fill: "rgba(240, 82, 74, 0.05)" } },
              {
                type: "polygon",
                shape: { points: points },
                style: { fill: hatchPattern, stroke: "#f0524a", lineWidth: 1.5, lineDash: [6, 4] }
              }
            ]
          };
        })
      },
      {
        id: "segments",
        name: S.segments,
        type: "lines",
        coordinateSystem: "geo",
        polyline: true,
        z: 4,
        data: segmentData,
        itemStyle: { color: "#29b6f6" },
        lineStyle: { width: 3, opacity: 0.95 },
        emphasis: { lineStyle: { width: 5 } }
      },
      {
        id: "lanes",
        name: S.lanes,
        type: "scatter",
        coordinateSystem: "geo",
        z: 5,
        symbol: "circle",
        symbolSize: 4,
        itemStyle: { color: "#9fb3c8" },
        data: laneData
      },
      {
        id: "cameras",
        name: S.cameras,
        type: "scatter",
        coordinateSystem: "geo",
        z: 6,
        symbol: "triangle",
        symbolSize: 9,
        itemStyle: { color: "#c39bff", borderColor: "#0b1117", borderWidth: 1 },
        data: cameraData
      },
      {
        id: "devices",
        name: S.devices,
        type: "scatter",
        coordinateSystem: "geo",
        z: 6,
        symbol: "roundRect",
        symbolSize: 6,
        itemStyle: { color: "#3fb950" },
        data: deviceData
      },
      {
        id: "checkpoints",
        name: S.checkpoints,
        type: "scatter",
        coordinateSystem: "geo",
        z: 7,
        symbolSize: 12,
        itemStyle: { color: "#ffd54f", borderColor: "#0b1117", borderWidth: 1.5 },
        label: {
          show: true,
          position: "right",
          distance: 6,
          formatter: "{b}",
          color: "#eef3f8",
          fontSize: 11,
          textBorderColor: "#0b1117",
          textBorderWidth: 3
        },
        labelLayout: { hideOverlap: true },
        emphasis: { scale: 1.4 },
        data: checkpointData
      }
    ]
  });

  // Side panel: the perimeter technologies' colours, and a row click that points at its checkpoint.
  var key = document.getElementById("technology-key");
  if (key) {
    var seen = {};
    segmentData.forEach(function (d) { seen[d.props.technology] = true; });
    Object.keys(seen).sort().forEach(function (tech) {
      var li = document.createElement("li");
      var sw = document.createElement("span");
      sw.className = "swatch";
      sw.style.background = TECH_COLOURS[tech] || "#e0e0e0";
      li.appendChild(sw);
      li.appendChild(document.createTextNode(label("technology", tech)));
      key.appendChild(li);
    });
  }
  var seriesIndex = chart.getOption().series.findIndex(function (s) { return s.id === "checkpoints"; });
  document.querySelectorAll("#checkpoint-list tr[data-ref]").forEach(function (row) {
    function point() {
      var idx = checkpointData.findIndex(function (d) { return d.props.ref === row.dataset.ref; });
      if (idx >= 0) {
        chart.dispatchAction({ type: "showTip", seriesIndex: seriesIndex, dataIndex: idx });
        chart.dispatchAction({ type: "highlight", seriesIndex: seriesIndex, dataIndex: idx });
      }
    }
    row.addEventListener("mouseenter", point);
    row.addEventListener("focus", point);
    row.addEventListener("mouseleave", function () {
      chart.dispatchAction({ type: "downplay", seriesIndex: seriesIndex });
      chart.dispatchAction({ type: "hideTip" });
    });
  });

  window.addEventListener("resize", function () { chart.resize(); });
  window.anbaoSiteMap = chart;
})();
