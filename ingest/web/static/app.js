// Keyboard shortcuts (Miniflux/Gmail style). Pages work without this file; it only adds keys.
"use strict";
(function () {
  function entries() { return Array.prototype.slice.call(document.querySelectorAll(".entry")); }
  function current() { return document.querySelector(".entry.current"); }
  function select(el) {
    var old = current();
    if (old) { old.classList.remove("current"); }
    if (el) { el.classList.add("current"); el.scrollIntoView({block: "nearest"}); }
  }
  function move(step) {
    var list = entries();
    if (!list.length) { return; }
    var i = list.indexOf(current());
    select(list[Math.max(0, Math.min(list.length - 1, i < 0 ? 0 : i + step))]);
  }
  function submit(selector) {
    var scope = current() || document;
    var button = scope.querySelector(selector);
    if (button) { button.click(); }
  }
  function toggleHelp(show) {
    var help = document.getElementById("help");
    if (help) { help.hidden = show === undefined ? !help.hidden : !show; }
  }
  document.addEventListener("keydown", function (e) {
    var t = e.target;
    if (e.ctrlKey || e.metaKey || e.altKey) { return; }
    if (t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT")) {
      if (e.key === "Escape") { t.blur(); }
      return;
    }
    switch (e.key) {
      case "j": move(1); break;
      case "k": move(-1); break;
      case "o": case "Enter":
        var el = current();
        if (el && el.dataset.href) { window.location.href = el.dataset.href; }
        else if (!el && document.getElementById("original")) { window.location.href = document.getElementById("original").href; }
        break;
      case "r": submit("button[name=action][value=reviewed]"); break;
      case "s": submit("button[name=action][value=star],button[name=action][value=unstar]"); break;
      case "/": e.preventDefault(); var s = document.getElementById("search"); if (s) { s.focus(); } break;
      case "?": toggleHelp(); break;
      case "Escape": toggleHelp(false); break;
      default: return;
    }
  });
  document.addEventListener("click", function (e) {
    var row = e.target.closest && e.target.closest(".entry");
    if (row && e.target.tagName !== "A" && e.target.tagName !== "BUTTON") { select(row); }
  });
})();
