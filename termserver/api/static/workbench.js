// termserver mapping workbench: curator name (cookie, sent as X-Curator; a server with tokens
// ignores it), worklist selection, auto-advance to the next open code, keyboard shortcuts, a
// busy indicator and progress bar widths (set through the CSSOM: the CSP refuses inline
// styles). No build step; htmx does the requests. Texts come from the page (its language).
(function () {
  "use strict";

  function readCookie(name) {
    const hit = document.cookie.split("; ").find((c) => c.startsWith(name + "="));
    return hit ? decodeURIComponent(hit.slice(name.length + 1)) : "";
  }

  let selected = null; // the source code shown in the detail panel
  let pending = 0; // requests under way (the busy indicator)
  let queued = null; // a move (j, k, s) pressed before the worklist's rows came: made then
  const ADVANCING = ["accepted", "rejected", "needs-review"];

  document.addEventListener("DOMContentLoaded", function () {
    const field = document.getElementById("curator");
    if (field) {
      field.value = readCookie("curator");
      field.addEventListener("change", function () {
        document.cookie = "curator=" + encodeURIComponent(field.value.trim()) +
          "; path=/; max-age=31536000; samesite=strict";
      });
    }
    const advance = document.getElementById("auto-advance");
    if (advance) {
      advance.checked = localStorage.getItem("workbench.autoAdvance") !== "off";
      advance.addEventListener("change", function () {
        localStorage.setItem("workbench.autoAdvance", advance.checked ? "on" : "off");
      });
    }
    document.querySelectorAll("#detail .skip-button").forEach(wireSkip);
  });

  function autoAdvance() {
    const box = document.getElementById("auto-advance");
    return !box || box.checked;
  }

  // the statuses still to work on: those of the status filter when one is chosen (say,
  // needs-review while checking a bulk accept's sample), else the open ones
  function openStatuses() {
    const filter = document.getElementById("filter-status");
    if (filter && filter.value) return [filter.value];
    const list = document.getElementById("worklist");
    return ((list && list.dataset.open) || "unmapped suggested").split(" ");
  }

  // the worklist before its first answer came (empty until htmx loads it)
  function loading() {
    const list = document.getElementById("worklist");
    return !!list && !list.firstElementChild;
  }

  function rows() {
    return Array.from(document.querySelectorAll("#worklist tr.row"));
  }

  // the next row after `code` whose decision is still open (null: none on this page)
  function nextOpen(code) {
    const all = rows();
    const open = openStatuses();
    const at = all.findIndex((r) => r.dataset.code === code);
    const after = all.slice(at + 1).find((r) => open.includes(r.dataset.status));
    return after || null;
  }

  document.addEventListener("htmx:configRequest", function (evt) {
    const field = document.getElementById("curator");
    const name = field ? field.value.trim() : readCookie("curator");
    if (name) evt.detail.headers["X-Curator"] = encodeURIComponent(name);
    const params = evt.detail.parameters;
    // a refresh of the worklist after a decision keeps the page the curator is on
    if (evt.detail.elt.id === "worklist") {
      const table = document.querySelector("#worklist table[data-offset]");
      if (table) params.offset = table.dataset.offset;
    }
    // auto-advance: a decision asks the server to show the next open code afterwards
    if (/\/decide$/.test(evt.detail.path) && autoAdvance() &&
        ADVANCING.includes(params.status) && evt.detail.elt.dataset.testid !== "save-comment") {
      const next = nextOpen(params.code || selected);
      if (next) params.next = next.dataset.code;
    }
  });

  // what was decided, said in the live region (the panel may already show the next code)
  document.addEventListener("done", function (evt) {
    const flash = document.getElementById("flash");
    if (flash && evt.detail && evt.detail.message) flash.textContent = evt.detail.message;
  });

  // busy indicator while any request is under way
  function busy(step) {
    pending = Math.max(0, pending + step);
    const box = document.getElementById("busy");
    if (!box) return;
    box.textContent = pending ? box.dataset.text : "";
    box.classList.toggle("on", pending > 0);
    document.body.setAttribute("aria-busy", pending ? "true" : "false");
  }
  document.addEventListener("htmx:beforeRequest", function () { busy(1); });
  document.addEventListener("htmx:afterRequest", function () { busy(-1); });

  // progress bar widths: set through the CSSOM (the CSP refuses inline style attributes)
  htmx.onLoad(function (elt) {
    elt.querySelectorAll(".bar[data-width]").forEach(function (bar) {
      bar.style.width = bar.dataset.width + "%";
    });
    elt.querySelectorAll(".skip-button").forEach(wireSkip);
  });

  function wireSkip(button) {
    if (button.dataset.wired) return;
    button.dataset.wired = "1";
    button.addEventListener("click", skip);
  }

  function markSelected() {
    document.querySelectorAll("#worklist tr.row").forEach(function (row) {
      const on = row.dataset.code === selected;
      row.classList.toggle("selected", on);
      if (on) row.setAttribute("aria-current", "true");
      else row.removeAttribute("aria-current");
    });
  }

  document.addEventListener("htmx:afterSwap", function (evt) {
    const target = evt.detail.target;
    if (target.id === "detail") {
      const panel = target.querySelector("[data-code]");
      if (panel) selected = panel.dataset.code;
      markSelected();
      const row = rows().find((r) => r.dataset.code === selected);
      if (row) row.scrollIntoView({ block: "nearest" });
      // keep the keyboard in the panel unless the curator is typing in the search
      const active = document.activeElement;
      if (!active || active === document.body || !document.contains(active) ||
          target.contains(active)) {
        const title = target.querySelector(".detail-title");
        if (title) title.focus({ preventScroll: true });
      }
    } else if (target.id === "worklist") {
      markSelected();
      const later = queued;
      queued = null;
      if (later) later(); // with no rows it is dropped: the list is no longer loading
    } else if (target.id === "import-result") {
      // offer the imported list as the new project's source
      const result = target.querySelector("[data-url]");
      const form = document.getElementById("project-form");
      if (result && form) {
        form.elements.source_system.value = result.dataset.url;
        form.elements.source_version.value = result.dataset.version;
      }
    }
  });

  function show(row) {
    if (!row) return;
    selected = row.dataset.code;
    markSelected();
    row.scrollIntoView({ block: "nearest" });
    activate(row);
  }

  function move(step) {
    const all = rows();
    if (!all.length) { if (loading()) queued = function () { move(step); }; return; }
    const at = all.findIndex((r) => r.dataset.code === selected);
    show(all[Math.min(Math.max(at < 0 ? 0 : at + step, 0), all.length - 1)]);
  }

  function skip() {
    if (!rows().length) { if (loading()) queued = skip; return; }
    show(nextOpen(selected) || (selected ? null : rows()[0]));
  }

  // htmx wires up swapped-in content when it settles; a key pressed before that must not
  // get lost, so process the element (idempotent) before clicking it
  function activate(elt) {
    htmx.process(elt);
    elt.click();
  }

  function press(testid) {
    const button = document.querySelector('#detail [data-testid="' + testid + '"]');
    if (button) activate(button);
  }

  document.addEventListener("keydown", function (evt) {
    const tag = evt.target.tagName;
    if (evt.key === "Escape" && evt.target.blur) { evt.target.blur(); return; }
    if (evt.ctrlKey || evt.metaKey || evt.altKey) return;
    if (tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || evt.target.isContentEditable) return;
    if (tag === "BUTTON" || tag === "A") { if (evt.key === "Enter" || evt.key === " ") return; }
    if (!document.getElementById("worklist")) return;
    if (evt.key === "j") move(1);
    else if (evt.key === "k") move(-1);
    else if (evt.key === "a" || evt.key === "Enter") press("accept-1");
    else if (/^[1-5]$/.test(evt.key)) press("accept-" + evt.key);
    else if (evt.key === "s") skip();
    else if (evt.key === "r") press("reject");
    else if (evt.key === "n") press("needs-review");
    else if (evt.key === "/") {
      const search = document.getElementById("target-search");
      if (search) {
        htmx.process(search);
        search.focus();
        search.select();
      }
    } else return;
    evt.preventDefault();
  });
})();
