// From RNN to BERT: the language switch keeps the reader's place (_ext/langswitch.py).
// * The switch's link follows the section in view: its data-twins maps this page's section
//   ids to the other edition's, so "中文" on 8.6 lands on 8.6 of the Chinese page.
// * A copy of the switch sits in the sticky header, so it is in reach anywhere on the page.
// * On a phone, opening the menu scrolls it to the page being read.
(function () {
  "use strict";
  function ready(fn) {
    if (document.readyState !== "loading") fn();
    else document.addEventListener("DOMContentLoaded", fn);
  }

  ready(function () {
    var pill = document.getElementById("langswitch");
    if (pill) {
      var base = pill.getAttribute("href").split("#")[0], twins = {};
      try { twins = JSON.parse(pill.getAttribute("data-twins") || "{}"); } catch (e) { twins = {}; }
      var sections = Array.prototype.filter.call(
        document.querySelectorAll("article section[id]"),
        function (s) { return twins[s.id] !== undefined; });
      var links = [pill];

      // The copy in the header: same target, a smaller button beside the theme's.
      var buttons = document.querySelector(".article-header-buttons");
      if (buttons) {
        var copy = pill.cloneNode(true);
        copy.id = "langswitch-header";
        copy.className = "langswitch langswitch-header";
        buttons.insertBefore(copy, buttons.firstChild);
        links.push(copy);
      }

      // The section being read: the last one whose heading is above a third of the window.
      function current() {
        var line = window.innerHeight / 3, found = null;
        for (var i = 0; i < sections.length; i++) {
          if (sections[i].getBoundingClientRect().top <= line) found = sections[i];
          else if (found) break;
        }
        return found;
      }
      function update() {
        var s = current();  // none, or the page's title: the top of the other page
        var href = base + (s && s !== sections[0] ? "#" + twins[s.id] : "");
        links.forEach(function (a) { a.setAttribute("href", href); });
      }
      var queued = false;
      window.addEventListener("scroll", function () {
        if (queued) return;
        queued = true;
        window.requestAnimationFrame(function () { queued = false; update(); });
      }, { passive: true });
      links.forEach(function (a) {
        a.addEventListener("pointerdown", update);
        a.addEventListener("focus", update);
        a.addEventListener("click", update);
      });
      update();
    }

    // Phone menu: when the sidebar opens as a dialog, bring the current page into view.
    var toggle = document.querySelector(".primary-toggle");
    if (toggle) {
      toggle.addEventListener("click", function () {
        window.requestAnimationFrame(function () {
          var dialog = document.getElementById("pst-primary-sidebar-modal");
          var here = dialog && dialog.querySelector(".bd-docs-nav li.current > a, .bd-docs-nav a.current");
          if (here) here.scrollIntoView({ block: "center" });
        });
      });
    }
  });
})();
