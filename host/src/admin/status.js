// wasmpush status page (/status.js). The page is complete without it: this
// only asks before a drop and refreshes the page every few seconds (the
// refresh can be paused; the choice is kept in this browser).
(function () {
  "use strict";

  // A drop deletes reports for good: ask first.
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.getAttribute("data-confirm"))) {
        event.preventDefault();
      }
    });
  });

  var PERIOD_MS = 5000;
  var KEY = "wasmpush.status.paused";
  var box = document.getElementById("refresh");
  var toggle = document.getElementById("refresh-toggle");
  var state = document.getElementById("refresh-state");
  var loadedAt = document.getElementById("loaded-at");
  if (!box || !toggle || !state) {
    return;
  }

  function storedPaused() {
    try {
      return window.localStorage.getItem(KEY) === "1";
    } catch (e) {
      return false;
    }
  }

  function store(value) {
    try {
      if (value) {
        window.localStorage.setItem(KEY, "1");
      } else {
        window.localStorage.removeItem(KEY);
      }
    } catch (e) {
      // Storage refused (private mode): the choice lasts for this page only.
    }
  }

  var paused = storedPaused();
  var timer = null;

  function show() {
    state.textContent = paused ? "auto-refresh paused" : "auto-refresh every " + PERIOD_MS / 1000 + " s";
    toggle.textContent = paused ? "resume" : "pause";
    box.setAttribute("data-paused", paused ? "true" : "false");
  }

  function schedule() {
    if (timer !== null) {
      window.clearTimeout(timer);
      timer = null;
    }
    if (paused) {
      return;
    }
    timer = window.setTimeout(function () {
      // Not while the tab is hidden or a button has the focus (about to
      // be used); try again next period.
      var active = document.activeElement;
      var busy = active && active !== toggle && (active.tagName === "BUTTON" || active.tagName === "INPUT");
      if (document.visibilityState === "visible" && !busy) {
        window.location.reload();
      } else {
        schedule();
      }
    }, PERIOD_MS);
  }

  toggle.addEventListener("click", function () {
    paused = !paused;
    store(paused);
    show();
    schedule();
  });

  if (loadedAt) {
    loadedAt.textContent = "· loaded " + new Date().toISOString().slice(11, 19) + " UTC";
  }
  box.hidden = false;
  show();
  schedule();
})();
