/* Tenure dashboard: draw Plotly charts from data-chart attributes, show live notifications.
   No inline script anywhere (the CSP forbids it): everything starts from here. */
(function () {
  "use strict";

  var PLOT_CONFIG = { displaylogo: false, responsive: true, displayModeBar: false };

  function drawCharts(root) {
    if (!window.Plotly) { return; }
    var nodes = (root || document).querySelectorAll("[data-chart]");
    Array.prototype.forEach.call(nodes, function (node) {
      if (node.dataset.drawn === "1") { return; }
      var spec;
      try { spec = JSON.parse(node.dataset.chart); } catch (err) { node.textContent = "Chart data is unreadable."; return; }
      node.innerHTML = "";
      window.Plotly.newPlot(node, spec.data, spec.layout, PLOT_CONFIG).then(function () {
        node.dataset.drawn = "1";
        node.classList.add("drawn");
      });
    });
  }

  function toast(text, url, kind) {
    var box = document.getElementById("toasts");
    if (!box) { return; }
    var item = document.createElement(url ? "a" : "div");
    item.className = "toast kind-" + (kind || "info");
    if (url) { item.href = url; }
    var title = document.createElement("strong");
    title.textContent = (kind || "update").replace(/_/g, " ");
    var body = document.createElement("span");
    body.textContent = text;
    item.appendChild(title);
    item.appendChild(body);
    box.prepend(item);
    setTimeout(function () { item.classList.add("leaving"); }, 7000);
    setTimeout(function () { item.remove(); }, 7600);
  }

  function refreshAlerts() {
    var rows = document.getElementById("alert-rows");
    if (rows && window.htmx) {
      window.htmx.trigger(document.body, "tenure:alerts-changed");
    }
  }

  function bumpAlertBadge() {
    var link = document.querySelector('[data-nav="alerts"]');
    if (!link) { return; }
    var badge = link.querySelector(".count");
    if (!badge) {
      badge = document.createElement("span");
      badge.className = "count";
      badge.textContent = "0";
      link.appendChild(badge);
    }
    badge.textContent = String(Number(badge.textContent || "0") + 1);
  }

  function listen() {
    var url = document.body.dataset.live;
    var state = document.getElementById("live-state");
    if (!url || !window.EventSource) { return; }
    var source = new EventSource(url);
    source.addEventListener("ready", function () {
      if (state) { state.classList.add("on"); }
      document.body.dataset.liveReady = "1";
    });
    source.onerror = function () { if (state) { state.classList.remove("on"); } };
    source.addEventListener("events_recorded", function (event) {
      var note, panel = document.getElementById("account-events");
      try { note = JSON.parse(event.data); } catch (err) { return; }
      // Tracking can be busy: only the page of that account shows its new events.
      if (!panel || String(note.account_id) !== panel.dataset.accountId) { return; }
      toast(note.text, null, "events_recorded");
      if (window.htmx) { window.htmx.trigger(document.body, "tenure:events-changed"); }
    });
    ["tier_change", "score_drop", "alert_opened", "alert_changed"].forEach(function (kind) {
      source.addEventListener(kind, function (event) {
        var note;
        try { note = JSON.parse(event.data); } catch (err) { return; }
        toast(note.text, note.url, kind);
        if (kind === "alert_opened") { bumpAlertBadge(); }
        if (kind.indexOf("alert") === 0) { refreshAlerts(); }
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    drawCharts(document);
    if (window.htmx) {
      document.body.addEventListener("htmx:afterSettle", function (event) { drawCharts(event.target); });
      document.body.addEventListener("htmx:responseError", function (event) {
        var xhr = event.detail.xhr;
        toast((xhr.responseText || xhr.statusText || "request failed").slice(0, 300), null, "error");
      });
      document.body.addEventListener("htmx:sendError", function () {
        toast("The server cannot be reached; check the connection and try again.", null, "error");
      });
    }
    listen();
  });
})();
