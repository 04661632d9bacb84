// LoopCRM — small behaviours of the shell. Everything works without this file; it adds comfort.
(function () {
  "use strict";

  function setNav(open) {
    document.body.classList.toggle("nav-open", open);
    document.querySelectorAll("[data-nav-toggle]").forEach(function (button) {
      button.setAttribute("aria-expanded", open ? "true" : "false");
    });
    document.querySelectorAll("[data-nav-close]").forEach(function (backdrop) {
      backdrop.hidden = !open;
    });
  }

  document.addEventListener("click", function (event) {
    var toggle = event.target.closest("[data-nav-toggle]");
    if (toggle) {
      setNav(!document.body.classList.contains("nav-open"));
      return;
    }
    if (event.target.closest("[data-nav-close]")) {
      setNav(false);
    }
    // Close open menus when clicking elsewhere.
    document.querySelectorAll("details[data-menu][open]").forEach(function (menu) {
      if (!menu.contains(event.target)) menu.removeAttribute("open");
    });
    // Show or hide a filter panel on small screens.
    var filterToggle = event.target.closest("[data-toggle-panel]");
    if (filterToggle) {
      var panel = document.getElementById(filterToggle.getAttribute("aria-controls"));
      if (panel) {
        var open = !panel.classList.contains("is-open");
        panel.classList.toggle("is-open", open);
        filterToggle.setAttribute("aria-expanded", open ? "true" : "false");
      }
    }
  });

  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    setNav(false);
    document.querySelectorAll("details[data-menu][open]").forEach(function (menu) {
      menu.removeAttribute("open");
      var summary = menu.querySelector("summary");
      if (summary) summary.focus();
    });
  });

  // After htmx replaces a form that failed validation, put the cursor on the first field at fault.
  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail && event.detail.target;
    if (!target || !target.querySelector) return;
    var invalid = target.querySelector(".has-error input, .has-error select, .has-error textarea");
    if (invalid) invalid.focus();
  });
})();
