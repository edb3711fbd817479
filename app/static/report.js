// The report pages: draw the server's plotly figures, print, and save a team's
// problems-and-plan note. Everything else on the page is rendered by the server.

const body = document.body;
const cfg = body.dataset;

function drawCharts() {
  if (!window.Plotly) return; // the table still reads without the charts
  for (const node of document.querySelectorAll("[data-figure]")) {
    const fig = JSON.parse(node.dataset.figure);
    window.Plotly.newPlot(node, fig.data, fig.layout, {
      displayModeBar: false,
      responsive: false,
      locale: cfg.lang === "en" ? "en" : "zh-CN",
    });
  }
}

function headers() {
  const h = { "Content-Type": "application/json" };
  if (cfg.token) h.Authorization = `Bearer ${cfg.token}`;
  else if (cfg.csrf) h["X-CSRF-Token"] = cfg.csrf;
  return h;
}

async function saveNote(form) {
  const status = form.querySelector(".note-status");
  const article = form.closest(".note");
  const data = new FormData(form);
  const payload = {
    day: cfg.day,
    team: form.dataset.team,
    problems: String(data.get("problems") || ""),
    plan: String(data.get("plan") || ""),
  };
  status.textContent = "…";
  try {
    const resp = await fetch(`${cfg.base}/api/v1/reports/notes`, {
      method: "PUT",
      headers: headers(),
      body: JSON.stringify(payload),
      credentials: "same-origin",
    });
    if (!resp.ok) throw new Error(String(resp.status));
    const note = await resp.json();
    article.querySelector(".note-problems").textContent = note.problems || cfg.empty;
    article.querySelector(".note-plan").textContent = note.plan || cfg.empty;
    status.textContent = cfg.saved;
    status.dataset.state = "saved";
  } catch (err) {
    status.textContent = `${cfg.failed} (${err.message})`;
    status.dataset.state = "failed";
  }
}

async function savePlan(form) {
  const status = form.querySelector(".note-status");
  const data = new FormData(form); // the row's inputs belong to this form (form="plan-…")
  const path = `${cfg.base}/api/v1/plans/${encodeURIComponent(form.dataset.rep)}/${encodeURIComponent(cfg.day)}`;
  status.textContent = "…";
  try {
    const resp = await fetch(path, {
      method: "PUT",
      headers: headers(),
      body: JSON.stringify({
        problem: String(data.get("problem") || ""),
        plan: String(data.get("plan") || ""),
      }),
      credentials: "same-origin",
    });
    if (!resp.ok) throw new Error(String(resp.status));
    status.textContent = cfg.saved;
    status.dataset.state = "saved";
  } catch (err) {
    status.textContent = `${cfg.failed} (${err.message})`;
    status.dataset.state = "failed";
  }
}

function wire() {
  document.getElementById("print")?.addEventListener("click", () => window.print());
  for (const form of document.querySelectorAll(".note-form")) {
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      saveNote(form);
    });
  }
  for (const form of document.querySelectorAll(".plan-row-form")) {
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      savePlan(form);
    });
  }
  drawCharts();
  body.dataset.ready = "1";
}

wire();
