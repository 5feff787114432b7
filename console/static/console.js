// Live figures: the server pushes the overview's numbers (server-sent events); the page updates them in place.
(function () {
  const chartEl = document.getElementById("chart");
  const chart = chartEl && window.echarts ? echarts.init(chartEl) : null;
  function draw(rows) {
    if (!chart) return;
    chart.setOption({
      tooltip: {}, legend: {}, grid: { left: 60, right: 20, top: 40, bottom: 40 },
      xAxis: { type: "category", data: rows.map(r => r.region_code) }, yAxis: { type: "value" },
      series: ["received", "completed", "overdue"].map(k => ({ name: k, type: "bar", data: rows.map(r => r[k]) })),
    });
  }
  const initial = document.getElementById('initial-rows');
  if (initial) draw(JSON.parse(initial.textContent));
  if (document.body.dataset.stream) {
    const es = new EventSource(document.body.dataset.stream);
    es.onmessage = function (m) {
      const data = JSON.parse(m.data);
      for (const [k, v] of Object.entries(data.total)) {
        const el = document.querySelector(`[data-k="${k}"]`);
        if (el) el.textContent = v;
      }
      draw(data.rows);
    };
  }
})();
