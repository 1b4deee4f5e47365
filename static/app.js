// VoxFCGI: the little script the pages need. No framework; served by nginx (CSP: 'self').
"use strict";

// Messages come from the page (data-msg-* attributes, filled from the catalog of the viewer's
// language); `{name}` placeholders are filled here. English is the fallback.
function message(element, name, fallback, values) {
  let text = (element && element.dataset["msg" + name]) || fallback;
  Object.keys(values || {}).forEach(function (key) { text = text.split("{" + key + "}").join(String(values[key])); });
  return text;
}

// "Copy code" and "Copy secrets": fetch the text (POST with the CSRF token) and put it on the
// clipboard.
["copy-code", "copy-secrets"].forEach(function (id) {
  const button = document.getElementById(id);
  if (!button) return;
  const status = document.getElementById("copy-status");
  button.addEventListener("click", async function () {
    status.textContent = "";
    try {
      const response = await fetch(button.dataset.url, {
        method: "POST", credentials: "same-origin", headers: { "X-CSRF-Token": button.dataset.csrf }
      });
      if (!response.ok) throw new Error("the server answered " + response.status);
      const code = await response.text();
      try {
        await navigator.clipboard.writeText(code);
      } catch (e) {
        // Clipboard API unavailable (plain HTTP, old browser): select a temporary textarea.
        const area = document.createElement("textarea");
        area.value = code;
        document.body.appendChild(area);
        area.select();
        document.execCommand("copy");
        area.remove();
      }
      button.dataset.copiedLength = String(code.length);
      status.textContent = message(status, "Copied", "Copied {n} lines.", { n: code.trimEnd().split("\n").length });
    } catch (error) {
      status.textContent = message(status, "Failed", "Could not copy: {error}", { error: error.message });
    }
  });
});

// Live calls on Call History: poll the JSON endpoint every 3 s; when a call ends, reload so
// it shows up in the history below with its outcome.
(function () {
  const panel = document.getElementById("live-calls");
  if (!panel) return;
  const body = document.getElementById("live-rows");
  let known = null;

  function cell(text, className) {
    const td = document.createElement("td");
    td.textContent = text;  // text, never HTML: numbers come from callers
    if (className) td.className = className;
    return td;
  }

  function clock(seconds) {
    const m = Math.floor(seconds / 60), s = seconds % 60;
    return m + ":" + String(s).padStart(2, "0");
  }

  async function refresh() {
    try {
      const response = await fetch(panel.dataset.url, { credentials: "same-origin", cache: "no-store" });
      if (!response.ok) return;
      const data = await response.json();
      const ids = data.calls.map(function (c) { return c.id; });
      if (known !== null && known.some(function (id) { return ids.indexOf(id) < 0; })) {
        window.location.reload();  // a call ended: show it in the history
        return;
      }
      known = ids;
      body.replaceChildren.apply(body, data.calls.map(function (c) {
        const tr = document.createElement("tr");
        tr.dataset.callId = c.id;
        tr.append(cell(c.started), cell(c.from, "number"), cell(c.to, "number"), cell(clock(c.elapsedSeconds), "num"));
        return tr;
      }));
      panel.hidden = data.calls.length === 0;
    } catch (e) {
      // Network hiccup: try again at the next tick.
    }
  }

  refresh();
  setInterval(refresh, 3000);
})();

// Sync progress on Call History: after "Sync now", poll the status until every account's
// sync has finished, then reload to show the new calls.
(function () {
  const line = document.getElementById("sync-status");
  if (!line) return;
  async function poll() {
    try {
      const response = await fetch(line.dataset.url, { credentials: "same-origin", cache: "no-store" });
      if (!response.ok) return;
      const data = await response.json();
      const parts = data.accounts.map(function (a) {
        const counts = message(line, "Counts", "{pages} pages, {new} new, {updated} updated",
                               { pages: a.pagesDone, new: a.inserted, updated: a.updated });
        if (a.running) return message(line, "Running", "{account}: syncing… {counts}", { account: a.account, counts: counts });
        if (a.error) return message(line, "Error", "{account}: sync failed: {error}", { account: a.account, error: a.error });
        return message(line, "Done", "{account}: synced {finished} ({counts})", { account: a.account, finished: a.finished || "", counts: counts });
      });
      line.textContent = parts.join(" · ");
      const running = data.accounts.some(function (a) { return a.running; });
      if (!line.dataset.idle) {
        if (running) { line.dataset.seenRunning = "1"; }
        else if (line.dataset.seenRunning || line.dataset.polls > 5) {
          window.location.replace(window.location.pathname);  // done: show the calls
          return;
        }
        line.dataset.polls = String(Number(line.dataset.polls || 0) + 1);
        setTimeout(poll, 1000);
      }
    } catch (e) {
      setTimeout(poll, 2000);
    }
  }
  poll();
})();

