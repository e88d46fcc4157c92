// What pages do with live hub publications: an import page follows its import, the dashboard lists FinTrack's own
// events, the signals page shows every publication of the channels it follows. Text comes from the page
// (data-say-* attributes) so it stays in the reader's language.

function money(amount, currency) {
  try {
    return new Intl.NumberFormat(document.documentElement.lang, { style: "currency", currency }).format(Number(amount));
  } catch {
    return `${amount} ${currency}`;
  }
}

function describe(payload, say) {
  switch (payload.type) {
    case "import.progress":
      return `${say.importProgress || "Import"} ${payload.filename || "#" + payload.import_id}: ${payload.done}/${payload.total}`;
    case "budget.crossed":
      return `${say.budgetCrossed || "Budget"} ${payload.category}: ${payload.threshold}% (${money(payload.spent, payload.currency)} / ${money(payload.available, payload.currency)})`;
    case "recurring.detected":
      return `${say.recurringDetected || "Recurring"}: ${payload.found}`;
    default:
      if (payload.type && payload.type.startsWith("import.")) {
        return `${say.importStatus || "Import"} ${payload.filename || "#" + payload.import_id}: ${say[payload.status] || payload.status}`;
      }
      return JSON.stringify(payload);
  }
}

function prepend(list, text, title) {
  const item = document.createElement("li");
  item.textContent = text;
  if (title) item.title = title;
  list.prepend(item);
  while (list.children.length > 200) list.lastElementChild.remove();
  list.querySelector(".empty")?.remove();
}

// A form being submitted is already taking the page elsewhere: a reload now would abort that request.
let leaving = false;
document.addEventListener("submit", () => {
  leaving = true;
});

export function followEvents() {
  document.addEventListener("fintrack:pub", (event) => {
    const message = event.detail;
    const payload = message.payload || {};
    const watched = document.getElementById("import-live");
    if (watched && String(payload.import_id) === watched.dataset.import) {
      if (payload.type === "import.progress") {
        const bar = document.getElementById("import-progress");
        const share = payload.total ? Math.round((100 * payload.done) / payload.total) : 0;
        if (bar) {
          bar.setAttribute("aria-valuenow", String(share));
          bar.firstElementChild.style.width = `${share}%`;
        }
      } else if (payload.status && payload.status !== watched.dataset.importStatus && !leaving) {
        location.reload();
      }
    }
    const detecting = document.getElementById("recurring-live");
    if (detecting && payload.type === "recurring.detected" && String(payload.book_id) === detecting.dataset.book && !leaving) {
      location.replace("/recurring");
    }
    const feed = document.getElementById("live-feed");
    if (feed) {
      const time = new Date(message.ingest_time || Date.now()).toLocaleTimeString(document.documentElement.lang);
      const text = feed.dataset.raw
        ? `${time} ${message.channel} #${message.seq}: ${JSON.stringify(payload)}`
        : `${time} · ${describe(payload, feed.dataset)}`;
      prepend(feed, text, `${message.channel} #${message.seq}`);
    }
  });
  document.addEventListener("fintrack:gap", (event) => {
    const feed = document.getElementById("live-feed");
    const gap = event.detail;
    if (feed) prepend(feed, `${feed.dataset.sayGap || "gap"}: ${gap.channel} ${gap.from_seq}–${gap.to_seq} (${gap.reason})`);
  });
}
