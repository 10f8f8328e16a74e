// The command centre's big screen: first paint from the snapshot, then live deltas over SSE.
// A delta has the snapshot's shape: "replace" swaps whole sections, "upsert" merges rows by
// key, "remove" drops rows. Replay fetches the snapshot at a past moment and pauses the deltas.
(function () {
  "use strict";

  var body = document.body;
  var readOnly = body.getAttribute("data-read-only") === "1";
  var venue = body.getAttribute("data-venue") || "";
  var snapshotUrl = body.getAttribute("data-snapshot-url");
  var streamUrl = body.getAttribute("data-stream-url");
  var csrf = body.getAttribute("data-csrf");
  var L = JSON.parse(document.getElementById("screen-labels").textContent);
  var geo = JSON.parse(document.getElementById("site-geojson").textContent) || { features: [] };
  var english = (document.documentElement.lang || "").toLowerCase().indexOf("en") === 0;

  var state = null;          // the picture shown: a snapshot with deltas applied
  var live = true;           // false while replaying
  var source = null;         // the EventSource
  var serverAt = null;       // the server clock at the last snapshot, and when it came
  var receivedAt = 0;
  var pendingDeltas = [];    // deltas that came while a replay was shown
  var flashUntil = {};       // section ref -> time a flash ends
  var freshUntil = {};       // alarm id -> time its ripple ends
  var FLASH_MS = 15000;

  function $(id) { return document.getElementById(id); }
  function esc(s) {
    return String(s === null || s === undefined ? "" : s).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }
  function nameOf(o) { return english && o.name_en ? o.name_en : (o.name || o.name_en || o.code || ""); }
  function titleOf(a) { return english && a.title_en ? a.title_en : (a.title || a.title_en || ""); }
  function fmt(n) { return (n === null || n === undefined) ? "-" : Number(n).toLocaleString(); }
  function get(obj, path) {
    return path.split(".").reduce(function (o, k) { return o === null || o === undefined ? o : o[k]; }, obj);
  }
  function localTime(iso, tz) {
    try {
      return new Date(iso).toLocaleTimeString(english ? "en-GB" : "zh-CN", { timeZone: tz || "Asia/Shanghai", hour12: false });
    } catch (e) { return iso; }
  }

  // --- panels -------------------------------------------------------------------------------

  function renderFigures() {
    var f = state.figures || {};
    document.querySelectorAll("[data-fig]").forEach(function (el) {
      el.textContent = fmt(get(f, el.getAttribute("data-fig")));
    });
    var reasons = (f.today && f.today.denials_by_reason) || [];
    $("denial-reasons").innerHTML = reasons.slice(0, 6).map(function (r) {
      return "<li><span>" + esc(english ? r.text_en : r.text_zh) + "</span><b>" + fmt(r.count) + "</b></li>";
    }).join("");
  }

  function renderCheckpoints() {
    var rows = (state.checkpoints || []).map(function (c) {
      return '<tr data-cp="' + esc(c.code) + '" class="lvl-' + esc(c.level) + '"><td>' + esc(nameOf(c)) +
        "</td><td>" + c.lanes_open + "/" + c.lanes_total + '</td><td class="q"><span class="bar" style="width:' +
        Math.min(100, Math.round(100 * c.queue / (c.red || 80))) + '%"></span>' + fmt(c.queue) +
        "</td><td>" + fmt(c.throughput_15m) + "</td></tr>";
    });
    $("checkpoints").querySelector("tbody").innerHTML = rows.join("");
  }

  function renderForces() {
    var f = state.forces || {};
    document.querySelectorAll("[data-force]").forEach(function (el) {
      var k = el.getAttribute("data-force");
      el.textContent = k === "reserves_available" ? fmt(f[k]) + "/" + fmt(f.reserves_total) : fmt(f[k]);
    });
  }

  function sortAlarms() {
    state.alarms.sort(function (a, b) {
      return a.priority - b.priority || (a.raised_at < b.raised_at ? -1 : a.raised_at > b.raised_at ? 1 : 0);
    });
  }

  function renderAlarms() {
    var list = state.alarms || [];
    $("alarm-count").textContent = list.length;
    if (!list.length) {
      $("alarms").innerHTML = '<li class="none">' + esc(L.no_alarms) + "</li>";
      return;
    }
    $("alarms").innerHTML = list.slice(0, 60).map(function (a) {
      var action = "";
      if (!readOnly && live && a.workflow === "new") {
        action = '<button type="button" class="act" data-ack="' + a.id + '">' + esc(L.acknowledge) + "</button>";
      }
      return '<li class="alarm p' + a.priority + (a.overdue ? " overdue" : "") + '" data-number="' + a.number + '" data-alarm="' + a.id +
        '"><span class="dot" style="background:' + esc(a.colour) + '"></span><b>#' + a.number + "</b> " +
        esc(titleOf(a)) + ' <span class="muted">' + esc(localTime(a.raised_at, state.time_zone)) + " " +
        esc((L.workflow || {})[a.workflow] || a.workflow) + (a.overdue ? " - " + esc(L.overdue) : "") +
        "</span>" + action + "</li>";
    }).join("");
  }

  function timerText(t) {
    if (!t) { return ""; }
    var keys = ["ack", "respond", "resolve"];
    var names = L.timers || {};
    return keys.filter(function (k) { return t[k] && t[k].due; }).map(function (k) {
      var label = esc(names[k] || k);
      if (t[k].met_at) {
        // Met: a tick, red if it was met late; a met timer no longer counts down.
        return '<span class="timer met' + (t[k].late ? " late" : "") + '" data-timer="' + k + '">' + label + " ✓</span>";
      }
      var left = Math.round((new Date(t[k].due) - new Date(state.at)) / 60000);
      return '<span class="timer' + (t[k].overdue ? " overdue" : "") + '" data-timer="' + k + '">' + label + " " + left + "'</span>";
    }).join(" ");
  }

  function renderIncidents() {
    var list = state.incidents || [];
    $("incident-count").textContent = list.length;
    if (!list.length) {
      $("incidents").innerHTML = '<li class="none">' + esc(L.no_incidents) + "</li>";
      return;
    }
    $("incidents").innerHTML = list.slice(0, 40).map(function (i) {
      return '<li class="incident p' + esc(i.priority) + '" data-incident="' + esc(i.id) + '"><b>' + esc(i.number) +
        "</b> " + esc(i.title || i.type_label) + ' <span class="muted" data-state="' + esc(i.state) + '">' +
        esc((L.incident_state || {})[i.state] || i.state) + "</span> " +
        timerText(i.timers) + "</li>";
    }).join("");
  }

  // --- the map ------------------------------------------------------------------------------

  var chart = null;
  var mapReady = false;
  var frame = null;  // [[west, north], [east, south]] of the venues and zones
  var features = (geo.features || []).filter(function (f) { return f && f.geometry && f.properties; });
  function ofKind(k) { return features.filter(function (f) { return f.properties.kind === k; }); }
  function ring(g) {
    if (g.type === "Polygon") { return g.coordinates[0]; }
    if (g.type === "MultiPolygon") { return g.coordinates[0][0]; }
    return [];
  }
  function centre(pts) {
    var x = 0, y = 0;
    pts.forEach(function (p) { x += p[0]; y += p[1]; });
    return pts.length ? [x / pts.length, y / pts.length] : [0, 0];
  }

  function initMap() {
    if (!window.echarts) { return; }
    var regions = [];
    features.forEach(function (f, i) {
      var k = f.properties.kind;
      if ((k === "venue" || k === "zone") && ring(f.geometry).length) {
        regions.push({ type: "Feature", geometry: f.geometry, properties: { name: k + ":" + (f.properties.ref || i) } });
      }
    });
    echarts.registerMap("anbao-screen", { type: "FeatureCollection", features: regions });
    // Frame the venues and zones; the wide no-fly area stays reachable by zooming out.
    var pts = [];
    regions.forEach(function (f) { pts = pts.concat(ring(f.geometry)); });
    if (pts.length) {
      var b = [Infinity, Infinity, -Infinity, -Infinity];
      pts.forEach(function (c) {
        b[0] = Math.min(b[0], c[0]); b[1] = Math.min(b[1], c[1]);
        b[2] = Math.max(b[2], c[0]); b[3] = Math.max(b[3], c[1]);
      });
      var px = (b[2] - b[0]) * 0.05, py = (b[3] - b[1]) * 0.05;
      frame = [[b[0] - px, b[3] + py], [b[2] + px, b[1] - py]];
    }
    chart = echarts.init($("bs-map"), null, { renderer: "canvas" });
    window.addEventListener("resize", function () { chart.resize(); });
  }

  var QUEUE_COLOURS = { green: "#2ecc71", amber: "#f5a623", red: "#e74c3c", closed: "#6b7785" };
  var THREAT_COLOURS = { low: "#f1c40f", medium: "#f39c12", high: "#e74c3c", critical: "#ff00ff" };

  function renderMap(only) {
    if (!chart) { return; }
    var now = Date.now();
    var occ = state.zones || {};
    var zoneData = ofKind("zone").map(function (f) {
      var p = f.properties;
      return { name: nameOf(p) + (occ[p.number] !== undefined ? " " + occ[p.number] : ""), value: centre(ring(f.geometry)) };
    });
    var airspace = ofKind("airspace").map(function (f) {
      return { coords: ring(f.geometry).concat([ring(f.geometry)[0]]) };
    });
    var openSections = {};
    (state.alarms || []).forEach(function (a) {
      if (a.segment && a.section) { openSections[a.segment + "/" + a.section] = a.colour || "#e74c3c"; }
    });
    var sections = ofKind("section").filter(function (f) { return f.geometry; }).map(function (f) {
      var ref = f.properties.ref;
      var alarmed = openSections[ref];
      var flashing = alarmed && (flashUntil[ref] || 0) > now && Math.floor(now / 500) % 2 === 0;
      return {
        coords: f.geometry.coordinates,
        lineStyle: { color: alarmed ? (flashing ? "#ffffff" : alarmed) : "#29b6f6", width: alarmed ? 5 : 2 }
      };
    });
    var cps = (state.checkpoints || []).map(function (c) {
      return { name: nameOf(c) + " " + c.queue, value: [c.lon, c.lat, c.queue], itemStyle: { color: QUEUE_COLOURS[c.level] || "#888" } };
    });
    var drones = (state.drones || []).map(function (d) {
      return { name: d.serial || d.track_id, value: [d.lon, d.lat], itemStyle: { color: d.authorised ? "#2ecc71" : (THREAT_COLOURS[d.level] || "#f39c12") } };
    });
    var trails = (state.drones || []).filter(function (d) { return d.trail && d.trail.length > 1; }).map(function (d) {
      return { coords: d.trail, lineStyle: { color: THREAT_COLOURS[d.level] || "#f39c12", width: 2, type: "dashed" } };
    });
    var reserves = (state.reserves || []).map(function (r) {
      return { name: nameOf(r), value: [r.lon, r.lat], itemStyle: { color: r.state === "available" ? "#3498db" : "#9b59b6" } };
    });
    var placed = (state.alarms || []).filter(function (a) { return a.lon !== null && a.lat !== null; });
    var alarmPts = placed.map(function (a) {
      return { name: "#" + a.number, value: [a.lon, a.lat], itemStyle: { color: a.colour } };
    });
    // Only the alarms that just arrived ripple: a ripple animates every frame on every screen.
    var freshPts = placed.filter(function (a) { return (freshUntil[a.id] || 0) > now; }).map(function (a) {
      return { name: "#" + a.number, value: [a.lon, a.lat], itemStyle: { color: a.colour } };
    });
    // Sizes follow the screen's width, so a 3840x2160 wall reads like 1920x1080.
    var k = Math.max(0.6, window.innerWidth / 1920);
    var option = {
      backgroundColor: "transparent",
      animation: false,
      geo: {
        map: "anbao-screen", roam: true, aspectScale: Math.cos(30.75 * Math.PI / 180),
        boundingCoords: frame,
        itemStyle: { areaColor: "#13243a", borderColor: "#3a5878" },
        emphasis: { disabled: true }, label: { show: false }
      },
      series: [
        { id: "zones", type: "scatter", coordinateSystem: "geo", data: zoneData, symbolSize: 0, silent: true,
          label: { show: true, formatter: "{b}", color: "#8fb3d9", fontSize: Math.round(12 * k) } },
        { id: "airspace", type: "lines", coordinateSystem: "geo", polyline: true, data: airspace, silent: true,
          lineStyle: { color: "#ff5252", width: 1, type: "dashed", opacity: 0.7 } },
        { id: "sections", type: "lines", coordinateSystem: "geo", polyline: true, data: sections, silent: true },
        { id: "checkpoints", type: "scatter", coordinateSystem: "geo", data: cps, symbolSize: 14 * k, symbol: "diamond",
          label: { show: true, formatter: "{b}", position: "right", color: "#dfe8f2", fontSize: Math.round(11 * k) } },
        { id: "trails", type: "lines", coordinateSystem: "geo", polyline: true, data: trails, silent: true },
        { id: "drones", type: "scatter", coordinateSystem: "geo", data: drones, symbol: "triangle", symbolSize: 16 * k },
        { id: "reserves", type: "scatter", coordinateSystem: "geo", data: reserves, symbol: "roundRect", symbolSize: 11 * k },
        { id: "alarms", type: "scatter", coordinateSystem: "geo", data: alarmPts, symbolSize: 12 * k,
          symbol: "pin" },
        { id: "fresh", type: "effectScatter", coordinateSystem: "geo", data: freshPts, symbolSize: 14 * k,
          rippleEffect: { scale: 3 } }
      ]
    };
    // The geo frame is set once, so a zoom or pan by the operator survives live updates.
    if (mapReady) {
      delete option.geo;
      delete option.backgroundColor;
      if (only) {
        // Only the layers that changed: a flashing section must not redraw every label.
        option.series = option.series.filter(function (x) { return only.indexOf(x.id) >= 0; });
      }
    }
    chart.setOption(option);
    mapReady = true;
  }

  // New alarms sound by priority (off by default on a wall screen; the toggle keeps the choice).
  var sound = window.anbaoAlarmSound;
  if (sound && $("sound-toggle")) { sound.bind($("sound-toggle"), false); }
  function announce() {
    if (!sound || !live || !state) { return; }
    sound.announce((state.alarms || []).map(function (a) {
      return { number: a.number, priority: a.priority, sound: a.sound, workflow: a.workflow };
    }));
  }

  function renderAll() {
    renderFigures();
    renderCheckpoints();
    renderForces();
    renderAlarms();
    renderIncidents();
    renderMap();
  }

  // --- deltas -------------------------------------------------------------------------------

  var KEYS = { alarms: "id", drones: "track_id", reserves: "code", checkpoints: "code", incidents: "id" };

  function applyDelta(d) {
    var touched = {};
    Object.keys(d.replace || {}).forEach(function (k) {
      var v = d.replace[k];
      if (k === "figures" && venue) {
        v = (d.venue_figures || {})[venue] || state.figures;
      }
      if (k === "checkpoints" && venue) {
        v = v.filter(function (c) { return c.venue === venue; });
      }
      state[k] = v;
      touched[k] = true;
    });
    Object.keys(d.upsert || {}).forEach(function (k) {
      var key = KEYS[k];
      var list = state[k] || [];
      d.upsert[k].forEach(function (row) {
        if (k === "alarms" && venue && row.venue && row.venue !== venue) { return; }
        var i = list.findIndex(function (r) { return r[key] === row[key]; });
        if (i >= 0) { list[i] = row; } else {
          list.push(row);
          if (k === "alarms") {
            freshUntil[row.id] = Date.now() + FLASH_MS;
            if (row.segment && row.section) {
              flashUntil[row.segment + "/" + row.section] = Date.now() + FLASH_MS;
            }
          }
        }
      });
      state[k] = list;
      touched[k] = true;
    });
    Object.keys(d.remove || {}).forEach(function (k) {
      var key = KEYS[k];
      var gone = d.remove[k];
      state[k] = (state[k] || []).filter(function (r) { return gone.indexOf(r[key]) < 0; });
      touched[k] = true;
    });
    if (d.at) { state.at = d.at; serverAt = new Date(d.at); receivedAt = Date.now(); }
    if (touched.alarms) { sortAlarms(); renderAlarms(); announce(); }
    if (touched.figures) { renderFigures(); }
    if (touched.checkpoints) { renderCheckpoints(); }
    if (touched.forces || touched.reserves) { renderForces(); }
    if (touched.incidents) { renderIncidents(); }
    var layers = [];
    if (touched.alarms) { layers.push("alarms", "fresh", "sections"); }
    if (touched.checkpoints) { layers.push("checkpoints"); }
    if (touched.drones) { layers.push("drones", "trails"); }
    if (touched.reserves) { layers.push("reserves"); }
    if (layers.length) { renderMap(layers); }
    if (touched.alarms) {
      // The latency benchmark reads these: two animation frames after the update, the frame
      // showing it has been produced.
      requestAnimationFrame(function () {
        requestAnimationFrame(function () {
          (window.__alarmPaints = window.__alarmPaints || []).push(performance.timeOrigin + performance.now());
        });
      });
    }
  }

  function onDelta(ev) {
    var d = JSON.parse(ev.data);
    if (d.upsert && d.upsert.alarms) {
      // When an alarm's delta arrived, for the benchmark to tell network from drawing.
      (window.__alarmDeltas = window.__alarmDeltas || []).push(performance.timeOrigin + performance.now());
    }
    if (!live) { pendingDeltas.push(d); return; }
    applyDelta(d);
  }

  // --- loading, live and replay -------------------------------------------------------------

  function load(at) {
    var url = snapshotUrl + "?venue=" + encodeURIComponent(venue) + (at ? "&at=" + encodeURIComponent(at) : "");
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.json().then(function (j) { return { ok: r.ok, body: j }; }); })
      .then(function (res) {
        if (!res.ok) { throw new Error((res.body.error && res.body.error.message) || "snapshot failed"); }
        state = res.body;
        state.alarms = state.alarms || [];
        if (state.live) { serverAt = new Date(state.at); receivedAt = Date.now(); }
        renderAll();
        announce();
        return state;
      });
  }

  function setLiveTag(text, cls) {
    var t = $("live-state");
    t.textContent = text;
    t.className = "tag " + cls;
  }

  function connect() {
    if (!window.EventSource) { return; }
    source = new EventSource(streamUrl);
    source.addEventListener("open", function () { if (live) { setLiveTag(L.live, "live"); } });
    source.addEventListener("delta", onDelta);
    source.addEventListener("resync", function () { if (live) { load(null); } });
    source.addEventListener("error", function () { if (live) { setLiveTag(L.reconnecting, "warn"); } });
  }

  function goLive() {
    live = true;
    pendingDeltas = [];
    $("replay").value = 0;
    $("replay-at").textContent = "";
    body.classList.remove("replaying");
    setLiveTag(L.live, "live");
    load(null);
  }

  function replay(minutesBack) {
    if (minutesBack === 0) { goLive(); return; }
    var base = serverAt ? new Date(serverAt.getTime() + (Date.now() - receivedAt)) : new Date();
    var at = new Date(base.getTime() - minutesBack * 60000).toISOString();
    live = false;
    body.classList.add("replaying");
    setLiveTag(L.replay, "replay");
    $("replay-at").textContent = localTime(at, state && state.time_zone);
    load(at).catch(function (e) { $("replay-at").textContent = e.message; });
  }

  $("replay").addEventListener("change", function (e) { replay(-Number(e.target.value)); });
  $("replay-live").addEventListener("click", goLive);

  $("alarms").addEventListener("click", function (e) {
    var btn = e.target.closest ? e.target.closest("[data-ack]") : null;
    if (!btn || readOnly) { return; }
    btn.disabled = true;
    fetch("/api/alarms/alarms/" + btn.getAttribute("data-ack") + "/acknowledge", {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify({ force: false, note: "" })
    }).then(function (r) {
      if (!r.ok) { btn.disabled = false; btn.classList.add("refused"); }
    });
  });

  setInterval(function () {
    var base = serverAt ? new Date(serverAt.getTime() + (Date.now() - receivedAt)) : new Date();
    $("clock").textContent = localTime(base.toISOString(), state && state.time_zone);
    var t = Date.now();
    var ended = Object.keys(freshUntil).filter(function (k) { return freshUntil[k] < t; });
    ended.forEach(function (k) { delete freshUntil[k]; });
    var stopped = Object.keys(flashUntil).filter(function (k) { return flashUntil[k] < t; });
    stopped.forEach(function (k) { delete flashUntil[k]; });
    // Redraw while a section flashes, and once more when it stops (steady red while open).
    if (state && (Object.keys(flashUntil).length || stopped.length || ended.length)) {
      renderMap(ended.length ? ["sections", "fresh"] : ["sections"]);
    }
  }, 500);

  initMap();
  load(null).then(function () {
    performance.mark("screen-painted");
    performance.measure("first-paint", "screen-start", "screen-painted");
    body.setAttribute("data-ready", "1");
    connect();
  }).catch(function (e) {
    setLiveTag(e.message, "warn");
  });
  // A screen left open all night: refresh the whole picture every 10 minutes.
  setInterval(function () { if (live) { load(null); } }, 600000);
})();
