// gradcost's site: draws the page's charts (Vega-Lite specs inline in #charts) with vega-embed, and keeps the
// view's state in the URL hash so that a link shows what its sender saw: q (filter), log (0: linear axes),
// theme (light, dark), hide (matrix columns hidden), a and b (the compare page's runs).
(function () {
  "use strict";

  function readHash() {
    const h = new URLSearchParams(location.hash.slice(1));
    return {
      q: h.get("q") || "",
      log: h.get("log") !== "0",
      theme: h.get("theme") || "",
      hide: (h.get("hide") || "").split(",").filter(Boolean),
      a: h.get("a") || "",
      b: h.get("b") || "",
    };
  }

  const state = readHash();

  function writeHash() {
    const h = new URLSearchParams();
    if (state.q) h.set("q", state.q);
    if (!state.log) h.set("log", "0");
    if (state.theme) h.set("theme", state.theme);
    if (state.hide.length) h.set("hide", state.hide.join(","));
    if (state.a) h.set("a", state.a);
    if (state.b) h.set("b", state.b);
    const text = h.toString();
    history.replaceState(null, "", text ? "#" + text : location.pathname);
  }

  function dark() {
    if (state.theme) return state.theme === "dark";
    return window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches;
  }

  // The ratio axes' scale: log or linear, for every encoding of a field the spec's usermeta.log names.
  function withScale(node, fields, log) {
    if (Array.isArray(node)) return node.map((n) => withScale(n, fields, log));
    if (node === null || typeof node !== "object") return node;
    const out = {};
    for (const [key, value] of Object.entries(node)) out[key] = withScale(value, fields, log);
    if (out.scale && fields.includes(out.field)) out.scale = Object.assign({}, out.scale, { type: log ? "log" : "linear" });
    return out;
  }

  const specs = JSON.parse(document.getElementById("charts").textContent);

  function draw() {
    document.documentElement.dataset.theme = dark() ? "dark" : "light";
    document.querySelectorAll(".chart[data-chart]").forEach((div) => {
      const spec = specs[Number(div.dataset.chart)];
      const fields = (spec.usermeta && spec.usermeta.log) || [];
      const shown = withScale(spec, fields, state.log);
      div.dataset.rendered = "";
      const options = { renderer: "svg", actions: false };
      if (dark()) options.theme = "dark";
      vegaEmbed(div, shown, options)
        .then(() => { div.dataset.rendered = "1"; })
        .catch((error) => { div.textContent = "This chart could not be drawn: " + error; console.error(error); });
    });
  }

  function filter() {
    const q = state.q.toLowerCase();
    document.querySelectorAll("[data-text]").forEach((el) => {
      el.hidden = q !== "" && !el.dataset.text.toLowerCase().includes(q);
    });
  }

  function columns() {
    document.querySelectorAll(".col-toggle").forEach((box) => {
      box.checked = !state.hide.includes(box.dataset.col);
    });
    document.querySelectorAll("[data-col]").forEach((el) => {
      if (!el.classList.contains("col-toggle")) el.hidden = state.hide.includes(el.dataset.col);
    });
  }

  function pair() {
    const a = document.getElementById("a");
    const b = document.getElementById("b");
    if (!a || !b) return;
    if (state.a) a.value = state.a;
    if (state.b) b.value = state.b;
    let found = false;
    document.querySelectorAll("section.pair").forEach((s) => {
      const match = (s.dataset.a === a.value && s.dataset.b === b.value) || (s.dataset.a === b.value && s.dataset.b === a.value);
      s.hidden = !match;
      found = found || match;
    });
    document.getElementById("nopair").hidden = found || a.value === b.value;
  }

  const search = document.getElementById("search");
  const log = document.getElementById("log");
  search.value = state.q;
  log.checked = state.log;
  search.addEventListener("input", () => { state.q = search.value; writeHash(); filter(); });
  log.addEventListener("change", () => { state.log = log.checked; writeHash(); draw(); });
  document.getElementById("theme").addEventListener("click", () => {
    state.theme = dark() ? "light" : "dark";
    writeHash();
    draw();
  });
  document.querySelectorAll(".col-toggle").forEach((box) => {
    box.addEventListener("change", () => {
      state.hide = state.hide.filter((c) => c !== box.dataset.col);
      if (!box.checked) state.hide.push(box.dataset.col);
      writeHash();
      columns();
    });
  });
  ["a", "b"].forEach((id) => {
    const select = document.getElementById(id);
    if (select) select.addEventListener("change", () => { state[id] = select.value; writeHash(); pair(); });
  });
  const selects = document.querySelectorAll("#a, #b");
  if (selects.length === 2 && !state.a && !state.b) {
    const first = document.querySelector("section.pair");
    if (first) { state.a = first.dataset.a; state.b = first.dataset.b; }
  }
  // Links between pages carry the view's state (filter, log, theme) along.
  document.querySelectorAll("nav a").forEach((link) => {
    link.addEventListener("click", () => {
      const h = new URLSearchParams();
      if (state.q) h.set("q", state.q);
      if (!state.log) h.set("log", "0");
      if (state.theme) h.set("theme", state.theme);
      const text = h.toString();
      link.href = link.href.split("#")[0] + (text ? "#" + text : "");
    });
  });
  filter();
  columns();
  pair();
  draw();
})();
