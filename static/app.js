// VoxFCGI: the little script the pages need. No framework; served by nginx (CSP: 'self').
"use strict";

// "Copy code": fetch the complete scenario (POST with the CSRF token) and put it on the clipboard.
(function () {
  const button = document.getElementById("copy-code");
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
      status.textContent = "Copied " + code.split("\n").length + " lines.";
    } catch (error) {
      status.textContent = "Could not copy: " + error.message;
    }
  });
})();
