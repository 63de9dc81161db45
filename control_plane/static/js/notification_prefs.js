// Notification preferences: one channel per kind (in the app, email, both, off).

import { apiFetch } from "./api.js";
import { $, clearErrors, h, setBusy, showProblem } from "./ui.js";

const form = $("#prefs-form");
const rows = $("#prefs-rows");
const saved = $("#prefs-saved");
const save = $("#prefs-save");

function render(body) {
  rows.replaceChildren(
    ...body.kinds.map(({ kind, label }) =>
      h(
        "tr",
        { dataset: { kind } },
        h("th", { scope: "row" }, label),
        ...body.channels.map((channel) =>
          h(
            "td",
            {},
            h("input", {
              type: "radio",
              name: kind,
              value: channel,
              checked: body.preferences[kind] === channel,
              "aria-label": `${label}: ${channel.replace("_", " ")}`,
            }),
          ),
        ),
      ),
    ),
  );
  rows.removeAttribute("aria-busy");
}

async function load() {
  try {
    render(await apiFetch("/api/notifications/preferences"));
  } catch (err) {
    showProblem(form, err);
  }
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearErrors(form);
  saved.hidden = true;
  const preferences = {};
  for (const input of form.querySelectorAll("input[type=radio]:checked")) preferences[input.name] = input.value;
  setBusy(save, true, "Saving…");
  try {
    render(await apiFetch("/api/notifications/preferences", { method: "PUT", body: { preferences } }));
    saved.hidden = false;
  } catch (err) {
    showProblem(form, err);
  } finally {
    setBusy(save, false);
  }
});

load();
