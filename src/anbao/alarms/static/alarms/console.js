/* The alarm console: refresh the open alarms the moment the live stream reports a change,
 * and sound new alarms by priority. The 5 s htmx poll stays as the fallback. */
(function () {
  "use strict";
  var live = document.getElementById("alarms-live");
  if (!live) { return; }
  var sound = window.anbaoAlarmSound;
  var toggle = document.getElementById("sound-toggle");
  if (sound && toggle) { sound.bind(toggle, true); }

  function rows() {
    return Array.prototype.map.call(live.querySelectorAll("tr[data-alarm]"), function (tr) {
      return {
        number: Number(tr.getAttribute("data-alarm")),
        priority: Number(tr.getAttribute("data-priority")),
        sound: tr.getAttribute("data-sound"),
        workflow: tr.getAttribute("data-workflow")
      };
    });
  }
  function scan() { if (sound) { sound.announce(rows()); } }
  scan();
  live.addEventListener("htmx:afterSwap", scan);

  var url = live.getAttribute("data-stream-url");
  if (!url || !window.EventSource) { return; }
  var pending = null;
  var source = new EventSource(url);
  source.addEventListener("delta", function (e) {
    var d;
    try { d = JSON.parse(e.data); } catch (err) { return; }
    if (!(d.upsert && d.upsert.alarms) && !(d.remove && d.remove.alarms)) { return; }
    if (pending || !window.htmx) { return; }
    // One fetch for a burst: the deltas of the next few hundred milliseconds ride along.
    pending = setTimeout(function () { pending = null; window.htmx.trigger(live, "refresh"); }, 150);
  });
  window.addEventListener("beforeunload", function () { source.close(); });
})();
