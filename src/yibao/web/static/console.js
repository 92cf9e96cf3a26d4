// yibao console: show the reasons of a timeline segment on hover, focus or click (no other script than htmx).
(function () {
  "use strict";
  function show(el) {
    var id = el.getAttribute("data-explain");
    var src = id && document.getElementById(id);
    var panel = document.getElementById("reasons");
    if (!src || !panel) return;
    panel.innerHTML = src.innerHTML;
    panel.setAttribute("data-showing", id);
    document.querySelectorAll("[data-explain].selected").forEach(function (s) { s.classList.remove("selected"); });
    el.classList.add("selected");
  }
  function target(ev) {
    var el = ev.target;
    while (el && el !== document) {
      if (el.getAttribute && el.getAttribute("data-explain")) return el;
      el = el.parentNode;
    }
    return null;
  }
  document.addEventListener("click", function (ev) { var el = target(ev); if (el) show(el); });
  document.addEventListener("mouseover", function (ev) { var el = target(ev); if (el) show(el); });
  document.addEventListener("focusin", function (ev) { var el = target(ev); if (el) show(el); });
  document.addEventListener("keydown", function (ev) {
    if (ev.key === "Enter" || ev.key === " ") { var el = target(ev); if (el) { ev.preventDefault(); show(el); } }
  });
})();
