// Every page: focus goes to what a refused form must fix; typed text is kept in this tab
// (sessionStorage) until the form is accepted, so an ended session never costs work; and the
// idle timeout warns a minute before it signs the user out. Served by the app (CSP: no
// inline script).
(function () {
  "use strict";

  // 1. A refusal: focus its summary (or the error message) so a screen reader reads it first.
  var summary = document.getElementById("error-summary") || document.querySelector(".flash-error");
  if (summary) {
    if (!summary.hasAttribute("tabindex")) { summary.setAttribute("tabindex", "-1"); }
    summary.focus();
  }

  // 2. Keep what is typed. Sign-in and password forms are never kept.
  var PREFIX = "leaddesk.draft.";
  var SUBMITTED = "leaddesk.submitted";
  function storage() {
    try { return window.sessionStorage; } catch (e) { return null; }
  }
  var store = storage();
  function kept(form) {
    var action = form.getAttribute("action") || window.location.pathname;
    return (form.method || "").toLowerCase() === "post" &&
      !form.querySelector("input[type=password]") &&
      action.indexOf("/auth/") === -1 && !form.hasAttribute("data-no-keep");
  }
  function keyOf(form) {
    var forms = Array.prototype.filter.call(document.forms, kept);
    return PREFIX + window.location.pathname + "#" + (form.id || forms.indexOf(form));
  }
  function fields(form) {
    return Array.prototype.filter.call(form.elements, function (el) {
      return el.name && el.name !== "csrf_token" &&
        (el.tagName === "TEXTAREA" || el.tagName === "SELECT" ||
         /^(text|email|tel|number|date|search|radio|checkbox)$/.test(el.type));
    });
  }
  function snapshot(form) {
    var values = {};
    fields(form).forEach(function (el) {
      if (el.type === "radio" || el.type === "checkbox") {
        if (el.checked) { (values[el.name] = values[el.name] || []).push(el.value); }
      } else if (el.tagName === "SELECT" && el.multiple) {
        values[el.name] = Array.prototype.filter.call(el.options, function (o) { return o.selected; })
          .map(function (o) { return o.value; });
      } else if (el.value) {
        values[el.name] = el.value;
      }
    });
    return values;
  }
  function restore(form, values) {
    var restored = false;
    fields(form).forEach(function (el) {
      var value = values[el.name];
      if (value === undefined) { return; }
      if (el.type === "radio" || el.type === "checkbox") {
        var group = form.querySelectorAll("[name='" + CSS.escape(el.name) + "']:checked");
        if (!group.length && value.indexOf(el.value) !== -1) { el.checked = true; restored = true; }
      } else if (!el.value && typeof value === "string") {
        el.value = value;
        restored = true;
      }
    });
    return restored;
  }
  if (store) {
    // A form sent from the last page and now answered with success: its draft is done.
    var sent = store.getItem(SUBMITTED);
    if (sent && document.querySelector(".flash-success")) { store.removeItem(sent); }
    store.removeItem(SUBMITTED);
    Array.prototype.filter.call(document.forms, kept).forEach(function (form) {
      var key = keyOf(form);
      var saved = store.getItem(key);
      if (saved && !document.getElementById("error-summary")) {
        try {
          if (restore(form, JSON.parse(saved))) {
            var note = document.createElement("p");
            note.className = "flash flash-info";
            note.setAttribute("role", "status");
            note.textContent = "Text you typed earlier in this tab was put back. Check it before you send.";
            form.insertBefore(note, form.firstChild);
          }
        } catch (e) { store.removeItem(key); }
      }
      var timer = null;
      function keep() {
        var values = snapshot(form);
        if (Object.keys(values).length) { store.setItem(key, JSON.stringify(values)); }
      }
      form.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(keep, 300); });
      form.addEventListener("change", keep);
      form.addEventListener("submit", function () { keep(); store.setItem(SUBMITTED, key); });
    });
  }

  // 3. The idle timeout: warn before it ends the session; "Stay signed in" restarts it.
  var body = document.body;
  var idle = Number(body.getAttribute("data-idle-seconds"));
  if (!idle) { return; }
  var warnBefore = Math.min(Number(body.getAttribute("data-warn-seconds")) || 60, idle / 2);
  var token = document.querySelector("meta[name=csrf-token]");
  var dialog = null, countdown = null, warnTimer = null, endTimer = null;

  function schedule() {
    clearTimeout(warnTimer);
    clearTimeout(endTimer);
    warnTimer = setTimeout(warn, (idle - warnBefore) * 1000);
    endTimer = setTimeout(ended, idle * 1000);
  }
  function keepAlive() {
    return fetch(body.getAttribute("data-keepalive"), {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRFToken": token ? token.content : "" }
    }).then(function (response) {
      if (!response.ok) { throw new Error("session ended"); }
      closeDialog();
      schedule();
    }).catch(ended);
  }
  function closeDialog() {
    clearInterval(countdown);
    if (dialog) { dialog.remove(); dialog = null; }
  }
  function showDialog(message, buttonText, onClick) {
    closeDialog();
    dialog = document.createElement("div");
    dialog.className = "idle-dialog";
    dialog.setAttribute("role", "alertdialog");
    dialog.setAttribute("aria-modal", "false");
    dialog.setAttribute("aria-labelledby", "idle-dialog-text");
    var text = document.createElement("p");
    text.id = "idle-dialog-text";
    text.textContent = message;
    var button = document.createElement("button");
    button.type = "button";
    button.className = "button primary";
    button.textContent = buttonText;
    button.addEventListener("click", onClick);
    dialog.appendChild(text);
    dialog.appendChild(button);
    body.appendChild(dialog);
    button.focus();
    return text;
  }
  function warn() {
    var left = warnBefore;
    var text = showDialog("", "Stay signed in", keepAlive);
    function tick() {
      text.textContent = "For security, you will be signed out in " + Math.max(0, Math.round(left)) +
        " seconds. Anything you have typed is kept in this tab.";
      left -= 1;
    }
    tick();
    countdown = setInterval(tick, 1000);
  }
  function ended() {
    clearTimeout(warnTimer);
    clearTimeout(endTimer);
    showDialog("Your session has ended. What you typed is kept in this tab: sign in again to continue.",
      "Sign in again", function () { window.location.assign(body.getAttribute("data-login")); });
  }
  schedule();
})();
