// From RNN to BERT: MathJax's "Accessibility > Activate" must not blank the formulas.
// MathJax 3.2.2 re-renders the page when a reader turns on its accessibility tools; the
// semantic enrichment that this needs loads its speech rules first and asks for a retry,
// which the menu's re-render does not catch, so every formula disappears
// (github.com/mathjax/MathJax/issues/3124; fixed in MathJax 4). The work-around its
// maintainer gives: run the menu's re-render under mathjax.handleRetriesFor. This script
// comes after Sphinx's `window.MathJax = {...}` and before MathJax itself (deferred).
(function () {
  "use strict";
  var config = window.MathJax = window.MathJax || {};
  var startup = config.startup = config.startup || {};
  var ready = startup.ready;
  startup.ready = function () {
    var mathjax = MathJax._.mathjax.mathjax;
    var STATE = MathJax._.core.MathItem.STATE;
    var Menu = MathJax._.ui && MathJax._.ui.menu && MathJax._.ui.menu.Menu.Menu;
    if (Menu && !Menu.prototype.r2bRetries) {
      var rerender = Menu.prototype.rerender;
      Menu.prototype.rerender = function (start) {
        var menu = this;
        return mathjax.handleRetriesFor(function () {
          rerender.call(menu, start === undefined ? STATE.TYPESET : start);
        });
      };
      Menu.prototype.r2bRetries = true;
    }
    return ready ? ready() : MathJax.startup.defaultReady();
  };
})();
