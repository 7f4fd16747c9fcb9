// The book's explorers (rnn2bert/explorers.py): plain JavaScript, no library, no network.
// R2B.mount(id, kind, data) draws one explorer into the <div id=...> just before this script.
var R2B = window.R2B || (window.R2B = (function () {
  "use strict";
  var SVG = "http://www.w3.org/2000/svg", BLUE = "#1f77b4", ORANGE = "#ff7f0e";

  function svg(tag, attrs, parent) {
    var e = document.createElementNS(SVG, tag);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (parent) parent.appendChild(e);
    return e;
  }
  function html(tag, attrs, parent, text) {
    var e = document.createElement(tag);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    if (parent) parent.appendChild(e);
    return e;
  }
  function label(parent, text, control) {
    var l = html("label", {}, parent, text + " ");
    l.appendChild(control);
    return control;
  }
  function select(options, value) {
    var s = html("select", {});
    options.forEach(function (o) { html("option", { value: o[0] }, s, o[1]); });
    s.value = String(value);
    return s;
  }
  function range(min, max, step, value) {
    return html("input", { type: "range", min: min, max: max, step: step, value: value });
  }
  function softmax(xs) {  // -Infinity = masked; a row with nothing allowed gives zeros (like the library)
    var m = Math.max.apply(null, xs);
    if (m === -Infinity) return xs.map(function () { return 0; });
    var e = xs.map(function (x) { return x === -Infinity ? 0 : Math.exp(x - m); });
    var s = e.reduce(function (a, b) { return a + b; }, 0);
    return e.map(function (x) { return x / s; });
  }
  function entropyShare(p) {  // entropy as a share of its maximum ln(n): 0 = one key, 1 = uniform
    var h = p.reduce(function (a, x) { return x > 0 ? a - x * Math.log(x) : a; }, 0);
    return h / Math.log(p.length);
  }
  function picture(root, x0, y0, w, h, description, role) {  // never drawn larger than its natural size
    // role "group" when the picture holds controls: the children of role "img" are presentational
    var e = svg("svg", { viewBox: [x0, y0, w, h].join(" "), role: role || "img", "aria-label": description }, root);
    e.style.maxWidth = w + "px";
    return e;
  }
  function readoutBox(root) {  // announced by screen readers when it changes
    return html("div", { "class": "r2b-readout", role: "status", "aria-live": "polite" }, root);
  }
  function frame(root, title) {
    if (title) html("div", { "class": "r2b-title" }, root, title);
    return { controls: html("div", { "class": "r2b-controls" }, root) };
  }

  // ---- attention: layer/head pickers, tokens on both sides, lines weighted by attention
  function attention(root, d) {
    var L = d.tokens.length, nLayers = d.weights.length, nHeads = d.weights[0].length;
    // row: a token's tap target, at least 24 px high even where a phone draws the picture at 72 %
    var ui = frame(root, d.title), focus = d.focus, pin = d.focus, row = 34, top = 18;  // pin: a clicked token, or -1
    var layer = label(ui.controls, "layer · 层", select(d.weights.map(function (_, i) { return [i, i + 1]; }), d.layer));
    var heads = [["mean", "mean · 平均"]].concat(d.weights[0].map(function (_, i) { return [i, i + 1]; }));
    var head = label(ui.controls, "head · 头", select(heads, d.head));
    var pic = picture(root, 0, 0, 460, top + L * row, "attention lines · 注意力连线", "group");
    svg("text", { x: 150, y: 12, "text-anchor": "end", opacity: 0.7 }, pic).textContent = "query · 查询";
    svg("text", { x: 310, y: 12, opacity: 0.7 }, pic).textContent = "key · 键";
    var lines = svg("g", {}, pic);
    var mid = row / 2 + 4;  // a token's baseline within its row
    var left = d.tokens.map(function (t, i) {
      // the whole row left of the lines is the token's target: a button, not only its letters
      var g = svg("g", { "class": "r2b-query-row", tabindex: 0, role: "button", "aria-label": t, "aria-pressed": "false" }, pic);
      svg("rect", { x: 0, y: top + i * row, width: 156, height: row, fill: "transparent", "class": "r2b-hit" }, g);
      svg("text", { x: 150, y: top + i * row + mid, "text-anchor": "end", "class": "r2b-token r2b-query" }, g).textContent = t;
      function toggle() { pin = pin === i ? -1 : i; focus = i; draw(); }
      g.addEventListener("mouseenter", function () { if (pin < 0) { focus = i; draw(); } });
      g.addEventListener("focus", function () { focus = i; draw(); });
      g.addEventListener("click", toggle);
      g.addEventListener("keydown", function (e) {
        if (e.key === "Enter" || e.key === " ") { e.preventDefault(); toggle(); }
      });
      return g;
    });
    d.tokens.forEach(function (t, j) {
      svg("text", { x: 310, y: top + j * row + mid, "class": "r2b-token r2b-key" }, pic).textContent = t;
    });
    pic.addEventListener("mouseleave", function () { if (pin < 0) { focus = -1; draw(); } });
    var readout = readoutBox(root);
    html("p", { "class": "r2b-hint" }, root,
      "Point at (or tap) a token on the left: the lines show where it looks. · 把鼠标移到（或点按）左侧的词元上：连线显示它关注哪里。");

    function weight(i, j) {
      var w = d.weights[+layer.value];
      if (head.value !== "mean") return w[+head.value][i][j] / 1000;
      var s = 0;
      for (var h = 0; h < nHeads; h++) s += w[h][i][j];
      return s / nHeads / 1000;
    }
    function draw() {
      while (lines.firstChild) lines.removeChild(lines.firstChild);
      for (var i = 0; i < L; i++) {
        if (focus >= 0 && i !== focus) continue;
        for (var j = 0; j < L; j++) {
          var w = weight(i, j);
          if (w < 0.01) continue;
          svg("line", { x1: 156, y1: top + i * row + mid - 4, x2: 304, y2: top + j * row + mid - 4, stroke: BLUE,
            "stroke-width": focus >= 0 ? 1 + 5 * w : 1.5, "stroke-opacity": focus >= 0 ? 0.25 + 0.75 * w : w * 0.6,
            "class": "r2b-line", "data-w": w.toFixed(3) }, lines);
        }
      }
      left.forEach(function (g, i) {
        g.classList.toggle("r2b-on", i === focus);
        g.setAttribute("aria-pressed", i === pin ? "true" : "false");
      });
      if (focus < 0) { readout.textContent = "all queries · 全部查询 (layer " + (+layer.value + 1) + ", head " + (head.value === "mean" ? "mean" : +head.value + 1) + ")"; return; }
      var order = d.tokens.map(function (_, j) { return j; }).sort(function (a, b) { return weight(focus, b) - weight(focus, a); });
      readout.textContent = "“" + d.tokens[focus] + "” → " + order.slice(0, 4).map(function (j) {
        return d.tokens[j] + " " + weight(focus, j).toFixed(2);
      }).join(",  ") + "  (layer · 层 " + (+layer.value + 1) + ", head · 头 " +
        (head.value === "mean" ? "mean · 平均" : +head.value + 1) + ")";
    }
    layer.addEventListener("change", draw);
    head.addEventListener("change", draw);
    draw();
  }

  // ---- scaling: one query's weights over n keys, with and without the division by sqrt(d_k)
  function scaling(root, d) {
    var ui = frame(root), n = d.scores[0].length, W = 460, H = 150, bw = W / n;
    var dk = label(ui.controls, "d_k", range(0, d.dims.length - 1, 1, Math.max(0, d.dims.indexOf(64))));
    var dkText = html("span", {}, ui.controls);
    var temp = label(ui.controls, "temperature T · 温度", range(-10, 10, 1, 0));
    var tText = html("span", {}, ui.controls);
    var pic = picture(root, 0, 0, W, H + 36, "attention weights");
    svg("line", { x1: 0, y1: H, x2: W, y2: H, stroke: "currentColor", "stroke-opacity": 0.5 }, pic);
    var bars = [[], []];
    for (var k = 0; k < n; k++) {
      bars[0].push(svg("rect", { x: k * bw + bw * 0.1, width: bw * 0.38, fill: ORANGE, "class": "r2b-raw" }, pic));
      bars[1].push(svg("rect", { x: k * bw + bw * 0.52, width: bw * 0.38, fill: BLUE, "class": "r2b-scaled" }, pic));
      svg("text", { x: k * bw + bw / 2, y: H + 14, "text-anchor": "middle", opacity: 0.7 }, pic).textContent = "k" + (k + 1);
    }
    svg("rect", { x: 4, y: H + 22, width: 10, height: 10, fill: ORANGE }, pic);
    svg("text", { x: 18, y: H + 32 }, pic).textContent = "softmax(q·k / T)";
    svg("rect", { x: 200, y: H + 22, width: 10, height: 10, fill: BLUE }, pic);
    svg("text", { x: 214, y: H + 32 }, pic).textContent = "softmax(q·k / (T·√d_k))";
    var readout = readoutBox(root);
    html("p", { "class": "r2b-hint" }, root, "Move the sliders. · 拖动滑块。");

    function draw() {
      var i = +dk.value, T = Math.pow(10, temp.value / 10), root_dk = Math.sqrt(d.dims[i]);
      dkText.textContent = "= " + d.dims[i];
      tText.textContent = "= " + T.toFixed(2);
      var raw = softmax(d.scores[i].map(function (s) { return s / T; }));
      var scaled = softmax(d.scores[i].map(function (s) { return s / (T * root_dk); }));
      [raw, scaled].forEach(function (p, s) {
        p.forEach(function (w, k) { bars[s][k].setAttribute("y", H - w * H); bars[s][k].setAttribute("height", w * H); });
      });
      readout.textContent = "largest weight · 最大权重: " + Math.max.apply(null, raw).toFixed(2) + " (unscaled · 未缩放) vs "
        + Math.max.apply(null, scaled).toFixed(2) + " (scaled · 缩放);  entropy / ln n · 熵占比: "
        + entropyShare(raw).toFixed(2) + " vs " + entropyShare(scaled).toFixed(2);
    }
    dk.addEventListener("input", draw);
    temp.addEventListener("input", draw);
    draw();
  }

  // ---- masks: which keys each query may see, and the weights that result
  function mask(root, d) {
    var L = d.tokens.length, ui = frame(root), cell = 40, left = 70, top = 44;
    var kinds = [["none", "none · 无"], ["padding", "padding · 填充"], ["causal", "causal · 因果"], ["both", "padding & causal · 两者"]];
    var kind = label(ui.controls, "mask · 掩码", select(kinds, "both"));
    var len = label(ui.controls, "real tokens · 真实词元", range(1, L, 1, Math.max(1, L - 2)));
    var lenText = html("span", {}, ui.controls);
    var pic = picture(root, 0, 0, left + L * cell + 4, top + L * cell + 4, "attention weights under a mask");
    svg("text", { x: left + L * cell / 2, y: 14, "text-anchor": "middle", opacity: 0.7 }, pic).textContent = "key · 键";
    var cols = [], rows = [], cells = [];
    for (var j = 0; j < L; j++) {
      cols.push(svg("text", { x: left + j * cell + cell / 2, y: top - 8, "text-anchor": "middle" }, pic));
      rows.push(svg("text", { x: left - 6, y: top + j * cell + cell / 2 + 4, "text-anchor": "end" }, pic));
    }
    for (var i = 0; i < L; i++) {
      cells.push([]);
      for (var k = 0; k < L; k++) {
        var g = svg("g", { "class": "r2b-cell" }, pic);
        var r = svg("rect", { x: left + k * cell + 1, y: top + i * cell + 1, width: cell - 2, height: cell - 2 }, g);
        var t = svg("text", { x: left + k * cell + cell / 2, y: top + i * cell + cell / 2 + 4, "text-anchor": "middle", "font-size": 11 }, g);
        cells[i].push({ rect: r, text: t, g: g });
      }
    }
    var readout = readoutBox(root);
    html("p", { "class": "r2b-hint" }, root, "Rows: queries; grey ×: masked (weight exactly 0). · 行是查询；灰色 ×：被遮蔽（权重恰为 0）。");

    function allowed(i, j, n) {
      var k = kind.value;
      var pad = j < n, causal = j <= i;
      return k === "none" ? true : k === "padding" ? pad : k === "causal" ? causal : pad && causal;
    }
    function draw() {
      var n = +len.value, masked = 0;
      lenText.textContent = n + " / " + L;
      for (var j = 0; j < L; j++) {
        var name = j < n ? d.tokens[j] : "[PAD]";
        cols[j].textContent = name; rows[j].textContent = name;
      }
      for (var i = 0; i < L; i++) {
        var p = softmax(d.scores[i].map(function (s, j) { return allowed(i, j, n) ? s : -Infinity; }));
        p.forEach(function (w, j) {
          var c = cells[i][j], ok = allowed(i, j, n);
          masked += ok ? 0 : 1;
          c.rect.setAttribute("fill", ok ? BLUE : "gray");
          c.rect.setAttribute("fill-opacity", ok ? 0.12 + 0.88 * w : 0.15);
          c.text.textContent = ok ? w.toFixed(2) : "×";
          c.g.setAttribute("data-w", w.toFixed(3));
          c.g.setAttribute("data-allowed", ok ? "1" : "0");
        });
      }
      readout.textContent = masked + " of " + (L * L) + " query–key pairs masked · 共 " + (L * L) + " 对中遮蔽了 " + masked + " 对";
    }
    kind.addEventListener("change", draw);
    len.addEventListener("input", draw);
    draw();
  }

  // ---- positional encoding: the sine and cosine of one dimension pair over the positions
  function positional(root, d) {
    var ui = frame(root), W = 460, H = 160, P = d.max_len;
    var pair = label(ui.controls, "pair i · 维度对 i", range(0, d.d_model / 2 - 1, 1, 0));
    var pairText = html("span", {}, ui.controls);
    var pic = picture(root, 0, -8, W, H + 40, "sine and cosine of one dimension pair");
    var x = function (pos) { return 30 + (W - 40) * pos / (P - 1); }, y = function (v) { return H / 2 - v * (H / 2 - 6); };
    svg("line", { x1: 30, y1: y(0), x2: W - 10, y2: y(0), stroke: "currentColor", "stroke-opacity": 0.4 }, pic);
    [-1, 1].forEach(function (v) { svg("text", { x: 24, y: y(v) + 4, "text-anchor": "end", opacity: 0.7 }, pic).textContent = v; });
    [0, Math.round((P - 1) / 2), P - 1].forEach(function (p) {
      svg("text", { x: x(p), y: H + 10, "text-anchor": "middle", opacity: 0.7 }, pic).textContent = p;
    });
    svg("text", { x: W / 2, y: H + 24, "text-anchor": "middle", opacity: 0.7 }, pic).textContent = "position · 位置";
    var sin = svg("polyline", { fill: "none", stroke: BLUE, "stroke-width": 2, "class": "r2b-sin" }, pic);
    var cos = svg("polyline", { fill: "none", stroke: ORANGE, "stroke-width": 2, "class": "r2b-cos" }, pic);
    var readout = readoutBox(root);

    function draw() {
      var i = +pair.value, omega = Math.pow(10000, -2 * i / d.d_model), s = [], c = [];
      for (var p = 0; p < P; p += 0.25) {
        s.push(x(p).toFixed(1) + "," + y(Math.sin(p * omega)).toFixed(1));
        c.push(x(p).toFixed(1) + "," + y(Math.cos(p * omega)).toFixed(1));
      }
      sin.setAttribute("points", s.join(" "));
      cos.setAttribute("points", c.join(" "));
      pairText.textContent = "= " + i + " (dims " + 2 * i + ", " + (2 * i + 1) + ")";
      var wavelength = 2 * Math.PI / omega;
      readout.textContent = "blue: sin, orange: cos · 蓝：sin，橙：cos;  wavelength · 波长 2π·10000^(2i/d_model) = "
        + (wavelength < 1e4 ? wavelength.toFixed(1) : wavelength.toExponential(2)) + " positions · 个位置";
    }
    pair.addEventListener("input", draw);
    draw();
  }

  var kinds = { attention: attention, scaling: scaling, mask: mask, positional: positional };
  return {
    mount: function (id, kind, data) {
      var root = document.getElementById(id);
      if (!root || root.getAttribute("data-mounted")) return;  // a page may hold the same output twice
      root.setAttribute("data-mounted", "1");
      kinds[kind](root, data);
    }
  };
})());