// Call History: "Play" opens a player under the call's row (one at a time). The audio is
// fetched only then, so a page of 100 calls does not load 100 recordings.
(function () {
  const table = document.getElementById("calls-table");
  if (!table) return;
  table.addEventListener("click", function (event) {
    const button = event.target.closest("button.play");
    if (!button) return;
    const row = button.closest("tr");
    const open = table.querySelector("tr.player-row");
    const wasThisOne = open && open.previousElementSibling === row;
    if (open) {
      open.querySelector("audio").pause();
      open.remove();
      table.querySelectorAll("button.play[aria-expanded]").forEach(function (b) { b.removeAttribute("aria-expanded"); });
    }
    if (wasThisOne) return;
    const playerRow = document.createElement("tr");
    playerRow.className = "player-row";
    const cell = document.createElement("td");
    cell.colSpan = row.children.length;
    const audio = document.createElement("audio");
    audio.controls = true;
    audio.autoplay = true;
    audio.preload = "metadata";
    audio.src = button.dataset.recording;
    cell.appendChild(audio);
    playerRow.appendChild(cell);
    row.after(playerRow);
    button.setAttribute("aria-expanded", "true");
  });
})();

// Recording storage: the S3 fields only while "S3-compatible bucket" is chosen. Without
// script they all stay visible, and the server ignores them for local disk.
(function () {
  const form = document.getElementById("storage-form");
  if (!form) return;
  const fields = document.getElementById("s3-fields");
  function update() {
    const kind = form.querySelector('input[name="kind"]:checked');
    fields.hidden = !(kind && kind.value === "s3");
  }
  form.querySelectorAll('input[name="kind"]').forEach(function (radio) { radio.addEventListener("change", update); });
  update();
})();

// "Load file" beside a textarea (the service-account JSON): reads the chosen file into the
// field in the browser; nothing is sent until the form is. Without script, paste instead.
(function () {
  document.querySelectorAll("input.load-into").forEach(function (input) {
    input.addEventListener("change", function () {
      const file = input.files && input.files[0];
      const target = input.form && input.form.elements[input.dataset.target];
      if (!file || !target || file.size > 16384) return;
      file.text().then(function (text) { target.value = text; });
    });
  });
})();

// "Copy" beside a one-time link on the Team page.
(function () {
  document.querySelectorAll("button.copy-text").forEach(function (button) {
    button.addEventListener("click", function () {
      const target = document.getElementById(button.dataset.target);
      if (target && navigator.clipboard) navigator.clipboard.writeText(target.textContent).then(function () { button.textContent = message(button, "Done", "Copied"); });
    });
  });
})();

// A call's page: the transcript follows the recording. The line being spoken is marked while
// it plays; a click on a line (or its time) plays from there; `#t=73` in the address opens the
// call at 1:13, and "Link to this moment" carries the player's position, to share.
(function () {
  const turns = Array.from(document.querySelectorAll("#transcript li.turn[data-t]"));
  const audio = document.getElementById("recording-player");
  if (!turns.length && !audio) return;
  const times = turns.map(function (turn) { return Number(turn.dataset.t) || 0; });
  let speaking = null;

  function lineAt(seconds) {
    let found = -1;
    for (let i = 0; i < times.length && times[i] <= seconds; i++) found = i;
    return found;
  }
  function mark(index, scroll) {
    const line = index >= 0 ? turns[index] : null;
    if (line === speaking) return;
    if (speaking) { speaking.classList.remove("speaking"); speaking.removeAttribute("aria-current"); }
    speaking = line;
    if (!line) return;
    line.classList.add("speaking");
    line.setAttribute("aria-current", "true");
    if (scroll) line.scrollIntoView({ block: "nearest" });
  }
  function seek(seconds, play) {
    mark(lineAt(seconds), true);
    if (!audio) return;
    const go = function () {
      audio.currentTime = seconds;
      if (play) audio.play().catch(function () { /* the browser wants a gesture first */ });
    };
    if (audio.readyState >= 1) go(); else audio.addEventListener("loadedmetadata", go, { once: true });
  }
  function fromAddress() {
    const match = /^#t=(\d{1,6}(?:\.\d{1,3})?)$/.exec(location.hash);
    if (match) seek(Number(match[1]), false);
  }

  turns.forEach(function (turn, i) {
    turn.addEventListener("click", function (event) {
      if (window.getSelection && String(window.getSelection()).length > 0) return;  // selecting text
      event.preventDefault();
      history.replaceState(null, "", "#t=" + times[i]);
      seek(times[i], true);
    });
  });
  if (audio) {
    const moment = document.getElementById("moment");
    const link = document.getElementById("moment-link");
    if (moment) moment.hidden = false;
    audio.addEventListener("timeupdate", function () {
      mark(lineAt(audio.currentTime), !audio.paused);
      if (link) link.href = "#t=" + Math.floor(audio.currentTime);
    });
  }
  window.addEventListener("hashchange", fromAddress);
  fromAddress();
})();
