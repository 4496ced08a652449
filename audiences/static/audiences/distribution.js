/* The audience page's distribution: changing the field fetches the top values from the page's
   distribution endpoint (audiences.admin.tools.distribution_view) and replaces the table's rows in
   place. Without JavaScript the form's Show button reloads the page with ?distribution=. */
(function () {
  "use strict";

  function cell(text, className) {
    var td = document.createElement("td");
    if (className) td.className = className;
    td.textContent = text;
    return td;
  }

  function shareCell(share) {
    var td = cell("", "distribution-share");
    var track = document.createElement("span");
    track.className = "share-track";
    var bar = document.createElement("span");
    bar.className = "share-bar";
    bar.style.width = share.toFixed(1) + "%";
    track.appendChild(bar);
    td.appendChild(track);
    td.appendChild(document.createTextNode(" " + share.toFixed(1) + "%"));
    return td;
  }

  function render(table, body) {
    document.getElementById("distribution-label").textContent = body.label;
    var tbody = document.createElement("tbody");
    body.rows.forEach(function (row) {
      var tr = document.createElement("tr");
      var blank = row.value === null || row.value === "";
      tr.appendChild(cell(blank ? "(empty)" : String(row.value)));
      tr.appendChild(cell(String(row.count), "distribution-count"));
      tr.appendChild(shareCell(row.share));
      tbody.appendChild(tr);
    });
    if (!body.rows.length) {
      var empty = cell("No members.");
      empty.colSpan = 3;
      tbody.appendChild(document.createElement("tr")).appendChild(empty);
    }
    table.replaceChild(tbody, table.tBodies[0]);
    table.hidden = false;
  }

  function showError(message) {
    var note = document.getElementById("distribution-error");
    note.textContent = message;
    note.hidden = !message;
  }

  function init() {
    var form = document.querySelector("#audience-distribution .distribution-form");
    if (!form) return;
    var select = form.querySelector("select");
    var table = document.getElementById("distribution-table");
    form.querySelector(".distribution-show").hidden = true;
    var latest = 0;
    select.addEventListener("change", function () {
      var asked = ++latest;
      form.setAttribute("aria-busy", "true");
      fetch(form.dataset.url + "?field=" + encodeURIComponent(select.value), {
        headers: { Accept: "application/json" }, credentials: "same-origin"
      })
        .then(function (response) {
          return response.json().then(function (body) { return { ok: response.ok, body: body }; });
        })
        .then(function (result) {
          if (asked !== latest) return; // a later choice wins
          if (!result.ok) {
            showError((result.body.errors || []).map(function (e) { return e.message; }).join(" ") || "The distribution failed.");
            return;
          }
          showError("");
          render(table, result.body);
        })
        .catch(function () {
          if (asked === latest) showError("The distribution could not be loaded: check the connection and try again.");
        })
        .finally(function () {
          if (asked === latest) form.removeAttribute("aria-busy");
        });
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
