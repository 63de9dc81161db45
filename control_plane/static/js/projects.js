// Projects: create one, list mine.
import { apiFetch } from "./api.js";
import { $, clearErrors, formatRange, goToLogin, h, localInputToIso, setBusy, showProblem, toLocalInput, viewerTimeZone } from "./ui.js";

const form = $("#project-form");
const list = $("#my-projects");

function prefill() {
  const start = new Date(Date.now() + 7 * 24 * 3600 * 1000);
  start.setHours(10, 0, 0, 0);
  form.elements.starts_at.value = toLocalInput(start);
  form.elements.ends_at.value = toLocalInput(new Date(start.getTime() + 8 * 3600 * 1000));
}

function item(project) {
  return h("li", { class: "my-session project-item", dataset: { projectId: project.id } },
    h("div", { class: "my-session-main" },
      h("a", { class: "my-session-title", href: `/projects/${project.id}` }, project.title),
      h("span", { class: "muted small" }, formatRange(project.starts_at, project.ends_at)),
      project.location ? h("span", { class: "muted small" }, project.location) : null),
    h("div", { class: "my-session-side" },
      project.instruments_needed.map((name) => h("span", { class: "badge badge-session" }, name))));
}

async function load() {
  try {
    const page = await apiFetch("/api/projects?limit=200");
    list.setAttribute("aria-busy", "false");
    list.replaceChildren(...(page.items.length
      ? page.items.map(item)
      : [h("li", { class: "muted empty-row" }, "No projects yet.")]));
  } catch (err) {
    if (err.status === 401) return goToLogin();
    list.replaceChildren(h("li", { class: "form-error", role: "alert" }, err.detail || "Could not load your projects."));
  }
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearErrors(form);
  const f = form.elements;
  const body = {
    title: f.title.value.trim(),
    description: f.description.value.trim(),
    starts_at: localInputToIso(f.starts_at.value),
    ends_at: localInputToIso(f.ends_at.value),
    location: f.location.value.trim(),
    instruments_needed: f.instruments_needed.value.split(",").map((s) => s.trim()).filter(Boolean),
    timezone: viewerTimeZone(),
  };
  const submit = form.querySelector('button[type="submit"]');
  setBusy(submit, true, "Creating…");
  try {
    const created = await apiFetch("/api/projects", { method: "POST", body });
    location.assign(`/projects/${created.id}`);
  } catch (err) {
    if (err.status === 401) return goToLogin();
    showProblem(form, err, { body: "ends_at" });
  } finally {
    setBusy(submit, false);
  }
});

prefill();
load();
