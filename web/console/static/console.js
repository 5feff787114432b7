// Live figures: the server pushes the overview's message (server-sent events); the tiles, the chart and the region
// table are all drawn from it, so they always agree.
(function () {
  const chartEl = document.getElementById("chart");
  const chart = chartEl && window.echarts ? echarts.init(chartEl) : null;
  const labels = chartEl ? JSON.parse(chartEl.dataset.labels || "{}") : {};
  if (chart) window.addEventListener("resize", () => chart.resize());
  function draw(data) {
    for (const [k, v] of Object.entries(data.total || {})) {
      const el = document.querySelector(`[data-k="${k}"]`);
      if (el) el.textContent = v;
    }
    const body = document.querySelector("table.live tbody");
    if (body) {
      body.replaceChildren(...data.rows.map(r => {
        const tr = document.createElement("tr");
        const columns = (body.closest("table").dataset.columns || "").split(",");
        const span = body.closest("table").dataset.span || "";  // the page's window travels with every link
        const a = document.createElement("a");
        a.href = "/drill?region=" + encodeURIComponent(r.region_code) + (span ? "&" + span : "");
        a.textContent = r.region_name || r.region_code;
        a.title = r.region_code;
        const first = document.createElement("td");
        first.append(a);
        tr.append(first, ...r.cells.map((c, i) => {
          const td = document.createElement("td");
          const link = document.createElement("a");  // each number opens the cases behind it
          link.href = `/cases?figure=${columns[i]}&region_code=${encodeURIComponent(r.region_code)}&${span}`;
          link.textContent = c;
          td.append(link);
          return td;
        }));
        return tr;
      }));
    }
    if (!chart) return;
    chart.setOption({
      tooltip: {}, legend: {}, grid: { left: 60, right: 20, top: 40, bottom: 40 },
      xAxis: { type: "category", data: data.rows.map(r => r.region_name || r.region_code) }, yAxis: { type: "value" },
      series: ["received", "completed", "overdue"].map(k => ({
        name: labels[k] || k, type: "bar", data: data.rows.map(r => r[k]) })),
    });
  }
  const initial = document.getElementById("initial-rows");
  if (initial) draw(JSON.parse(initial.textContent));
  if (document.body.dataset.stream) {
    const es = new EventSource(document.body.dataset.stream);
    es.onmessage = m => draw(JSON.parse(m.data));
    es.addEventListener("end", () => es.close());
  }
})();
