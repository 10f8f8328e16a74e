/* Alarm sounds by priority, made with the Web Audio API (no sound files to ship or fetch).
 *
 * announce(rows) is given the open alarms as the page now shows them ({number, priority,
 * sound, workflow}). The first call only learns what is already there; later calls sound the
 * most urgent alarm that was not there before. A critical alarm still new (unacknowledged)
 * sounds again every REPEAT_MS, as a console's critical tone does until someone answers it.
 * Browsers allow sound only after the user has touched the page: until then the toggle
 * button says so, and one click enables it. The choice is kept per page in localStorage.
 */
(function () {
  "use strict";
  var REPEAT_MS = 10000;
  // sound name -> [frequency Hz, duration s, gap s, repeats, wave, gain]
  var PATTERNS = {
    "alarm-critical": [880, 0.14, 0.07, 6, "square", 0.25],
    "alarm-high": [740, 0.2, 0.1, 2, "triangle", 0.35],
    "alarm-medium": [587, 0.28, 0.1, 1, "triangle", 0.3],
    "chime": [660, 0.35, 0.05, 1, "sine", 0.2]
  };
  var BY_PRIORITY = { 1: "alarm-critical", 2: "alarm-high", 3: "alarm-medium", 4: "chime" };

  var ctx = null;
  var seen = null;          // alarm numbers already announced (null: not primed yet)
  var lastCritical = 0;
  var button = null;
  var key = "anbao.sound." + location.pathname;
  var api = { log: [], enabled: true, blocked: false };

  function stored(defaultOn) {
    try {
      var v = localStorage.getItem(key);
      return v === null ? defaultOn : v === "1";
    } catch (e) { return defaultOn; }
  }

  function audio() {
    if (!ctx) {
      var AC = window.AudioContext || window.webkitAudioContext;
      if (!AC) { return null; }
      ctx = new AC();
    }
    if (ctx.state === "suspended") { ctx.resume(); }
    return ctx;
  }

  function soundFor(row) {
    if (row.sound && PATTERNS[row.sound]) { return row.sound; }
    return BY_PRIORITY[row.priority] || "alarm-high";
  }

  function tone(name) {
    var p = PATTERNS[name];
    var c = audio();
    if (!c || c.state !== "running") { api.blocked = true; paint(); return false; }
    api.blocked = false;
    var t = c.currentTime + 0.02;
    for (var i = 0; i < p[3]; i++) {
      var osc = c.createOscillator();
      var gain = c.createGain();
      osc.type = p[4];
      // The critical tone alternates two pitches, like a two-tone siren.
      osc.frequency.value = name === "alarm-critical" && i % 2 ? p[0] * 0.75 : p[0];
      gain.gain.setValueAtTime(0, t);
      gain.gain.linearRampToValueAtTime(p[5], t + 0.01);
      gain.gain.setValueAtTime(p[5], t + p[1] - 0.02);
      gain.gain.linearRampToValueAtTime(0, t + p[1]);
      osc.connect(gain).connect(c.destination);
      osc.start(t);
      osc.stop(t + p[1] + 0.01);
      t += p[1] + p[2];
    }
    return true;
  }

  function play(name, numbers) {
    var entry = { sound: name, numbers: numbers, at: Date.now(), played: false, muted: !api.enabled };
    if (api.enabled) { entry.played = tone(name); }
    api.log.push(entry);
    if (api.log.length > 200) { api.log.shift(); }
    paint();
  }

  function announce(rows) {
    var fresh = [];
    var criticalWaiting = [];
    var now = {};
    rows.forEach(function (r) {
      now[r.number] = true;
      if (seen && !seen[r.number] && r.workflow === "new") { fresh.push(r); }
      if (r.workflow === "new" && soundFor(r) === "alarm-critical") { criticalWaiting.push(r.number); }
    });
    var primed = seen !== null;
    seen = Object.assign(seen || {}, now);
    if (!primed) { return; }
    if (fresh.length) {
      fresh.sort(function (a, b) { return a.priority - b.priority; });
      var name = soundFor(fresh[0]);
      play(name, fresh.map(function (r) { return r.number; }));
      if (name === "alarm-critical") { lastCritical = Date.now(); }
    } else if (criticalWaiting.length && Date.now() - lastCritical >= REPEAT_MS) {
      play("alarm-critical", criticalWaiting);
      lastCritical = Date.now();
    }
  }

  function paint() {
    if (!button) { return; }
    button.setAttribute("aria-pressed", api.enabled ? "true" : "false");
    button.setAttribute("data-state", !api.enabled ? "off" : api.blocked ? "blocked" : "on");
    var label = !api.enabled ? button.getAttribute("data-off")
      : api.blocked ? button.getAttribute("data-blocked") : button.getAttribute("data-on");
    if (label) { button.textContent = label; }
  }

  function bind(btn, defaultOn) {
    button = btn;
    api.enabled = stored(defaultOn);
    btn.addEventListener("click", function () {
      // A click is the user gesture browsers want before any sound: use it to unlock.
      if (api.enabled && api.blocked) {
        var c = audio();
        api.blocked = !c || c.state !== "running";
        if (c && c.state !== "running") {
          c.resume().then(function () { api.blocked = c.state !== "running"; paint(); });
        }
        paint();
        return;
      }
      api.enabled = !api.enabled;
      try { localStorage.setItem(key, api.enabled ? "1" : "0"); } catch (e) { /* private mode */ }
      if (api.enabled) { audio(); }
      paint();
    });
    if (api.enabled) {
      var c = audio();
      api.blocked = !c || c.state !== "running";
    }
    paint();
  }

  api.announce = announce;
  api.bind = bind;
  api.soundFor = soundFor;
  api.test = function (name) { play(name || "alarm-high", []); };
  window.anbaoAlarmSound = api;
})();
