// A tiny stand-in DOM for the lane page's script: enough to drive scans and the seizure taps.
"use strict";
const fs = require("fs");
const script = fs.readFileSync(process.argv[2], "utf8");
const calls = [];
const elements = {};
function el(id) {
  if (!elements[id]) {
    elements[id] = {
      id, className: "", textContent: "", innerHTML: "", innerText: "", value: "", src: "",
      children: [], listeners: {}, style: {}, onclick: null,
      classList: { toggle(c, on) { el(id)[`has_${c}`] = on; } },
      addEventListener(ev, fn) { (this.listeners[ev] = this.listeners[ev] || []).push(fn); },
      replaceChildren(...kids) { this.children = kids; },
      appendChild(kid) { this.children.push(kid); },
      focus() { global.focused = id; },
    };
  }
  return elements[id];
}
global.document = {
  getElementById: el,
  addEventListener() {},
  createElement(tag) { return el(`new-${tag}-${Object.keys(elements).length}`); },
  createTextNode(t) { return { textContent: t }; },
};
global.setTimeout = (fn) => 0;
global.clearTimeout = () => {};
global.setInterval = () => 0;
global.fetch = async (path, opts) => {
  const body = opts && opts.body ? JSON.parse(opts.body) : null;
  calls.push({ path, method: (opts && opts.method) || "GET", body });
  let data = {};
  if (path === "/state") {
    data = { mode: "offline", forced: false, pending: 3, clock_skew_s: -0.4, bundle: { serial: 2, people: 9 }, rejected: 0 };
  } else if (path === "/scan") {
    data = { status: "deny", text_zh: "证件已过期", text_en: "Credential expired", name: "王伟", category: "VIP", photo: "" };
  }
  return { ok: true, status: 200, json: async () => data };
};
const settle = () => new Promise((r) => setImmediate(r));
(async () => {
  eval(script);
  await settle(); await settle();
  const out = {};
  out.banner = el("banner").className;
  out.meta = el("meta").textContent;
  out.focused = global.focused;
  const input = el("scan");
  el("exit").onclick();
  input.value = "HC1:ABC";
  for (const fn of input.listeners.keydown) { await fn({ key: "Enter" }); }
  await settle(); await settle();
  out.scan = calls.find((c) => c.path === "/scan").body;
  out.result = el("result").className;
  out.who = el("who").textContent;
  // Seizure: tap 1 opens the picker, tap 2 an item, tap 3 a disposition.
  el("seize").onclick();
  out.sheetAfterTap1 = el("sheet").className;
  out.items = el("sheet-grid").children.length;
  el("sheet-grid").children[0].onclick({ stopPropagation() {} });
  out.dispositions = el("sheet-grid").children.map((b) => b.className);
  el("sheet-grid").children[0].onclick({ stopPropagation() {} });
  await settle(); await settle();
  out.screening = calls.filter((c) => c.path === "/screening").map((c) => c.body);
  out.sheetAfterTap3 = el("sheet").className;
  console.log(JSON.stringify(out));
})();
