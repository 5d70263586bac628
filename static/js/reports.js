// Reports: the attribution chart (Chart.js, vendored), "Copy link", and the milestone form's
// fields per kind. The page works without it: the table holds every figure.
(function () {
  "use strict";

  function drawAttribution(canvas) {
    const source = document.getElementById(canvas.dataset.chart);
    if (!source || typeof Chart === "undefined") return;
    const data = JSON.parse(source.textContent);
    const sets = [{ label: data.model + " · " + data.period, data: data.current, backgroundColor: "#6366f1", borderRadius: 4 }];
    if (data.previous && data.previous.length) {
      sets.push({ label: data.model + " · " + data.before, data: data.previous, backgroundColor: "#c7d2fe", borderRadius: 4 });
    }
    new Chart(canvas, {
      type: "bar",
      data: { labels: data.labels.map((l) => (l.length > 48 ? l.slice(0, 47) + "…" : l)), datasets: sets },
      options: {
        indexAxis: "y",
        maintainAspectRatio: false,
        animation: false,
        scales: { x: { beginAtZero: true, title: { display: true, text: "Credited crossings" } } },
        plugins: { legend: { display: sets.length > 1, position: "bottom" } },
      },
    });
  }

  document.querySelectorAll("canvas[data-chart]").forEach(drawAttribution);

  document.addEventListener("click", function (event) {
    const button = event.target.closest("[data-copy-url]");
    if (!button) return;
    const url = new URL(button.dataset.copyUrl, window.location.origin).href;
    navigator.clipboard.writeText(url).then(
      () => { button.textContent = "Link copied"; },
      () => { window.prompt("Copy this link", url); }
    );
  });

  // The milestone form shows the fields of the chosen kind.
  const kind = document.querySelector("[data-toggle-kind]");
  function showKind() {
    document.querySelectorAll(".kind-fields").forEach((f) => { f.hidden = f.dataset.kind !== kind.value; });
  }
  if (kind) {
    kind.addEventListener("change", showKind);
    showKind();
  }
})();
