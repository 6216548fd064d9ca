// The patient portal: find a doctor, watch their week live, book, move or cancel,
// notifications as they arrive, reports and invoices. Public REST API and /ws/ only.
import { Api, openWithToken } from "./api.js";
import { Live } from "./live.js";
import { $, addDays, attempt, clinicDate, clinicTime, dayLabel, el, flash, instant, joinButton, showLiveStatus, signInForm, todayIn, videoWindow } from "./ui.js";

const api = new Api();
const state = {
  user: null,
  timezone: "UTC",
  today: null,
  doctors: new Map(),
  doctorId: null,
  weekStart: null,
  slots: new Map(), // instant (ms) -> slot as the availability endpoint returns it
  selected: null,
  moving: null, // the appointment being moved, or null
  appointments: [],
  notifications: [],
  live: null,
};

const doctorName = (doctor) => (doctor ? `Dr ${doctor.first_name} ${doctor.last_name}` : "a doctor");
const when = (iso) => `${dayLabel(clinicDate(iso))} ${clinicTime(iso)}`;

// --- Doctors and the week --------------------------------------------------------------

async function loadDoctors(search = "") {
  const query = search ? `?search=${encodeURIComponent(search)}` : "";
  const doctors = await api.all(`/api/doctors/list/${query}`);
  if (!search) doctors.forEach((doctor) => state.doctors.set(doctor.id, doctor));
  $("#doctors").replaceChildren(
    ...doctors.map((doctor) =>
      el("li", {},
        el("button", { type: "button", class: "doctor", dataset: { doctorId: doctor.id }, onclick: () => showDoctor(doctor.id) },
          el("strong", {}, doctorName(doctor)), el("span", { class: "muted" }, ` ${doctor.specialization}`),
          doctor.rating !== null ? el("span", { class: "muted" }, ` · ★ ${doctor.rating}`) : null)),
    ),
  );
}

function availabilityTopic(doctorId) {
  return `doctor.${doctorId}.availability`;
}

function showDoctor(doctorId, weekStart = state.today) {
  if (state.doctorId !== null && state.doctorId !== doctorId) state.live.unsubscribe(availabilityTopic(state.doctorId));
  const changed = state.doctorId !== doctorId;
  state.doctorId = doctorId;
  state.weekStart = weekStart;
  $("#week-panel").hidden = false;
  document.querySelectorAll(".doctor").forEach((b) => b.classList.toggle("chosen", Number(b.dataset.doctorId) === doctorId));
  if (changed) {
    state.live.subscribe(availabilityTopic(doctorId), { load: loadWeek, apply: applyAvailabilityEvent });
  } else {
    attempt(loadWeek());
  }
}

async function loadWeek() {
  const last = addDays(state.weekStart, 6);
  const doctor = state.doctors.get(state.doctorId);
  $("#week-title").textContent = `${doctorName(doctor)} · ${dayLabel(state.weekStart)} – ${dayLabel(last)}`;
  const week = await api.get(`/api/doctors/${state.doctorId}/availability/?from=${state.weekStart}&to=${last}`);
  state.slots = new Map(week.slots.map((slot) => [instant(slot.start), slot]));
  renderWeek();
}

function slotState(slot) {
  if (!slot.available) return slot.reason === "held" ? "held" : "taken";
  if (slot.bookable === false) return slot.reason || "closed";
  return "free";
}

const STATE_TITLE = { free: "Free: choose to book", taken: "Taken", held: "Held by someone else", notice: "Too soon to book online", role: "Only patients book here" };

function renderWeek() {
  const days = Array.from({ length: 7 }, (_, i) => addDays(state.weekStart, i));
  const byDay = new Map(days.map((day) => [day, []]));
  for (const slot of state.slots.values()) byDay.get(clinicDate(slot.start))?.push(slot);
  $("#week").replaceChildren(
    ...days.map((day) =>
      el("div", { class: "day", dataset: { date: day } },
        el("h3", {}, dayLabel(day)),
        byDay.get(day).length ? byDay.get(day).map(slotButton) : el("p", { class: "muted" }, "no slots")),
    ),
  );
  $("#week-prev").disabled = state.weekStart <= state.today;
}

function slotButton(slot) {
  const status = slotState(slot);
  return el("button", {
    type: "button", class: `slot ${status}`, title: STATE_TITLE[status] || status,
    disabled: status !== "free", dataset: { start: slot.start, state: status },
    onclick: () => attempt(chooseSlot(slot)),
  }, clinicTime(slot.start));
}

function refreshSlot(slot) {
  const old = document.querySelector(`.slot[data-start="${slot.start}"]`);
  if (old) old.replaceWith(slotButton(slot));
}

