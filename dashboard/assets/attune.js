/* Attune dashboard: the little the browser does by itself (served from this server, so the
   content security policy lets it run).

   1. The fold of the filter panel on a narrow screen (a clientside callback, dashboard/app.py).
   2. Print that fits. A Plotly chart keeps the width it was drawn at, so on paper a chart drawn
      on a wide screen would run off the page, and a chart cannot be redrawn while the browser
      prints: Plotly draws in steps, and the page is laid out for print as soon as beforeprint
      returns (a chart redrawn then prints blank). So every chart keeps a print copy, drawn by
      Plotly at the printable width of A4 and US Letter portrait whenever the chart is drawn
      (an SVG image beside it, shown only on paper, in place of the chart: attune.css), and the
      print-only line gets the date when printing starts.
*/
(function () {
  "use strict";

  // The printable width: A4 portrait (210 mm) less the 14 mm margins of attune.css's @page,
  // less a card's print padding and border; US Letter (216 mm) is wider, so what fits A4 fits
  // both. A copy taller than a page is shown smaller (attune.css), never split.
  var MM = 96 / 25.4;  // CSS pixels per millimetre
  var PRINT_WIDTH = Math.floor((210 - 2 * 14) * MM) - 32;
  var REDRAW_DELAY_MS = 300;  // after the chart's last redraw

  window.dash_clientside = Object.assign({}, window.dash_clientside, {
    attune: {
      toggleFilters: function (clicks) {
        var open = Boolean(clicks && clicks % 2);
        return [open ? "filters no-print open" : "filters no-print", open ? "true" : "false"];
      },
    },
  });

  function drawPrintCopy(gd) {
    var layout = gd._fullLayout;
    if (!window.Plotly || !layout || !document.body.contains(gd)) {
      return;
    }
    window.Plotly.toImage(gd, {format: "svg", width: PRINT_WIDTH, height: layout.height})
      .then(function (url) {
        var holder = gd.parentElement;
        if (!holder || !document.body.contains(gd)) {
          return;
        }
        var copy = holder.querySelector(":scope > img.print-copy");
        if (!copy) {
          copy = document.createElement("img");
          copy.className = "print-copy";
          copy.setAttribute("aria-hidden", "true");
          copy.alt = "";
          holder.appendChild(copy);
        }
        copy.width = PRINT_WIDTH;
        copy.src = url;
        gd.classList.add("has-print-copy");
      });
  }

  function watch(gd) {
    if (gd.attunePrintCopy) {
      return;
    }
    var timer = null;
    gd.attunePrintCopy = function () {
      clearTimeout(timer);
      timer = setTimeout(function () { drawPrintCopy(gd); }, REDRAW_DELAY_MS);
    };
    if (typeof gd.on === "function") {
      gd.on("plotly_afterplot", gd.attunePrintCopy);
    }
    gd.attunePrintCopy();
  }

  function watchAll() {
    document.querySelectorAll(".chart-body .js-plotly-plot").forEach(watch);
  }

  var pending = null;
  new MutationObserver(function () {
    clearTimeout(pending);
    pending = setTimeout(watchAll, REDRAW_DELAY_MS);
  }).observe(document.documentElement, {childList: true, subtree: true});

  function stampDate() {
    var today = new Date();
    var stamp = document.getElementById("print-date");
    if (stamp) {
      stamp.textContent = today.getFullYear() + "-" +
        String(today.getMonth() + 1).padStart(2, "0") + "-" +
        String(today.getDate()).padStart(2, "0");
    }
  }

  window.addEventListener("beforeprint", stampDate);
  window.matchMedia("print").addEventListener("change", function (event) {
    if (event.matches) {
      stampDate();
    }
  });
})();
