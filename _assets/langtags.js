// From RNN to BERT: Chinese in the theme's chrome of an English page (the site title, the
// page's table of contents, the print header) gets lang="zh-CN", like the prose does at
// build time (_ext/langtags.py): a screen reader switches voice, the browser draws
// Simplified Chinese glyphs. Code and math are left alone.
(function () {
  "use strict";
  var HAN = "\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef";
  var RUN = new RegExp("[" + HAN + "](?:[" + HAN + "\\s\u00b7]*[" + HAN + "])?", "g");
  var SKIP = "script, style, pre, code, svg, mjx-container, textarea, [lang]:not(html)";  // no <span> in SVG

  function tag(root) {
    var walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT), texts = [];
    while (walker.nextNode()) {
      var t = walker.currentNode;
      RUN.lastIndex = 0;
      if (RUN.test(t.data) && !t.parentElement.closest(SKIP)) texts.push(t);
    }
    texts.forEach(function (t) {
      var parts = document.createDocumentFragment(), at = 0, m;
      RUN.lastIndex = 0;
      while ((m = RUN.exec(t.data))) {
        parts.appendChild(document.createTextNode(t.data.slice(at, m.index)));
        var span = document.createElement("span");
        span.lang = "zh-CN";
        span.textContent = m[0];
        parts.appendChild(span);
        at = m.index + m[0].length;
      }
      parts.appendChild(document.createTextNode(t.data.slice(at)));
      t.parentNode.replaceChild(parts, t);
    });
  }

  function run() {
    if (document.documentElement.lang.indexOf("zh") === 0) return;  // a Chinese page
    tag(document.body);
  }
  if (document.readyState !== "loading") run();
  else document.addEventListener("DOMContentLoaded", run);
})();