function applyAvailabilityEvent(message) {
  const slot = state.slots.get(instant(message.data.start || message.data.from || ""));
  if (message.event === "slot.booked" || message.event === "slot.held") {
    if (slot) {
      slot.available = false;
      slot.bookable = false;
      slot.reason = message.event === "slot.held" ? "held" : "unavailable";
      refreshSlot(slot);
    }
    if (state.selected && slot === state.selected) closeConfirm("That slot was just taken; please pick another.");
  } else {
    // slot.released, availability.changed: whether it is bookable for this patient (notice) is the server's word.
    attempt(loadWeek());
  }
}

// --- Booking and moving ----------------------------------------------------------------

async function chooseSlot(slot) {
  const doctor = state.doctors.get(state.doctorId);
  if (!state.moving) {
    // Hold the slot while the patient confirms (contract §11): nobody else can take it
    // meanwhile, and a new hold replaces any earlier one of this patient.
    try {
      state.hold = await api.post("/api/holds/", { doctor: state.doctorId, start: slot.start });
    } catch (error) {
      flash(error.code === "slot_unavailable" ? "That slot was just taken; please pick another." : error.message, "error");
      attempt(loadWeek());
      return;
    }
  }
  state.selected = slot;
  $("#confirm-text").textContent = state.moving
    ? `Move your appointment to ${doctorName(doctor)}, ${when(slot.start)}?`
    : `Book ${doctorName(doctor)}, ${when(slot.start)}? Held for you until ${clinicTime(state.hold.expires_at)}.`;
  $("#confirm-book").textContent = state.moving ? "Move here" : "Book";
  $("#confirm-reason").hidden = Boolean(state.moving);
  $("#confirm-video-label").hidden = Boolean(state.moving);
  $("#confirm").hidden = false;
}

function closeConfirm(message, { release = true } = {}) {
  if (state.hold && release) api.delete(`/api/holds/${state.hold.id}/`).catch(() => null);
  state.hold = null;
  state.selected = null;
  $("#confirm").hidden = true;
  $("#confirm-reason").value = "";
  $("#confirm-video").checked = false;
  if (message) flash(message, "error");
}

async function confirmSlot(submitted) {
  submitted.preventDefault();
  const slot = state.selected;
  if (!slot) return;
  try {
    if (state.moving) {
      await api.put(`/api/appointments/${state.moving.id}/update/`, { start: slot.start });
      flash(`Moved to ${when(slot.start)}.`, "ok");
      stopMoving();
    } else {
      const appointment = await api.post("/api/appointments/book/", {
        doctor: state.doctorId, start: slot.start, reason: $("#confirm-reason").value,
        visit_type: $("#confirm-video").checked ? "video" : "in_person", hold: state.hold?.id,
      });
      flash(`Booked: ${when(appointment.start)}, queue number on the day at check-in.`, "ok");
    }
    closeConfirm(undefined, { release: false });
    await loadAppointments();
  } catch (error) {
    closeConfirm(error.code === "slot_unavailable" ? "That slot was just taken; please pick another." : error.message);
    attempt(loadWeek());
  }
}

function startMoving(appointment) {
  state.moving = appointment;
  $("#move-banner").hidden = false;
  $("#move-banner").replaceChildren(
    `Choose a new time for your appointment of ${when(appointment.start)}. `,
    el("button", { type: "button", onclick: stopMoving }, "Keep it"),
  );
  showDoctor(appointment.doctor, state.doctorId === appointment.doctor ? state.weekStart : state.today);
}

function stopMoving() {
  state.moving = null;
  $("#move-banner").hidden = true;
}

async function cancel(appointment) {
  try {
    await api.delete(`/api/appointments/${appointment.id}/cancel/`);
    flash(`Cancelled the appointment of ${when(appointment.start)}.`, "ok");
  } catch (error) {
    flash(error.message, "error");
  }
  await attempt(loadAppointments());
}

async function loadAppointments() {
  state.appointments = await api.all("/api/appointments/list/?page_size=100");
  const now = Date.now();
  $("#appointments").replaceChildren(
    ...state.appointments.map((appointment) => {
      const open = appointment.status === "booked" && instant(appointment.start) > now;
      return el("li", { class: `appointment ${appointment.status}`, dataset: { appointmentId: appointment.id } },
        el("span", {}, when(appointment.start)), " ",
        el("span", {}, doctorName(state.doctors.get(appointment.doctor))), " ",
        el("span", { class: "badge" }, appointment.status.replace("_", " ")),
        appointment.visit_type === "video" ? el("span", { class: "badge video" }, "video") : null,
        joinButton(appointment, state.videoWindow),
        appointment.queue_number ? el("span", { class: "muted" }, ` · queue #${appointment.queue_number}`) : null,
        open ? el("span", { class: "actions" },
          el("button", { type: "button", class: "move", onclick: () => startMoving(appointment) }, "Move"),
          el("button", { type: "button", class: "cancel", onclick: () => cancel(appointment) }, "Cancel")) : null);
    }),
  );
  if (!state.appointments.length) $("#appointments").append(el("li", { class: "muted" }, "No appointments yet."));
}

