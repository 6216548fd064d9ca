// The doctor dashboard: today's schedule, the live queue with patient names, start and
// complete visits; new bookings appear without a reload. Public REST API and /ws/ only.
import { Api } from "./api.js";
import { Live } from "./live.js";
import { $, attempt, clinicTime, dayLabel, el, flash, instant, joinButton, showLiveStatus, signInForm, todayIn, videoWindow } from "./ui.js";

const api = new Api();
const state = { user: null, doctorId: null, today: null, live: null };

const patientName = (appointment) => appointment.patient_name || `Patient #${appointment.patient}`;

// The next steps a doctor takes from each status (the lifecycle itself is the server's).
const NEXT = {
  booked: [["checked_in", "Check in"]],
  checked_in: [["in_progress", "Start visit"]],
  in_progress: [["completed", "Complete"]],
};

async function setStatus(appointment, status) {
  try {
    await api.put(`/api/appointments/${appointment.id}/status/`, { status });
    flash("");
  } catch (error) {
    flash(error.message, "error");
  }
  // The queue topic brings the new queue; the schedule is read again for its statuses.
  await attempt(loadSchedule());
}

function actions(appointment) {
  const buttons = (NEXT[appointment.status] || []).map(([status, label]) =>
    el("button", { type: "button", class: `to-${status}`, onclick: () => setStatus(appointment, status) }, label));
  if (appointment.status === "booked" && instant(appointment.start) <= Date.now()) {
    buttons.push(el("button", { type: "button", class: "to-no_show", onclick: () => setStatus(appointment, "no_show") }, "No-show"));
  }
  const join = joinButton(appointment, state.videoWindow);
  if (join) buttons.push(join);
  return buttons;
}

async function loadSchedule() {
  const appointments = await api.all(`/api/appointments/list/?date=${state.today}&page_size=100`);
  const active = appointments.filter((a) => a.status !== "cancelled");
  $("#schedule").replaceChildren(
    ...active.map((appointment) =>
      el("tr", { class: appointment.status, dataset: { appointmentId: appointment.id } },
        el("td", {}, `${clinicTime(appointment.start)}–${clinicTime(appointment.end)}`),
        el("td", { class: "patient" }, patientName(appointment)),
        el("td", {}, appointment.reason),
        el("td", {}, el("span", { class: "badge" }, appointment.status.replace("_", " ")),
          appointment.queue_number ? ` #${appointment.queue_number}` : "",
          appointment.visit_type === "video" ? el("span", { class: "badge video" }, "video") : ""),
        el("td", { class: "actions" }, actions(appointment)))),
  );
  if (!active.length) $("#schedule").append(el("tr", {}, el("td", { colspan: 5, class: "muted" }, "No appointments today.")));
}

function renderQueue(queue) {
  const serving = queue.now_serving;
  $("#now-serving").replaceChildren(
    serving
      ? el("div", { dataset: { appointmentId: serving.id } },
          el("div", { class: "number" }, `#${serving.queue_number}`),
          el("div", { class: "name" }, patientName(serving)),
          el("div", { class: "muted" }, serving.reason),
          el("button", { type: "button", class: "to-completed", onclick: () => setStatus(serving, "completed") }, "Complete visit"))
      : el("p", { class: "muted" }, "Nobody in the room."),
  );
  $("#waiting-count").textContent = queue.waiting.length ? String(queue.waiting.length) : "";
  $("#waiting").replaceChildren(
    ...queue.waiting.map((appointment) =>
      el("li", { dataset: { appointmentId: appointment.id } },
        el("span", { class: "number" }, `#${appointment.queue_number}`), " ",
        el("span", { class: "name" }, patientName(appointment)), " ",
        el("span", { class: "muted" }, `booked ${clinicTime(appointment.start)}`), " ",
        el("button", { type: "button", class: "to-in_progress", onclick: () => setStatus(appointment, "in_progress") }, "Start visit"))),
  );
  if (!queue.waiting.length) $("#waiting").append(el("li", { class: "muted" }, "Nobody waiting."));
  $("#done-count").textContent = String(queue.done);
}

async function loadQueue() {
  renderQueue(await api.get(`/api/doctors/${state.doctorId}/queue/`));
}

async function start(user) {
  state.user = user;
  state.doctorId = user.doctor.id;
  $("#signin").hidden = true;
  $("#app").hidden = false;
  $("#signout").hidden = false;
  $("#who").textContent = `Dr ${user.first_name} ${user.last_name}`;
  const settings = await api.get("/api/settings/");
  state.today = todayIn((settings.find((s) => s.key === "timezone") || {}).value || "UTC");
  state.videoWindow = videoWindow(settings);
  // A video visit's Join button appears when its room opens, without a reload.
  setInterval(() => attempt(loadSchedule()), 60000);
  $("#schedule-title").textContent = `Today, ${dayLabel(state.today)}`;
  state.live = new Live({ token: api.token, onStatus: showLiveStatus, onError: (error) => attempt(Promise.reject(error)) });
  state.live.subscribe(`doctor.${state.doctorId}.queue`, {
    load: loadQueue,
    apply: (message) => {
      if (message.event !== "queue.updated") return;
      if (message.data.date === state.today) renderQueue(message.data);
      attempt(loadSchedule());
    },
  });
  // New bookings, cancellations and moves of this doctor's slots: read the schedule again.
  state.live.subscribe(`doctor.${state.doctorId}.availability`, { load: loadSchedule, apply: () => attempt(loadSchedule()) });
  state.live.start();
  window.clinicLive = state.live;
}

$("#signout").addEventListener("click", async () => {
  state.live?.stop();
  await api.signOut();
  location.reload();
});
signInForm(api, ["doctor"], start);
api.me().then((user) => (user && user.role === "doctor" ? start(user) : null)).catch((e) => flash(e.message, "error"));
