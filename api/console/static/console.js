// ticket-triage console: live queue refresh, keyboard navigation, suggested replies.
// No library; the pages work without it (links and forms are plain HTML).
(function () {
  "use strict";

  function rows() { return Array.prototype.slice.call(document.querySelectorAll("#rows tr[data-href]")); }

  function select(index) {
    var all = rows();
    if (!all.length) { return; }
    index = Math.max(0, Math.min(all.length - 1, index));
    all.forEach(function (r) { r.classList.remove("selected"); });
    all[index].classList.add("selected");
    all[index].focus();
  }

  function current() {
    var all = rows();
    var i = all.indexOf(document.activeElement);
    if (i < 0) { i = all.findIndex(function (r) { return r.classList.contains("selected"); }); }
    return i;
  }

  function typing(event) {
    var tag = (event.target.tagName || "").toLowerCase();
    return tag === "input" || tag === "textarea" || tag === "select" || event.target.isContentEditable;
  }

  document.addEventListener("keydown", function (event) {
    if (typing(event) || event.ctrlKey || event.metaKey || event.altKey) { return; }
    if (document.getElementById("rows")) {
      if (event.key === "j") { select(current() + 1); event.preventDefault(); }
      else if (event.key === "k") { select(current() - 1); event.preventDefault(); }
      else if (event.key === "Enter") {
        var i = current();
        if (i >= 0) { window.location.href = rows()[i].dataset.href; event.preventDefault(); }
      }
    }
    if (event.key === "a") {
      // The first Accept on the ticket page (the keyboard's one-click accept).
      var accept = document.querySelector("button.accept");
      if (accept) { accept.click(); event.preventDefault(); }
    }
  });

  document.addEventListener("click", function (event) {
    var use = event.target.closest("button.use-reply");
    if (use) {
      // Fills the reply box only: the agent reads, edits and sends it.
      var box = document.getElementById("reply-body");
      box.value = document.getElementById(use.dataset.target).textContent;
      box.focus();
      return;
    }
    var row = event.target.closest("#rows tr[data-href]");
    if (row && !event.target.closest("a")) { window.location.href = row.dataset.href; }
  });

  // Live refresh: fetch the rows fragment and swap the table body, keeping the selection.
  var table = document.getElementById("queue");
  var every = table ? parseInt(table.dataset.refresh, 10) : 0;
  if (table && every > 0) {
    setInterval(function () {
      fetch(table.dataset.rows, { credentials: "same-origin", headers: { "Accept": "text/html" } })
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (html) {
          if (!html) { return; }
          var selected = current();
          var holder = document.createElement("table");
          holder.innerHTML = html;
          var fresh = holder.querySelector("tbody");
          document.getElementById("rows").replaceWith(fresh);
          document.getElementById("total").textContent = fresh.dataset.total;
          if (selected >= 0) { select(selected); }
        })
        .catch(function () {});
    }, every * 1000);
  }
}());
