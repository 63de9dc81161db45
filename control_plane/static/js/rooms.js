import { apiFetch } from "./api.js";
import { clearErrors, setBusy, showFormError, showProblem } from "./ui.js";

const roomForm = document.getElementById("room-form");
const joinForm = document.getElementById("join-form");
const codeInput = joinForm.elements.code;

const CODE = /^[23456789ABCDEFGHJKMNPQRSTUVWXYZ]{6}$/;

roomForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearErrors(roomForm);
  const button = roomForm.querySelector('button[type="submit"]');
  setBusy(button, true, "Creating…");
  try {
    const room = await apiFetch("/api/rooms", { method: "POST", body: { name: roomForm.elements.name.value.trim() } });
    location.assign(`/rooms/${encodeURIComponent(room.code)}`);
  } catch (err) {
    setBusy(button, false);
    showProblem(roomForm, err);
  }
});

const linked = new URLSearchParams(location.search).get("code");
if (linked) codeInput.value = linked.toUpperCase().slice(0, 6);

codeInput.addEventListener("input", () => {
  const start = codeInput.selectionStart;
  codeInput.value = codeInput.value.toUpperCase().replace(/\s+/g, "");
  if (start !== null) codeInput.setSelectionRange(start, start);
});

joinForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearErrors(joinForm);
  const code = codeInput.value.trim().toUpperCase();
  codeInput.value = code;
  if (!CODE.test(code)) {
    showFormError(joinForm, "Room codes have six characters: letters and digits 2–9 (no 0, O, 1, I or L).");
    codeInput.setAttribute("aria-invalid", "true");
    codeInput.focus();
    return;
  }
  const button = joinForm.querySelector('button[type="submit"]');
  setBusy(button, true, "Joining…");
  try {
    await apiFetch(`/api/rooms/${encodeURIComponent(code)}/join`, { method: "POST" });
    location.assign(`/rooms/${encodeURIComponent(code)}`);
  } catch (err) {
    setBusy(button, false);
    if (err.status === 404) showFormError(joinForm, `No room has the code ${code}. Check it with the host: codes never use 0, O, 1, I or L.`);
    else showProblem(joinForm, err);
    codeInput.setAttribute("aria-invalid", "true");
    codeInput.focus();
  }
});
