/* Clinic Flow statistics charts. The page holds each chart's data in a json_script element
   named by the canvas's data-chart attribute; this file draws them with the vendored
   Chart.js, on load and again after htmx swaps in new results. The tables next to the
   charts carry the same figures for anyone who cannot see the charts. */
(function () {
  "use strict";

  // Colour-blind-safe (Okabe-Ito), in dataset order.
  var PALETTE = ["#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#000000"];

  function datasetsOf(spec) {
    return spec.datasets.map(function (dataset, index) {
      var colour = PALETTE[index % PALETTE.length];
      var line = dataset.type === "line";
      return {
        type: dataset.type || spec.type,
        label: dataset.label,
        data: dataset.data,
        backgroundColor: line ? colour : colour + "cc",
        borderColor: colour,
        borderWidth: line ? 2 : 0,
        pointRadius: line && spec.labels.length > 60 ? 0 : 2,
        stack: line ? "line" : "bars",
        order: line ? 0 : 1
      };
    });
  }

  function draw(canvas) {
    var source = document.getElementById(canvas.getAttribute("data-chart"));
    if (!source || !window.Chart) return;
    var spec = JSON.parse(source.textContent);
    var previous = window.Chart.getChart(canvas);
    if (previous) previous.destroy();
    new window.Chart(canvas, {
      type: spec.type,
      data: { labels: spec.labels, datasets: datasetsOf(spec) },
      options: {
        animation: false,
        maintainAspectRatio: false,
        interaction: { mode: "index", intersect: false },
        scales: {
          x: { stacked: !!spec.stacked, ticks: { autoSkip: true, maxRotation: 60 } },
          y: { stacked: !!spec.stacked, beginAtZero: true, title: { display: !!spec.yTitle, text: spec.yTitle } }
        },
        plugins: { legend: { position: "bottom" } }
      }
    });
  }

  function drawAll(root) {
    Array.prototype.forEach.call(root.querySelectorAll("canvas[data-chart]"), draw);
  }

  document.addEventListener("DOMContentLoaded", function () { drawAll(document); });
  // After an outerHTML swap the event's target is the element that was replaced: redraw all.
  document.addEventListener("htmx:afterSettle", function () { drawAll(document); });
})();
