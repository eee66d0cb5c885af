// Progressive enhancement only: the pages work without it. No inline scripts anywhere (the CSP
// allows scripts from this origin only), so every behaviour hangs off classes and data attributes.
"use strict";

function toggleTranslations() {
  // Show or hide the English column of a bilingual page; the original always stays.
  for (const button of document.querySelectorAll("[data-toggle-class]")) {
    const target = document.getElementById(button.dataset.target);
    if (!target) continue;
    const cls = button.dataset.toggleClass;
    button.hidden = false;
    button.setAttribute("aria-controls", target.id);
    button.setAttribute("aria-pressed", "false");
    button.addEventListener("click", () => {
      const hidden = target.classList.toggle(cls);
      button.setAttribute("aria-pressed", hidden ? "true" : "false");
      button.textContent = hidden ? "Show English translation" : "Hide English translation";
    });
  }
}

// The hits of a document in reading order: on a page with an image, its hit boxes; else the
// query's marks in its text.
function hitTargets() {
  const targets = [];
  for (const section of document.querySelectorAll("section.page")) {
    const boxes = section.querySelectorAll(".box.hit");
    targets.push(...(boxes.length ? boxes : section.querySelectorAll("mark")));
  }
  return targets;
}

function hitNavigation() {
  const nav = document.getElementById("hitnav");
  if (!nav) return;
  const targets = hitTargets();
  if (!targets.length) return;
  const prev = document.getElementById("prev-hit");
  const next = document.getElementById("next-hit");
  const pos = document.getElementById("hit-pos");
  prev.hidden = next.hidden = false;
  let current = 0;
  const match = /^#page-(\d+)$/.exec(location.hash);
  if (match) {
    const page = document.getElementById("page-" + match[1]);
    const first = targets.findIndex((t) => page && page.contains(t));
    if (first >= 0) current = first;
  }
  function show(index, smooth) {
    targets[current].classList.remove("current");
    current = (index + targets.length) % targets.length;
    const target = targets[current];
    target.classList.add("current");
    target.scrollIntoView({ block: "center", behavior: smooth ? "smooth" : "auto" });
    pos.textContent = `hit ${current + 1} of ${targets.length}`;
  }
  prev.addEventListener("click", () => show(current - 1, true));
  next.addEventListener("click", () => show(current + 1, true));
  document.addEventListener("keydown", (event) => {
    if (event.target.closest("input, textarea, select, [contenteditable]") || event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.key === "n") show(current + 1, true);
    if (event.key === "p") show(current - 1, true);
  });
  show(current, false);
  // The browser may scroll to the #page-N anchor again once the page has loaded: land on the hit.
  let moved = false;
  window.addEventListener("scroll", () => { moved = true; }, { once: true, passive: true });
  window.addEventListener("load", () => {
    if (!moved || window.scrollY === 0 || !inView(targets[current])) show(current, false);
  });
}

function inView(el) {
  const r = el.getBoundingClientRect();
  return r.top >= 0 && r.bottom <= window.innerHeight;
}

function copyLinks() {
  for (const link of document.querySelectorAll("a.copylink")) {
    link.addEventListener("click", async (event) => {
      event.preventDefault();
      const url = link.href;
      let copied = false;
      try {
        await navigator.clipboard.writeText(url);
        copied = true;
      } catch (_) {
        const field = document.createElement("input");
        field.value = url;
        document.body.append(field);
        field.select();
        copied = document.execCommand("copy");
        field.remove();
      }
      const label = link.textContent;
      link.textContent = copied ? "Link copied" : "Copy failed: use this link";
      link.dataset.copied = url;
      setTimeout(() => { link.textContent = label; }, 2500);
    });
  }
}

function zoom() {
  for (const box of document.querySelectorAll(".zoomer")) {
    const wrap = box.nextElementSibling;
    if (!wrap || !wrap.classList.contains("imgwrap")) continue;
    const frame = wrap.querySelector(".pageimg");
    let factor = 1;
    for (const button of box.querySelectorAll("button.zoom")) {
      button.hidden = false;
      button.addEventListener("click", () => {
        factor = button.dataset.zoom === "in" ? Math.min(factor * 1.5, 4) : Math.max(factor / 1.5, 1);
        if (factor < 1.01) factor = 1;
        wrap.classList.toggle("zoomed", factor > 1);
        frame.style.width = factor > 1 ? `${Math.round(factor * 100)}%` : "";
        for (const img of frame.querySelectorAll("img")) img.style.width = factor > 1 ? "100%" : "";
      });
    }
  }
}

function histogramBrush() {
  const figure = document.querySelector(".histogram[data-base]");
  if (!figure) return;
  const bars = [...figure.querySelectorAll(".bar[data-year]")];
  let start = null;
  const mark = (a, b) => {
    const [lo, hi] = [Math.min(a, b), Math.max(a, b)];
    for (const bar of bars) bar.classList.toggle("brushed", +bar.dataset.year >= lo && +bar.dataset.year <= hi);
  };
  for (const bar of bars) {
    bar.addEventListener("pointerdown", (event) => {
      if (event.button !== 0) return;
      start = +bar.dataset.year;
      event.preventDefault();
    });
    bar.addEventListener("pointerenter", () => { if (start !== null) mark(start, +bar.dataset.year); });
    bar.addEventListener("pointerup", () => {
      if (start === null) return;
      const end = +bar.dataset.year;
      const [lo, hi] = [Math.min(start, end), Math.max(start, end)];
      start = null;
      if (lo === hi) return; // a click: the bar's own link
      const base = figure.dataset.base;
      location.href = `${base}${base.length > 1 ? "&" : ""}from=${lo}-01-01&to=${hi}-12-31`;
    });
  }
  document.addEventListener("pointerup", () => { start = null; for (const bar of bars) bar.classList.remove("brushed"); });
}

const RECENT_KEY = "foi-recent-searches";

function recentSearches() {
  let recent = [];
  try { recent = JSON.parse(localStorage.getItem(RECENT_KEY) || "[]"); } catch (_) { recent = []; }
  if (!Array.isArray(recent)) recent = [];
  const results = document.querySelector(".results[data-search-url]");
  if (results) {
    const url = results.dataset.searchUrl.replace(/[?&]page=\d+/, "");
    const label = results.dataset.searchLabel.trim() || url;
    recent = [{ url, label }, ...recent.filter((r) => r && r.url !== url)].slice(0, 10);
    try { localStorage.setItem(RECENT_KEY, JSON.stringify(recent)); } catch (_) { /* storage off */ }
  }
  const box = document.getElementById("recent-searches");
  if (!box || !recent.length) return;
  const list = box.querySelector("ol");
  for (const r of recent) {
    if (typeof r.url !== "string" || !r.url.startsWith("/")) continue; // only this site's searches
    const li = document.createElement("li");
    const a = document.createElement("a");
    a.href = r.url;
    a.textContent = String(r.label); // text, never markup
    li.append(a);
    list.append(li);
  }
  box.hidden = !list.children.length;
  document.getElementById("forget-searches").addEventListener("click", () => {
    localStorage.removeItem(RECENT_KEY);
    box.hidden = true;
    list.replaceChildren();
  });
}

document.addEventListener("DOMContentLoaded", () => {
  toggleTranslations();
  copyLinks();
  zoom();
  histogramBrush();
  recentSearches();
  hitNavigation();
});
