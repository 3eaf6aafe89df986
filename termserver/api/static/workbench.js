// termserver mapping workbench: curator name (cookie, sent as X-Curator; a server with tokens
// ignores it), worklist selection, keyboard shortcuts and progress bar widths (set through the
// CSSOM: the CSP refuses inline styles). No build step; htmx does the requests.
(function () {
  "use strict";

  function readCookie(name) {
    const hit = document.cookie.split("; ").find((c) => c.startsWith(name + "="));
    return hit ? decodeURIComponent(hit.slice(name.length + 1)) : "";
  }

  let selected = null; // the source code shown in the detail panel

  document.addEventListener("DOMContentLoaded", function () {
    const field = document.getElementById("curator");
    if (field) {
      field.value = readCookie("curator");
      field.addEventListener("change", function () {
        document.cookie = "curator=" + encodeURIComponent(field.value.trim()) +
          "; path=/; max-age=31536000; samesite=strict";
      });
    }
  });

  document.addEventListener("htmx:configRequest", function (evt) {
    const field = document.getElementById("curator");
    const name = field ? field.value.trim() : readCookie("curator");
    if (name) evt.detail.headers["X-Curator"] = encodeURIComponent(name);
    // a refresh of the worklist after a decision keeps the page the curator is on
    if (evt.detail.elt.id === "worklist") {
      const table = document.querySelector("#worklist table[data-offset]");
      if (table) evt.detail.parameters.offset = table.dataset.offset;
    }
  });

  // progress bar widths: set through the CSSOM (the CSP refuses inline style attributes)
  htmx.onLoad(function (elt) {
    elt.querySelectorAll(".bar[data-width]").forEach(function (bar) {
      bar.style.width = bar.dataset.width + "%";
    });
  });

  function markSelected() {
    document.querySelectorAll("#worklist tr.row").forEach(function (row) {
      row.classList.toggle("selected", row.dataset.code === selected);
    });
  }

  document.addEventListener("htmx:afterSwap", function (evt) {
    const target = evt.detail.target;
    if (target.id === "detail") {
      const panel = target.querySelector("[data-code]");
      if (panel) selected = panel.dataset.code;
      markSelected();
    } else if (target.id === "worklist") {
      markSelected();
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

  function rows() {
    return Array.from(document.querySelectorAll("#worklist tr.row"));
  }

  function move(step) {
    const all = rows();
    if (!all.length) return;
    const at = all.findIndex((r) => r.dataset.code === selected);
    const next = all[Math.min(Math.max(at < 0 ? 0 : at + step, 0), all.length - 1)];
    selected = next.dataset.code;
    markSelected();
    next.scrollIntoView({ block: "nearest" });
    activate(next);
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
    if (!document.getElementById("worklist")) return;
    if (evt.key === "j") move(1);
    else if (evt.key === "k") move(-1);
    else if (/^[1-5]$/.test(evt.key)) press("accept-" + evt.key);
    else if (evt.key === "r") press("reject");
    else if (evt.key === "n") press("needs-review");
    else if (evt.key === "/") {
      const search = document.getElementById("target-search");
      if (search) {
        htmx.process(search);
        search.focus();
      }
    } else return;
    evt.preventDefault();
  });
})();