// --- Notifications, reports, invoices --------------------------------------------------

function renderNotifications() {
  const unread = state.notifications.filter((n) => !n.read_at).length;
  $("#unread").textContent = unread ? `${unread} new` : "";
  $("#notifications").replaceChildren(
    ...state.notifications.slice(0, 20).map((notification) =>
      el("li", { class: notification.read_at ? "read" : "unread", dataset: { notificationId: notification.id },
        onclick: () => attempt(markRead(notification)) },
        el("strong", {}, notification.subject || notification.kind), " ", el("span", {}, notification.body))),
  );
}

async function loadNotifications() {
  const page = await api.get("/api/notifications/list/?page_size=20");
  state.notifications = page.results.filter((n) => n.channel === "in_app");
  renderNotifications();
}

function applyNotificationEvent(message) {
  if (message.event !== "notification.created") return;
  const notification = message.data;
  if (notification.channel === "in_app" && !state.notifications.some((n) => n.id === notification.id)) {
    state.notifications.unshift(notification);
    renderNotifications();
  }
  attempt(loadAppointments()); // a booking, move or cancellation (or a reminder) concerns them
}

async function markRead(notification) {
  if (notification.read_at) return;
  Object.assign(notification, await api.put(`/api/notifications/${notification.id}/read/`));
  renderNotifications();
}

async function loadReports() {
  const reports = await api.all(`/api/reports/patient/${state.user.patient.id}/`);
  $("#reports").replaceChildren(
    ...reports.map((report) =>
      el("li", {}, el("a", { href: report.download_url, target: "_blank", rel: "noopener" }, report.title),
        el("span", { class: "muted" }, ` ${clinicDate(report.created_at)} · ${doctorName(state.doctors.get(report.doctor))}`))),
  );
  if (!reports.length) $("#reports").append(el("li", { class: "muted" }, "No reports."));
}

async function loadInvoices() {
  const invoices = await api.all("/api/invoices/list/");
  $("#invoices").replaceChildren(
    ...invoices.map((invoice) =>
      el("li", {}, el("strong", {}, invoice.number), ` ${invoice.total} ${invoice.currency} `,
        el("span", { class: "badge" }, invoice.status), " ",
        el("button", { type: "button", onclick: () => openWithToken(api, `/api/invoices/${invoice.id}/?format=pdf`).catch((e) => flash(e.message, "error")) }, "PDF"))),
  );
  if (!invoices.length) $("#invoices").append(el("li", { class: "muted" }, "No invoices."));
}

// --- Start -----------------------------------------------------------------------------

async function start(user) {
  state.user = user;
  $("#signin").hidden = true;
  $("#app").hidden = false;
  $("#signout").hidden = false;
  $("#who").textContent = `${user.first_name} ${user.last_name}`;
  const settings = await api.get("/api/settings/");
  state.timezone = (settings.find((s) => s.key === "timezone") || {}).value || "UTC";
  state.videoWindow = videoWindow(settings);
  // A video visit's Join button appears when its room opens, without a reload.
  setInterval(() => attempt(loadAppointments()), 60000);
  state.today = todayIn(state.timezone);
  state.live = new Live({ token: api.token, onStatus: showLiveStatus, onError: (error) => attempt(Promise.reject(error)) });
  state.live.subscribe(`user.${user.id}.notifications`, { load: loadNotifications, apply: applyNotificationEvent });
  state.live.start();
  window.clinicLive = state.live; // for the browser tests and the curious: last event ids per topic
  await loadDoctors();
  await Promise.all([loadAppointments(), loadReports(), loadInvoices()]);
  const wanted = Number(new URLSearchParams(location.search).get("doctor"));
  if (state.doctors.has(wanted)) showDoctor(wanted);
}

$("#confirm").addEventListener("submit", confirmSlot);
$("#confirm-cancel").addEventListener("click", () => closeConfirm());
$("#week-prev").addEventListener("click", () => showDoctor(state.doctorId, addDays(state.weekStart, -7)));
$("#week-next").addEventListener("click", () => showDoctor(state.doctorId, addDays(state.weekStart, 7)));
let searchTimer = null;
$("#doctor-search").addEventListener("input", (typed) => {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(() => attempt(loadDoctors(typed.target.value.trim())), 250);
});
$("#signout").addEventListener("click", async () => {
  state.live?.stop();
  await api.signOut();
  location.reload();
});
signInForm(api, ["patient"], start);
api.me().then((user) => (user && user.role === "patient" ? start(user) : null)).catch((e) => flash(e.message, "error"));
