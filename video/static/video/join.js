// Join a video visit: ask the API for a grant with the portal's token (sessionStorage,
// as the portals keep it), then open the Jitsi room or connect to the Twilio room.
const script = document.currentScript || document.querySelector("script[data-appointment]");
const appointment = script.dataset.appointment;
const statusLine = document.getElementById("status");

function say(text) {
  statusLine.textContent = text;
}

async function grant() {
  const token = window.sessionStorage.getItem("clinic.token");
  if (!token) {
    say("Sign in to the portal first, then press Join again.");
    return null;
  }
  const response = await fetch(`/api/appointments/${appointment}/video/`, {
    headers: { Accept: "application/json", Authorization: `Bearer ${token}` },
  });
  const body = await response.json();
  if (!response.ok) {
    const opens = body.opens_at ? ` It opens at ${new Date(body.opens_at).toLocaleString()}.` : "";
    say(`${body.detail}${opens}`);
    return null;
  }
  return body;
}

async function joinTwilio(access) {
  await new Promise((resolve, reject) => {
    const sdk = document.createElement("script");
    sdk.src = script.dataset.twilioSdk;
    sdk.onload = resolve;
    sdk.onerror = () => reject(new Error("The video library could not be loaded."));
    document.head.appendChild(sdk);
  });
  const room = await window.Twilio.Video.connect(access.access_token, { name: access.room });
  const media = document.getElementById("media");
  const attach = (track) => media.appendChild(track.attach());
  room.localParticipant.tracks.forEach((publication) => publication.track && attach(publication.track));
  room.participants.forEach((participant) => participant.on("trackSubscribed", attach));
  room.on("participantConnected", (participant) => participant.on("trackSubscribed", attach));
  say("Connected.");
}

const access = await grant().catch((error) => say(error.message));
if (access && access.provider === "jitsi") {
  say("Opening the room…");
  window.location.replace(access.join_url);
} else if (access) {
  joinTwilio(access).catch((error) => say(error.message));
}
