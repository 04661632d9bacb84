// Agent workbench: keyboard moves in the inbox (j/k, Enter, a, x), composer shortcuts (r, n), canned
// replies inserted at the cursor, select-all. Everything also works with the mouse and without this file.
(function () {
  "use strict";
  if (window.__loopcrmWorkbench) return;
  window.__loopcrmWorkbench = true;

  function typing(event) {
    var el = event.target;
    return el && (el.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName));
  }

  function rows() { return Array.prototype.slice.call(document.querySelectorAll("[data-ticket-row]")); }

  function current() { return document.querySelector("[data-ticket-row].is-current"); }

  function move(step) {
    var all = rows();
    if (!all.length) return;
    var index = all.indexOf(current());
    var next = all[Math.max(0, Math.min(all.length - 1, index < 0 ? 0 : index + step))];
    all.forEach(function (row) { row.classList.remove("is-current"); row.removeAttribute("aria-current"); });
    next.classList.add("is-current");
    next.setAttribute("aria-current", "true");
    var link = next.querySelector("[data-open]");
    if (link) link.focus({ preventScroll: false });
  }

  function showTab(name) {
    var tab = document.querySelector('[data-composer-tab="' + name + '"]');
    if (!tab) return false;
    document.querySelectorAll("[data-composer-tab]").forEach(function (other) {
      var selected = other === tab;
      other.setAttribute("aria-selected", selected ? "true" : "false");
      var panel = document.getElementById(other.getAttribute("aria-controls"));
      if (panel) panel.hidden = !selected;
    });
    var panel = document.getElementById(tab.getAttribute("aria-controls"));
    var area = panel && panel.querySelector("textarea");
    if (area) area.focus();
    return true;
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event)) return;
    var key = event.key;
    if (key === "j" || key === "k") {
      if (!rows().length) return;
      event.preventDefault();
      move(key === "j" ? 1 : -1);
    } else if (key === "Enter") {
      var row = current();
      var link = row && row.querySelector("[data-open]");
      if (link && document.activeElement !== link) { event.preventDefault(); link.click(); }
    } else if (key === "x") {
      var picked = current();
      var box = picked && picked.querySelector("input[type=checkbox]");
      if (box) { event.preventDefault(); box.checked = !box.checked; }
    } else if (key === "a") {
      var selected = current();
      if (selected && window.htmx) {
        event.preventDefault();
        window.htmx.ajax("POST", selected.getAttribute("data-assign-url"), { source: selected, swap: "none" });
        return;
      }
      var take = document.querySelector("[data-take]");
      if (take) { event.preventDefault(); take.click(); }
    } else if (key === "r" || key === "n") {
      if (showTab(key === "r" ? "reply" : "note")) event.preventDefault();
    }
  });

  document.addEventListener("click", function (event) {
    var tab = event.target.closest("[data-composer-tab]");
    if (tab) { showTab(tab.getAttribute("data-composer-tab")); return; }
    var all = event.target.closest("[data-check-all]");
    if (all) {
      document.querySelectorAll("[data-ticket-row] input[type=checkbox]").forEach(function (box) { box.checked = all.checked; });
    }
  });

  function bulkFields() {
    var action = document.getElementById("id_bulk-action");
    if (!action) return;
    document.querySelectorAll("[data-bulk-for]").forEach(function (part) {
      part.hidden = part.getAttribute("data-bulk-for").split(" ").indexOf(action.value) < 0;
    });
  }
  document.addEventListener("DOMContentLoaded", bulkFields);

  document.addEventListener("change", function (event) {
    if (event.target.id === "id_bulk-action") { bulkFields(); return; }
    var select = event.target.closest("select[data-canned]");
    if (!select) return;
    var option = select.options[select.selectedIndex];
    var area = document.getElementById(select.getAttribute("data-canned"));
    if (!option || !option.value || !area) return;
    var text = option.getAttribute("data-body") || "";
    var start = area.selectionStart || 0, end = area.selectionEnd || 0;
    area.value = area.value.slice(0, start) + text + area.value.slice(end);
    area.focus();
    area.selectionStart = area.selectionEnd = start + text.length;
    select.selectedIndex = 0;
  });
})();
