/* LoopCRM value dashboard: draw each figure shipped as JSON (<script id="figure-NAME" type="application/json">)
   into <div id="chart-NAME"> with Plotly, when plotly.min.js is on the page. Tables carry the same numbers. */
(function () {
  function draw(root) {
    if (!window.Plotly) return;
    root.querySelectorAll('script[id^="figure-"]').forEach(function (node) {
      var target = document.getElementById("chart-" + node.id.slice(7));
      if (!target || target.dataset.drawn) return;
      var figure = JSON.parse(node.textContent);
      // The card header already names the figure.
      var layout = Object.assign({}, figure.layout, {title: {text: ""}, margin: {l: 56, r: 16, t: 16, b: 56}});
      window.Plotly.newPlot(target, figure.data, layout, {responsive: true, displaylogo: false});
      target.dataset.drawn = "1";
      target.hidden = false;
    });
  }
  window.loopcrmDrawCharts = draw;
  document.addEventListener("DOMContentLoaded", function () { draw(document); });
  document.addEventListener("htmx:afterSettle", function (event) { draw(event.target); });
})();
