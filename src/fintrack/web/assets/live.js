// Live events from the hub for the web UI: one WebSocket per page, a short-lived token from the session, resume
// after a dropped connection from the last seq seen (shown to the user, never hidden), and a DOM event per
// publication that pages listen to (`fintrack:pub`).

const RESUME_KEY = "fintrack-live-resume";

function load() {
  try {
    return JSON.parse(sessionStorage.getItem(RESUME_KEY) || "{}");
  } catch {
    return {};
  }
}

export function startLive(csrf) {
  const root = document.querySelector("[data-live]");
  if (!root) return;
  const channels = JSON.parse(root.dataset.live);
  const status = document.getElementById("live-status");
  const positions = load(); // channel → {seq, epoch}
  let socket = null;
  let attempt = 0;
  let refreshTimer = null;

  const say = (state) => {
    if (!status) return;
    status.dataset.state = state;
    status.textContent = status.dataset[`say${state[0].toUpperCase()}${state.slice(1)}`] || state;
  };

  async function token() {
    const response = await fetch("/api/v1/auth/hub-token", {
      method: "POST",
      headers: { "X-CSRF-Token": csrf() },
      credentials: "same-origin",
    });
    if (!response.ok) throw new Error(`hub token: ${response.status}`);
    return response.json();
  }

  function scheduleRefresh(expiresAt) {
    clearTimeout(refreshTimer);
    if (!expiresAt) return;
    const due = Math.max(5000, new Date(expiresAt).getTime() - Date.now() - 60000);
    refreshTimer = setTimeout(async () => {
      try {
        const fresh = await token();
        socket?.send(JSON.stringify({ type: "refresh", token: fresh.token }));
      } catch {
        socket?.close();
      }
    }, due);
  }

  function remember(message) {
    positions[message.channel] = { seq: message.seq, epoch: message.epoch };
    sessionStorage.setItem(RESUME_KEY, JSON.stringify(positions));
  }

  async function connect() {
    say(attempt ? "reconnecting" : "connecting");
    let grant;
    try {
      grant = await token();
    } catch {
      return retry();
    }
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    socket = new WebSocket(`${scheme}://${location.host}/ws`);
    socket.onopen = () => socket.send(JSON.stringify({ type: "auth", token: grant.token }));
    socket.onmessage = (event) => {
      const message = JSON.parse(event.data);
      if (message.type === "welcome") {
        const resumed = attempt > 0;
        attempt = 0;
        say(resumed ? "resumed" : "live");
        scheduleRefresh(message.expires_at);
        for (const channel of channels) {
          const at = positions[channel];
          const from = at ? { after_seq: at.seq, epoch: at.epoch } : "new";
          socket.send(JSON.stringify({ type: "subscribe", channel, from }));
        }
      } else if (message.type === "refreshed") {
        scheduleRefresh(message.expires_at);
      } else if (message.type === "pub") {
        remember(message);
        document.dispatchEvent(new CustomEvent("fintrack:pub", { detail: message }));
      } else if (message.type === "gap") {
        document.dispatchEvent(new CustomEvent("fintrack:gap", { detail: message }));
      } else if (message.type === "error" && message.code === "epoch_changed") {
        delete positions[message.channel];
      }
    };
    socket.onclose = () => {
      clearTimeout(refreshTimer);
      retry();
    };
  }

  function retry() {
    attempt += 1;
    say("reconnecting");
    const delay = Math.min(30000, 500 * 2 ** Math.min(attempt, 6)) * (0.5 + Math.random() / 2);
    setTimeout(connect, delay);
  }

  window.addEventListener("pagehide", () => {
    if (socket) {
      socket.onclose = null;
      socket.close();
    }
  });
  connect();
}
