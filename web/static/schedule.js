// The schedule form's live clash preview (the Content-Security-Policy allows no inline script): while
// weekdays and times are typed, ask the node which lessons the schedule would book and which of them
// clash with a teacher, a room or a student already booked, and list them under the form. Saving
// checks every clash again; the preview writes nothing.
(() => {
  const form = document.getElementById("schedule-form");
  if (!form) return;
  const out = document.getElementById("schedule-preview");
  const t = form.dataset;
  const weekdayLabels = JSON.parse(t.weekdayLabels || "{}");
  let timer = null;
  let asked = 0;

  const say = (text, cls) => {
    out.replaceChildren();
    const p = document.createElement("p");
    p.textContent = text;
    if (cls) p.className = cls;
    out.append(p);
  };

  const render = (body) => {
    out.replaceChildren();
    const summary = document.createElement("p");
    summary.id = "preview-summary";
    summary.className = body.clashing ? "status-warn" : "status-ok";
    summary.textContent = t.tSummary.replace("{count}", body.count).replace("{clashing}", body.clashing);
    out.append(summary);
    const list = document.createElement("ul");
    list.className = "preview-list";
    for (const lesson of body.lessons) {
      const item = document.createElement("li");
      item.className = lesson.clashes.length ? "clash" : "free";
      item.textContent = `${lesson.date} ${weekdayLabels[lesson.weekday] || lesson.weekday} ${lesson.from}–${lesson.to} · `;
      const state = document.createElement("strong");
      state.textContent = lesson.clashes.length ? t.tClash : t.tFree;
      item.append(state);
      for (const clash of lesson.clashes) {
        const why = document.createElement("span");
        why.className = "why";
        why.textContent = ` ${t["t" + clash.kind[0].toUpperCase() + clash.kind.slice(1)] || clash.kind} ${clash.name} ` +
          `${t.tBusy}: ${clash.class_name} ${clash.at}`;
        item.append(why);
      }
      list.append(item);
    }
    out.append(list);
  };

  const refresh = () => {
    const params = new URLSearchParams();
    for (const [key, value] of new FormData(form)) {
      if (key !== "csrf_token" && value !== "") params.append(key, value);
    }
    if (!params.getAll("weekdays").length || !params.get("start") || !params.get("end")) {
      say(t.tNone, "muted");
      return;
    }
    const mine = ++asked;
    fetch(`${t.previewUrl}?${params}`, { credentials: "same-origin", headers: { accept: "application/json" } })
      .then((response) => response.json().then((body) => ({ ok: response.ok, body })))
      .then(({ ok, body }) => {
        if (mine !== asked) return; // a later question is on its way
        if (ok) {
          render(body);
        } else {
          const field = (body.errors && body.errors[0] && body.errors[0].field) || "";
          const input = field && form.querySelector(`[name="${CSS.escape(field)}"]`);
          const label = input && input.id ? form.querySelector(`label[for="${input.id}"]`) : null;
          say(`${t.tInvalid} ${label ? label.textContent : field}`, "status-warn");
        }
      })
      .catch(() => { if (mine === asked) say(t.tOffline, "status-warn"); });
  };

  const soon = () => {
    clearTimeout(timer);
    timer = setTimeout(refresh, 250);
  };
  form.addEventListener("input", soon);
  form.addEventListener("change", soon);
  refresh();
})();
