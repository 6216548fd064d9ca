// Small DOM helpers shared by the pages; no framework, no build step.

export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (name === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined) node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

export function $(selector) {
  return document.querySelector(selector);
}

// The server writes instants with the clinic's offset: the text itself is clinic time.
export const clinicDate = (iso) => iso.slice(0, 10);
export const clinicTime = (iso) => iso.slice(11, 16);
export const instant = (iso) => Date.parse(iso);

export function dayLabel(date) {
  const [year, month, day] = date.split("-").map(Number);
  return new Date(Date.UTC(year, month - 1, day)).toLocaleDateString("en-GB", {
    weekday: "short", day: "numeric", month: "short", timeZone: "UTC",
  });
}

export function addDays(date, days) {
  const [year, month, day] = date.split("-").map(Number);
  return new Date(Date.UTC(year, month - 1, day + days)).toISOString().slice(0, 10);
}

// Today in the clinic's time zone (GET /api/settings/ says which), as YYYY-MM-DD.
export function todayIn(timeZone) {
  return new Intl.DateTimeFormat("en-CA", { timeZone, year: "numeric", month: "2-digit", day: "2-digit" }).format(new Date());
}

// Runs a page action started by an event or a click: a failure (the server restarting, a
// refused request) is shown, never left as an unhandled rejection.
export function attempt(promise) {
  return promise.catch((error) => flash(error instanceof TypeError ? "Connection lost; retrying…" : error.message, "error"));
}

export function flash(message, kind = "info") {
  const box = $("#flash");
  box.textContent = message;
  box.className = `flash ${kind}`;
  box.hidden = !message;
}

const STATUS_TEXT = { connecting: "connecting…", live: "live", reconnecting: "reconnecting…", refused: "signed out: sign in again" };

export function showLiveStatus(state) {
  const pill = $("#live-status");
  pill.textContent = STATUS_TEXT[state] || state;
  pill.dataset.state = state;
}

// The sign-in form of both pages; resolves with the signed-in user of an allowed role.
export function signInForm(api, roles, onSignedIn) {
  const form = $("#signin-form");
  form.addEventListener("submit", async (submitted) => {
    submitted.preventDefault();
    const data = new FormData(form);
    try {
      const user = await api.signIn(data.get("email"), data.get("password"));
      if (!roles.includes(user.role)) {
        await api.signOut();
        flash(`This page is for ${roles.join(" or ")} accounts.`, "error");
        return;
      }
      flash("");
      await onSignedIn(user);
    } catch (error) {
      flash(error.message, "error");
    }
  });
}

// --- Video visits (contract §14) -------------------------------------------------------

const ACTIVE = ["booked", "checked_in", "in_progress"];

// The room's window from the clinic's public settings (defaults as the server's).
export function videoWindow(settings) {
  const minutes = (key, fallback) => (settings.find((s) => s.key === key) || {}).value ?? fallback;
  return { before: minutes("video_opens_minutes_before", 10), after: minutes("video_closes_minutes_after", 30) };
}

// "Join video" while the room is open; the join page asks the API, which decides in the end.
export function joinButton(appointment, hours, now = Date.now()) {
  if (appointment.visit_type !== "video" || !ACTIVE.includes(appointment.status)) return null;
  const opens = instant(appointment.start) - hours.before * 60000;
  const closes = instant(appointment.end) + hours.after * 60000;
  if (now < opens || now >= closes) return null;
  return el("a", { class: "button join", href: `/video/${appointment.id}/` }, "Join video");
}
